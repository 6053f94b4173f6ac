"""Errors raised while loading an SNDS extract.

Messages name the file, the 1-based data row and the column, never a value of a
patient identifier column (architecture.md, "Identifiers").
"""

from __future__ import annotations

from rosp.errors import RospError

#: Columns whose values identify a patient: never echoed in messages or logs.
PATIENT_ID_COLUMNS: frozenset[str] = frozenset(
    {"BEN_NIR_PSA", "BEN_IDT_ANO", "NIR_ANO_17", "BEN_NIR_ANO"}
)


class ClaimsError(RospError):
    """A structural problem with the input files: the load cannot go on."""


class MissingTableError(ClaimsError):
    """A required table has no file in the data directory."""


class MissingColumnError(ClaimsError):
    """A declared column is absent from a table file."""


class ColumnTypeError(ClaimsError):
    """A column cannot be read as its declared Arrow type."""
