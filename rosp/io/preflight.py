"""Checks of a `--data` directory before any table is read (`rosp run`).

Refused (a `RospError`): a missing directory, a table given both as `.parquet`
and `.csv`, an empty, truncated or mislabelled file (a CSV renamed `.parquet`),
a CSV whose encoding or delimiter is ambiguous (rosp.io.textcsv: mixed UTF-8 and
Latin-1, Windows-1252 bytes, ',' and ';' both plausible), a header whose case
differs from the SNDS column names. Read, and recorded in `Preflight.dialects`
and in the load report: a Latin-1 CSV, a `;`-separated one with decimal commas
(a French SAS or Excel export). Listed as warnings: files that are not read, a
missing optional table with the indicators it affects.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rosp.errors import RospError
from rosp.io.textcsv import read_text_csv


class DataDirError(RospError):
    """The `--data` directory or one of its files cannot be read."""


@dataclass
class Preflight:
    tables: dict[str, list[Path]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: per CSV file read in a dialect other than UTF-8 with ',' (rosp.io.textcsv.Dialect)
    dialects: dict[str, dict[str, str | bool]] = field(default_factory=dict)


_PMSI = re.compile(r"T_MCO(\d\d|aa)([BCDA])", re.IGNORECASE)


def _table_of(stem: str, names: set[str]) -> str | None:
    if stem in names:
        return stem
    m = _PMSI.fullmatch(stem)
    if m:
        return f"T_MCOaa{m.group(2).upper()}"
    return None


def indicators_using(block_word: str) -> list[str]:
    """Indicator ids whose definition mentions `block_word` (e.g. 'has_ald')."""
    from rosp.indicators.definitions import DEFINITIONS_DIR

    ids = []
    for path in sorted(DEFINITIONS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for ind in data.get("indicators", []):
            if block_word in json.dumps(ind, ensure_ascii=False):
                ids.append(str(ind.get("id")))
    return sorted(ids)


def _check_parquet(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise DataDirError("fichier vide (0 octet)", file=path.name)
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if head != b"PAR1":
        raise DataDirError("pas un fichier Parquet (un CSV ou un autre format renommé en .parquet ?)", file=path.name)
    if tail != b"PAR1" or size < 12:
        raise DataDirError("fichier Parquet tronqué (son pied de fichier manque) : copiez-le à nouveau", file=path.name)


def _check_csv(path: Path, columns: list[str]) -> dict[str, str | bool] | None:
    frame = read_text_csv(path, lambda m: DataDirError(m.split(": ", 1)[-1], file=path.name), dialects=True,
                          decimals=False)
    found = {c.lower(): c for c in frame.columns}
    for col in columns:
        if col not in frame.columns and col.lower() in found:
            raise DataDirError(
                f"en-tête '{found[col.lower()]}' trouvé là où '{col}' est attendu (les noms de colonnes SNDS sont en majuscules)",
                file=path.name, column=col,
            )
    dialect = frame.attrs["dialect"]
    return None if dialect.standard else dialect.to_dict()


def _check_parquet_header(path: Path, columns: list[str]) -> None:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:  # noqa: BLE001 - any reader failure means an unreadable file
        raise DataDirError("fichier Parquet illisible (corrompu ou tronqué)", file=path.name) from None
    found = {c.lower(): c for c in names}
    for col in columns:
        if col not in names and col.lower() in found:
            raise DataDirError(
                f"en-tête '{found[col.lower()]}' trouvé là où '{col}' est attendu (les noms de colonnes SNDS sont en majuscules)",
                file=path.name, column=col,
            )


def preflight(data_dir: Path | str) -> Preflight:
    from rosp.claims.schema import TABLES

    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise DataDirError("le dossier --data n'existe pas", file=str(data_dir))
    if not data_dir.is_dir():
        raise DataDirError("--data est un fichier ; un dossier contenant un fichier par table SNDS est attendu",
                           file=str(data_dir))
    result = Preflight()
    from rosp.claims.load import find_files

    # the loader's own file matching (archives, yearly PMSI tables), so a file it reads is never "not read"
    owner: dict[str, str] = {}
    for table, schema in TABLES.items():
        for path in find_files(data_dir, schema):
            owner[path.name] = table
        for path in data_dir.iterdir():  # a CSV shadowed by its Parquet twin is still a file of the table
            if path.suffix.lower() == ".csv" and (data_dir / (path.stem + ".parquet")).name in owner:
                owner.setdefault(path.name, table)
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(data_dir.iterdir()):
        if path.name.startswith("."):
            continue
        table = owner.get(path.name) if path.suffix.lower() in (".parquet", ".csv") else None
        if table is None or not path.is_file():
            result.ignored.append(path.name)
            continue
        by_stem.setdefault(path.stem, []).append(path)
        result.tables.setdefault(table, []).append(path)
    for stem, paths in sorted(by_stem.items()):
        if len(paths) > 1:
            raise DataDirError(
                f"la table {stem} est présente deux fois ({', '.join(p.name for p in paths)}) : n'en gardez qu'un fichier",
                file=paths[0].name,
            )
    for table, paths in sorted(result.tables.items()):
        cols = [c.name for c in TABLES[table].columns]
        for path in paths:
            if path.suffix.lower() == ".parquet":
                _check_parquet(path)
                _check_parquet_header(path, cols)
            else:
                dialect = _check_csv(path, cols)
                if dialect is not None:
                    result.dialects[path.name] = dialect
    if result.ignored:
        result.warnings.append(
            f"{len(result.ignored)} file(s) in --data are not read: {', '.join(result.ignored)}"
        )
    for table, schema in sorted(TABLES.items()):
        if not schema.required and table not in result.tables and table == "IR_IMB_R":
            affected = indicators_using("has_ald")
            result.warnings.append(
                "optional table IR_IMB_R (ALD) is missing: no patient is in ALD, which changes "
                f"the indicators {', '.join(affected)}"
            )
    return result
