"""Plausibility checks of small text inputs (payments, doctor registers) that the
rule modules do not make: what cannot be true is refused, naming file, row, column."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from rosp.errors import RospError
from rosp.io.textcsv import missing_column_reason, read_text_csv


class PlausibilityError(RospError):
    """An input value that cannot be true."""


def read_checked(path: Path | str, required: tuple[str, ...], what: str) -> pd.DataFrame:
    """Read a text CSV, check its header and that it has data rows."""
    path = Path(path)
    frame = read_text_csv(path, lambda m: PlausibilityError(m.split(": ", 1)[-1], file=str(path)))
    for c in required:
        if c not in frame.columns:
            raise PlausibilityError(missing_column_reason(frame.columns, c), file=str(path), column=c)
    if frame.empty:
        raise PlausibilityError(f"no data rows (header only): an empty {what}", file=str(path))
    return frame


def check_payments(path: Path | str) -> None:
    """payments.csv given to `rosp safeguard`: euros are non-negative decimals and
    each doctor × programme appears once."""
    frame = read_checked(path, ("doctor_id", "programme", "euros"), "payments file")
    for i, v in enumerate(frame["euros"], start=1):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            continue  # the safeguard module names unreadable amounts itself
        if not d.is_finite():
            raise PlausibilityError("le montant n'est pas un nombre fini", file=str(path), row=i, column="euros")
        if d < 0:
            raise PlausibilityError("paiement négatif : un paiement ROSP ne peut pas être inférieur à 0 €", file=str(path),
                                    row=i, column="euros")
    dup = frame.duplicated(["doctor_id", "programme"], keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0]) + 1
        raise PlausibilityError(
            f"ligne de paiement en double (même doctor_id et même programme qu'une ligne précédente ; lignes en double : {int(dup.sum())})",
            file=str(path), row=i, column="programme",
        )


def check_doctor_register(path: Path | str) -> None:
    read_checked(path, ("doctor_id",), "doctor register")
