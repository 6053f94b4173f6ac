"""`rosp synth --format csv-sas`: the synthetic tables as an analyst exports them from SAS.

A writer layered on the Parquet files the generator wrote (not a second generator):
each `<TABLE>.parquet` becomes `<TABLE>.csv`, as PROC EXPORT writes it on the Cnam
portal from a French session:
- file names are the SAS table names (`ER_PRS_F.csv`, `T_MCO18B.csv`, `IR_BEN_R_ARC.csv`);
- column names in upper case; `;` as delimiter, UTF-8 text, a header line;
- dates and timestamps as SAS DATETIME text (`02MAY2018:00:00:00`; the placeholder
  01/01/1600 is `01JAN1600:00:00:00`);
- a date that is yyyymmdd text in Oracle (`PFS_INS_DSD`) as that text (`20120704`);
- decimal and floating-point columns with a decimal comma (`0,5`);
- a missing value is an empty cell; integers and codes as they are (codes keep
  their leading zeros, being text).

The loader reads it back (rosp.io.textcsv.detect_dialect, rosp.claims.validate
coercions) into the same typed values as the Parquet files, so a run gives the same
money (tests/claims/test_csv_sas.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: the formats `rosp synth --format` accepts
FORMATS = ("parquet", "csv-sas")
DELIMITER = ";"
_SAS_DATETIME = "%d%b%Y:%H:%M:%S"
#: dates that are text yyyymmdd in Oracle (reference type string(8)), exported as such
TEXT_DATES = frozenset({"PFS_INS_DSD"})


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(name: str, dtype: str) -> str:
    c = '"' + name.replace('"', '""') + '"'
    out = '"' + name.upper().replace('"', '""') + '"'
    family = dtype.upper().split("(")[0]
    if name.upper() in TEXT_DATES and (family == "DATE" or family.startswith("TIMESTAMP")):
        value = f"strftime(CAST({c} AS TIMESTAMP), '%Y%m%d')"
    elif family == "DATE" or family.startswith("TIMESTAMP"):
        value = f"upper(strftime(CAST({c} AS TIMESTAMP), '{_SAS_DATETIME}'))"
    elif family in ("DECIMAL", "DOUBLE", "FLOAT", "REAL"):
        value = f"replace(CAST({c} AS VARCHAR), '.', ',')"
    elif family == "BOOLEAN":
        value = f"CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END"
    else:
        value = f"CAST({c} AS VARCHAR)"
    return f"{value} AS {out}"


def parquet_to_sas_csv(parquet: Path, target: Path, con: duckdb.DuckDBPyConnection) -> int:
    """Write ``parquet`` as a SAS-export CSV at ``target``; returns the row count."""
    source = f"read_parquet({_lit(str(parquet))})"
    columns = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    select = ", ".join(_column_sql(name, dtype) for name, dtype, *_ in columns)
    con.execute(
        f"COPY (SELECT {select} FROM {source}) TO {_lit(str(target))} "
        f"(FORMAT csv, HEADER true, DELIMITER {_lit(DELIMITER)}, QUOTE '\"')"
    )
    (n,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    return int(n)


def convert_to_sas_csv(out_dir: Path, files: list[Path] | None = None) -> list[Path]:
    """Replace the Parquet ``files`` (default: every Parquet file of ``out_dir``) by their
    SAS-export CSVs."""
    out_dir = Path(out_dir)
    parquets = sorted(out_dir.glob("*.parquet")) if files is None else sorted(
        p for p in files if p.suffix == ".parquet")
    written = []
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        for parquet in parquets:
            target = out_dir / f"{parquet.stem.upper()}.csv"
            parquet_to_sas_csv(parquet, target, con)
            parquet.unlink()
            written.append(target)
    finally:
        con.close()
    return written
