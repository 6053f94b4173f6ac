"""Reading and validating the CSV inputs of `rosp score`.

Every problem names the file, the row (1-based data row; the header is line 1,
so data row N is line N + 1), the column and the reason. Row-level problems are
collected as rejects (nothing is dropped silently); structural problems (a
missing column, an unreadable file) raise `InputError` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rosp.catalogue import Catalogue
from rosp.errors import RospError
from rosp.io.textcsv import missing_column_reason, read_text_csv
from rosp.scoring.rules import to_fraction

COUNTS_REQUIRED = ["doctor_id", "indicator_id", "numerator", "denominator", "start_rate"]
COUNTS_OPTIONAL = ["declared_rate"]
PATIENTELE_REQUIRED = ["doctor_id", "programme", "patientele"]
REJECT_COLUMNS = ["file", "row", "column", "reason", "doctor_id", "key"]


class InputError(RospError):
    """A structural input problem (file, row, column, reason)."""

    def __init__(self, file: str, row: int | None, column: str | None, reason: str):
        super().__init__(reason, file=file, row=row, column=column)


@dataclass
class Validated:
    """Valid rows plus the rejects, each reject with file, row, column and reason."""

    frame: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def first_error(self) -> InputError | None:
        if self.rejects.empty:
            return None
        r = self.rejects.iloc[0]
        return InputError(r["file"], int(r["row"]), r["column"], r["reason"])


def read_csv_text(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a CSV as text (no type guessing), checking the header."""
    df = read_text_csv(path, lambda message: InputError(str(path), None, None, message.split(": ", 1)[-1]))
    for col in required:
        if col not in df.columns:
            raise InputError(str(path), None, col, missing_column_reason(df.columns, col))
    if df.empty:
        raise InputError(str(path), None, None, "no data rows (header only)")
    for col in df.columns:
        df[col] = df[col].str.strip()
    df.insert(0, "_row", np.arange(1, len(df) + 1))
    return df


class _Collector:
    """Accumulates the first failing check of each row, in check order."""

    def __init__(self, df: pd.DataFrame, file: str):
        self.df, self.file = df, file
        self.reason = pd.Series([""] * len(df), index=df.index, dtype=object)
        self.column = pd.Series([""] * len(df), index=df.index, dtype=object)

    def check(self, bad: pd.Series, column: str, reason: str | pd.Series) -> None:
        fresh = bad & (self.reason == "")
        if isinstance(reason, pd.Series):
            self.reason[fresh] = reason[fresh]
        else:
            self.reason[fresh] = reason
        self.column[fresh] = column

    def result(self, key_cols: list[str]) -> Validated:
        bad = self.reason != ""
        rej = pd.DataFrame(
            {
                "file": self.file,
                "row": self.df.loc[bad, "_row"],
                "column": self.column[bad],
                "reason": self.reason[bad],
                "doctor_id": self.df.loc[bad, "doctor_id"],
                "key": self.df.loc[bad, key_cols].astype(str).agg("|".join, axis=1)
                if bad.any()
                else pd.Series([], dtype=object),
            },
            columns=REJECT_COLUMNS,
        )
        return Validated(self.df.loc[~bad].copy(), rej.reset_index(drop=True))


def _limit(catalogue: Catalogue, name: str, default: int) -> int:
    """A plausibility threshold of rosp/catalogue/parameters.toml (issue 8)."""
    try:
        return catalogue.params.get(name, catalogue.year).integer
    except (RospError, AttributeError):
        return default


def _int_check(col: _Collector, name: str, limit: int | None = None) -> pd.Series:
    values = pd.to_numeric(col.df[name], errors="coerce").astype(float)
    not_int = values.isna() | ~np.isfinite(values) | (values != values.round())
    col.check(not_int, name, "not an integer")
    col.check(~not_int & (values < 0), name, "negative count")
    if limit is not None:
        col.check(~not_int & (values > limit), name, f"implausible value, above {limit} (plausibility limit)")
    return values.where(~not_int, 0)


def _rate_check(col: _Collector, name: str) -> None:
    text = col.df[name]
    present = text != ""
    values = pd.to_numeric(text.where(present, "0"), errors="coerce")
    col.check(present & values.isna(), name, "not a number")
    col.check(present & ((values < 0) | (values > 1)), name, "rate outside [0, 1]")


def _duplicates(col: _Collector, keys: list[str], what: str) -> None:
    dup = col.df.duplicated(subset=keys, keep="first")
    if dup.any():
        first_row = col.df.groupby(keys, sort=False)["_row"].transform("first")
        col.check(dup, keys[-1], "duplicate row (same " + what + " as row " + first_row.astype(str) + ")")


def validate_counts(df: pd.DataFrame, file: str, catalogue: Catalogue) -> Validated:
    """Row checks of the counts file against the catalogue."""
    col = _Collector(df, file)
    col.check(df["doctor_id"] == "", "doctor_id", "empty doctor_id")
    known = set(catalogue.indicators)
    col.check(~df["indicator_id"].isin(known), "indicator_id", "unknown indicator for year " + str(catalogue.year))
    limit = _limit(catalogue, "plausibility.max_count", 10_000_000)
    num = _int_check(col, "numerator", limit)
    den = _int_check(col, "denominator", limit)
    col.check(num > den, "numerator", "numerator above denominator")
    _rate_check(col, "start_rate")
    if "declared_rate" in df.columns:
        _rate_check(col, "declared_rate")
        _declaration_checks(col, df, catalogue)
    _duplicates(col, ["doctor_id", "indicator_id"], "doctor_id and indicator_id")
    v = col.result(["doctor_id", "indicator_id"])
    v.frame["numerator"] = v.frame["numerator"].astype(float).astype("int64")
    v.frame["denominator"] = v.frame["denominator"].astype(float).astype("int64")
    if "declared_rate" not in v.frame.columns:
        v.frame["declared_rate"] = ""
    return v


def _declaration_checks(col: _Collector, df: pd.DataFrame, catalogue: Catalogue) -> None:
    """A declared rate only on an indicator measured from declarations (catalogue
    `Indicator.measurement`), and consistent with numerator ÷ denominator when a
    numerator is given (numerator 0 with a declared rate: the rate alone is declared).

    For a declaration-measured indicator the counts row carries the population computed
    from claims as denominator and the declared numerator (docs/data-model.md, ROSP_DECL)."""
    from rosp.catalogue.declarations import declaration_ids, rate_consistent

    declared = df["declared_rate"] != ""
    measured = declaration_ids(catalogue)
    claims = declared & df["indicator_id"].isin(set(catalogue.indicators) - measured)
    col.check(
        claims,
        "declared_rate",
        df["indicator_id"] + " is computed from claims, not declarative: a declared rate is not accepted",
    )
    num = pd.to_numeric(df["numerator"], errors="coerce")
    den = pd.to_numeric(df["denominator"], errors="coerce")
    rate = pd.to_numeric(df["declared_rate"].where(declared, "0"), errors="coerce")
    # numerator 0 with a declared rate is a rate-only declaration (the rate is used as is)
    candidates = declared & (den > 0) & (num > 0) & rate.notna() & (rate >= 0) & (rate <= 1)
    bad = pd.Series(False, index=df.index)
    for k in df.index[candidates]:
        r = to_fraction(df.at[k, "declared_rate"])
        if not rate_consistent(r, int(num[k]), int(den[k])):
            bad[k] = True
    col.check(
        bad,
        "declared_rate",
        "declared rate " + df["declared_rate"] + " inconsistent with " + df["numerator"] + "/" + df["denominator"],
    )


def validate_patientele(df: pd.DataFrame, file: str, catalogue: Catalogue) -> Validated:
    """Row checks of the patientèle file."""
    col = _Collector(df, file)
    col.check(df["doctor_id"] == "", "doctor_id", "empty doctor_id")
    slugs = {p.slug for p in catalogue.programmes}
    col.check(~df["programme"].isin(slugs), "programme", "unknown programme for year " + str(catalogue.year))
    _int_check(col, "patientele", _limit(catalogue, "plausibility.max_patientele", 100_000))
    _duplicates(col, ["doctor_id", "programme"], "doctor_id and programme")
    v = col.result(["doctor_id", "programme"])
    v.frame["patientele"] = v.frame["patientele"].astype(float).astype("int64")
    return v


def cross_check(counts: Validated, patientele: Validated, catalogue: Catalogue, file: str) -> Validated:
    """Counts rows need a patientèle row for their doctor and programme."""
    prog_of = {i: p.slug for p in catalogue.programmes for i in (x.id for x in p.indicators)}
    c = counts.frame
    c_prog = c["indicator_id"].map(prog_of)
    have = set(zip(patientele.frame["doctor_id"], patientele.frame["programme"], strict=True))
    ok = pd.Series([(d, p) in have for d, p in zip(c["doctor_id"], c_prog, strict=True)], index=c.index, dtype=bool)
    bad = ~ok
    # A patientèle of 0 with patients in the denominators cannot be true.
    pf = patientele.frame
    zero = set(zip(pf.loc[pf["patientele"] == 0, "doctor_id"], pf.loc[pf["patientele"] == 0, "programme"], strict=True))
    if zero:
        z = pd.Series([(d, p) in zero for d, p in zip(c["doctor_id"], c_prog, strict=True)], index=c.index, dtype=bool)
        z &= c["denominator"].astype("int64") > 0
        if z.any():
            first = c.loc[z].iloc[0]
            raise InputError(
                file, int(first["_row"]), "denominator",
                f"patients in the denominator, but the patientèle file gives a patientèle of 0 for this "
                f"doctor and programme {c_prog[z].iloc[0]} ({int(z.sum())} such rows): check the patientèle file",
            )
    rej = pd.DataFrame(
        {
            "file": file,
            "row": c.loc[bad, "_row"],
            "column": "doctor_id",
            "reason": "no patientèle row for this doctor and programme " + c_prog[bad].astype(str),
            "doctor_id": c.loc[bad, "doctor_id"],
            "key": c.loc[bad, "doctor_id"] + "|" + c.loc[bad, "indicator_id"],
        },
        columns=REJECT_COLUMNS,
    )
    return Validated(c.loc[ok].copy(), pd.concat([counts.rejects, rej], ignore_index=True))
