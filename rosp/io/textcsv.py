"""Reading input CSV files as text: no type guessing, problems raised as clear errors.

Detected and refused with a message saying exactly what was found:
- a missing file, a directory, an empty (0-byte) file;
- a file that is not UTF-8 (a Latin-1 / Windows-1252 export);
- a `;`-separated file (a French Excel export, usually with decimal commas);
- a header whose case differs from the expected one (`check_header`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def read_text_csv(path: Path | str, error: Callable[[str], Exception]) -> pd.DataFrame:
    """Every column as stripped text (empty cells stay ''); `error(message)` builds the
    exception raised for a missing or unreadable file (message starts with `path: `)."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: file not found")
    if path.is_dir():
        raise error(f"{path}: is a directory, a CSV file was expected")
    raw = path.read_bytes()
    if not raw.strip():
        raise error(f"{path}: empty file (0 bytes or blank), a header line was expected")
    text = _decode(raw)
    if text is None:
        raise error(
            f"{path}: not UTF-8 (probably Latin-1 / Windows-1252, e.g. an Excel export); "
            "re-save the file as UTF-8"
        )
    header = text.splitlines()[0] if text else ""
    if ";" in header and "," not in header:
        decimal_commas = any(
            any(ch.isdigit() for ch in cell) and "," in cell
            for line in text.splitlines()[1:50]
            for cell in line.split(";")
        )
        raise error(
            f"{path}: fields separated by ';'"
            + (" with decimal commas" if decimal_commas else "")
            + " (a French Excel export); expected ',' separators and '.' decimals: "
            "re-export as CSV UTF-8 (comma delimited)"
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas' message names a line number, never the line's content
        raise error(f"{path}: unreadable CSV ({str(exc).strip().splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def missing_column_reason(columns: Iterable[str], wanted: str) -> str:
    """`missing column`, naming the header found when only the case differs."""
    found = [c for c in columns if c.lower() == wanted.lower() and c != wanted]
    if found:
        return f"missing column (found header '{found[0]}': headers are case-sensitive, expected '{wanted}')"
    return "missing column"
