"""`rosp score`: validated CSV inputs -> scored indicators, payments, rejects, manifest."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from rosp.catalogue import Catalogue, load_catalogue
from rosp.io.csvwrite import format_indicators, format_payments, write_csv
from rosp.io.manifest import build_manifest, input_hashes, write_manifest
from rosp.scoring.batch import INDICATOR_COLUMNS, PAYMENT_COLUMNS, score_batch
from rosp.scoring.inputs import (
    COUNTS_REQUIRED,
    PATIENTELE_REQUIRED,
    REJECT_COLUMNS,
    InputError,
    cross_check,
    read_csv_text,
    validate_counts,
    validate_patientele,
)


@dataclass
class ScoreRun:
    indicators: pd.DataFrame
    payments: pd.DataFrame
    rejects: pd.DataFrame
    out_dir: Path


def write_score_outputs(
    out_dir: Path,
    indicators: pd.DataFrame,
    payments: pd.DataFrame,
    rejects: pd.DataFrame,
) -> dict[str, int]:
    """Write indicators.csv, payments.csv and rejected.csv; return their row counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(format_indicators(indicators)[INDICATOR_COLUMNS], out_dir / "indicators.csv")
    write_csv(format_payments(payments)[PAYMENT_COLUMNS], out_dir / "payments.csv")
    write_csv(rejects.reindex(columns=REJECT_COLUMNS), out_dir / "rejected.csv")
    return {"indicators": len(indicators), "payments": len(payments), "rejected": len(rejects)}


def score_files(
    year: int,
    counts_path: Path,
    patientele_path: Path,
    out_dir: Path,
    lenient: bool = False,
    catalogue: Catalogue | None = None,
) -> ScoreRun:
    """Validate, score and write. Strict by default: any rejected row raises
    `InputError` (after rejected.csv is written, so every problem is listed)."""
    catalogue = catalogue or load_catalogue(year)
    if not catalogue.programmes:
        raise InputError(str(counts_path), None, None, f"no conventional table is in force for {year}")
    counts_raw = read_csv_text(counts_path, COUNTS_REQUIRED)
    pat_raw = read_csv_text(patientele_path, PATIENTELE_REQUIRED)
    counts = validate_counts(counts_raw, str(counts_path), catalogue)
    pat = validate_patientele(pat_raw, str(patientele_path), catalogue)
    counts = cross_check(counts, pat, catalogue, str(counts_path))
    # the patientèle file's own problems first: they explain the counts rows they orphan
    rejects = pd.concat([pat.rejects, counts.rejects], ignore_index=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not rejects.empty and not lenient:
        write_csv(rejects.reindex(columns=REJECT_COLUMNS), out_dir / "rejected.csv")
        r = rejects.iloc[0]
        more = f" ({len(rejects)} rejected rows in all, listed in {out_dir / 'rejected.csv'})"
        raise InputError(r["file"], int(r["row"]), r["column"], str(r["reason"]) + more)
    result = score_batch(counts.frame, pat.frame, year, catalogue)
    counts_out = write_score_outputs(out_dir, result.indicators, result.payments, rejects)
    manifest = build_manifest(
        command="score",
        year=year,
        catalogue=catalogue,
        inputs=input_hashes([counts_path, patientele_path]),
        outputs={
            **counts_out,
            "rows_read": {"counts": len(counts_raw), "patientele": len(pat_raw)},
            "total_euros": str(sum_euros(result.payments)),
            "exact_recomputed_groups": result.exact_recomputed_groups,
        },
        extra={"mode": "lenient" if lenient else "strict"},
    )
    write_manifest(manifest, out_dir / "manifest.json")
    return ScoreRun(result.indicators, result.payments, rejects, out_dir)


def sum_euros(payments: pd.DataFrame) -> Decimal:
    """Exact sum of the payable euro strings."""
    return sum((Decimal(x) for x in payments["euros"]), Decimal("0.00"))
