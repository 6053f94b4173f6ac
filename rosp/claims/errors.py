"""Errors raised while loading an SNDS extract.

Messages name the file, the 1-based data row and the column, never a value of a
patient identifier column (architecture.md, "Identifiers").
"""

from __future__ import annotations

#: Columns whose values identify a patient: never echoed in messages or logs.
PATIENT_ID_COLUMNS: frozenset[str] = frozenset(
    {"BEN_NIR_PSA", "BEN_IDT_ANO", "NIR_ANO_17", "BEN_NIR_ANO"}
)


class ClaimsError(ValueError):
    """A structural problem with the input files: the load cannot go on."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row} of {file}" if file else f"row {row}")
        elif file:
            where.append(file)
        if column:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)


class MissingTableError(ClaimsError):
    """A required table has no file in the data directory."""


class MissingColumnError(ClaimsError):
    """A declared column is absent from a table file."""


class ColumnTypeError(ClaimsError):
    """A column cannot be read as its declared Arrow type."""
