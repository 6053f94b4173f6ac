"""Reading input CSV files as text: dialect detection, no type guessing, clear errors.

One module decides what a text file is (`detect_dialect`):
- encoding: UTF-8 (with or without BOM), else Latin-1 when the file is not valid
  UTF-8 and holds no UTF-8 sequence at all (an Excel or SAS export of a French PC);
- delimiter: ',' or ';' (a French Excel or SAS export, usually with decimal commas);
- decimal commas: with ';', numbers written `0,5`.

Refused, with the file, row, column and reason, because they stay ambiguous: a file
mixing UTF-8 and Latin-1 bytes, a byte that is a control character in Latin-1
(Windows-1252 punctuation such as the curly apostrophe), a header holding both ','
and ';' where both split the first lines consistently (or neither does).

Two readers use it:
- the SNDS loader (`rosp.claims.load`, and `rosp.io.preflight`) reads every detected
  dialect and records it in the load report (`TableReport.dialects`);
- `read_text_csv` (the analysts' small CSVs: counts, patientèle, doctors, payments,
  starting rates) reads UTF-8 ','-separated files and refuses the others with a
  message saying exactly what was found (issue 8 §3), unless `dialects=True`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rosp.errors import RospError

#: bytes read to decide the delimiter and decimal commas
SAMPLE_BYTES = 1 << 20
#: lines of the sample checked for a consistent field count
SAMPLE_LINES = 200
_CHUNK = 1 << 24
_UTF8_SEQ = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")
_C1 = re.compile(rb"[\x80-\x9F]")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


class CsvDialectError(RospError):
    """A text file whose encoding or delimiter cannot be decided without guessing."""


@dataclass(frozen=True)
class Dialect:
    """How a text file is written; `standard` is UTF-8 with ',' separators."""

    encoding: str = "utf-8"  # "utf-8" | "latin-1"
    delimiter: str = ","
    decimal_comma: bool = False
    bom: bool = False

    @property
    def standard(self) -> bool:
        return self.encoding == "utf-8" and self.delimiter == "," and not self.decimal_comma

    def to_dict(self) -> dict[str, str | bool]:
        return {"encoding": self.encoding, "delimiter": self.delimiter,
                "decimal_comma": self.decimal_comma, "bom": self.bom}

    def describe(self) -> str:
        parts = [self.encoding, f"'{self.delimiter}' separators"]
        if self.decimal_comma:
            parts.append("decimal commas")
        return ", ".join(parts)


def _line_and_column(raw: bytes, pos: int, delimiter: bytes) -> tuple[int, str | None, int]:
    """(1-based data row, header name of the field, 1-based field number) of byte ``pos``."""
    line_start = raw.rfind(b"\n", 0, pos) + 1
    line_no = raw.count(b"\n", 0, pos)  # 0 = header line
    field = raw.count(delimiter, line_start, pos)
    header = raw[: raw.find(b"\n")] if b"\n" in raw else raw
    names = header.decode("latin-1").strip().lstrip("\ufeff").split(delimiter.decode())
    name = names[field].strip().strip('"') if field < len(names) else None
    return line_no, name, field + 1


def _encoding(path: Path, first: bytes) -> str:
    """'utf-8' or 'latin-1'; raises CsvDialectError for a mixed or Windows-1252 file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    bad_at = None
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_at = offset + exc.start
                break
            offset += len(chunk)
        else:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                bad_at = offset - 1
    raw = path.read_bytes()  # not UTF-8: small analysts' or SAS exports; locate the problem
    delim = b";" if first.count(b";") > first.count(b",") else b","
    if _UTF8_SEQ.search(raw):
        row, name, num = _line_and_column(raw, bad_at, delim)
        raise CsvDialectError(
            "mixed encodings: the file holds both UTF-8 characters and bytes that are not UTF-8 "
            "(Latin-1?); re-save the whole file in one encoding (UTF-8)",
            file=path.name, row=row or None, column=name or f"field {num}",
        )
    c1 = _C1.search(raw)
    if c1:
        row, name, num = _line_and_column(raw, c1.start(), delim)
        raise CsvDialectError(
            f"byte 0x{raw[c1.start()]:02X} is a control character in Latin-1 (Windows-1252 punctuation?): "
            "the encoding is ambiguous; re-save the file as UTF-8",
            file=path.name, row=row or None, column=name or f"field {num}",
        )
    return "latin-1"


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    return [len(r) for r in csv.reader(lines, delimiter=delimiter) if r]


def detect_dialect(path: Path | str) -> Dialect:
    """Encoding, delimiter and decimal commas of a CSV file (see the module docstring).

    The file must exist and hold a header line (checked by the callers' messages)."""
    path = Path(path)
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    bom = sample.startswith(codecs.BOM_UTF8)
    first = sample.split(b"\n", 1)[0]
    encoding = _encoding(path, first)
    text = sample.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    lines = text.splitlines()
    if len(sample) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut
    lines = lines[: SAMPLE_LINES + 1]
    header = lines[0] if lines else ""
    candidates = [d for d in (",", ";") if d in header]
    if len(candidates) == 2:
        consistent = []
        for d in candidates:
            counts = _field_counts(lines, d)
            if counts and counts[0] > 1 and all(n == counts[0] for n in counts):
                consistent.append(d)
        if len(consistent) != 1:
            raise CsvDialectError(
                "ambiguous delimiter: the header holds both ',' and ';' "
                + ("and both split the first lines consistently" if consistent else "and neither splits "
                   "the first lines into the header's number of fields")
                + "; re-export with one separator", file=path.name, row=None, column=None,
            )
        delimiter = consistent[0]
    else:
        delimiter = candidates[0] if candidates else ","
    decimal_comma = delimiter == ";" and any(
        _DECIMAL_COMMA.fullmatch(cell.strip()) for row in csv.reader(lines[1:], delimiter=";") for cell in row
    )
    return Dialect(encoding=encoding, delimiter=delimiter, decimal_comma=decimal_comma, bom=bom)


def _file_checks(path: Path, error: Callable[[str], Exception]) -> None:
    if not path.exists():
        raise error(f"{path}: file not found")
    if path.is_dir():
        raise error(f"{path}: is a directory, a CSV file was expected")
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip() and not path.read_bytes().strip():
        raise error(f"{path}: empty file (0 bytes or blank), a header line was expected")


def read_text_csv(
    path: Path | str, error: Callable[[str], Exception], *, dialects: bool = False, decimals: bool = True
) -> pd.DataFrame:
    """Every column as stripped text (empty cells stay ''); `error(message)` builds the
    exception raised for a missing or unreadable file (message starts with `path: `).

    With ``dialects=False`` (the analysts' files) a Latin-1 or ';'-separated file is
    refused saying so; with ``dialects=True`` it is read, decimal commas become
    points (unless ``decimals=False``: a check that reads only the header and the
    shape), and the detected dialect is in ``frame.attrs["dialect"]`` (a `Dialect`).
    """
    path = Path(path)
    _file_checks(path, error)
    try:
        dialect = detect_dialect(path)
    except CsvDialectError as exc:
        if dialects:
            raise
        raise error(f"{path}: {exc.location_text().split(': ', 1)[-1]}") from None
    if not dialects and dialect.encoding != "utf-8":
        raise error(
            f"{path}: not UTF-8 (probably Latin-1 / Windows-1252, e.g. an Excel export); "
            "re-save the file as UTF-8"
        )
    if not dialects and dialect.delimiter == ";":
        raise error(
            f"{path}: fields separated by ';'"
            + (" with decimal commas" if dialect.decimal_comma else "")
            + " (a French Excel export); expected ',' separators and '.' decimals: "
            "re-export as CSV UTF-8 (comma delimited)"
        )
    text = path.read_bytes().decode("utf-8-sig" if dialect.encoding == "utf-8" else dialect.encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                            sep=dialect.delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas' message names a line number, never the line's content
        raise error(f"{path}: unreadable CSV ({str(exc).strip().splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if dialect.decimal_comma and decimals:
        frame = frame.apply(lambda s: s.where(~s.str.fullmatch(_DECIMAL_COMMA.pattern),
                                              s.str.replace(",", ".", regex=False)))
    frame.attrs["dialect"] = dialect
    return frame


def missing_column_reason(columns: Iterable[str], wanted: str) -> str:
    """`missing column`, naming the header found when only the case differs."""
    found = [c for c in columns if c.lower() == wanted.lower() and c != wanted]
    if found:
        return f"missing column (found header '{found[0]}': headers are case-sensitive, expected '{wanted}')"
    return "missing column"
