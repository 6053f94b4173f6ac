"""The one root of every user-facing error.

Every error a user can cause (bad file, bad option, bad value) subclasses
`RospError`, which carries the reason and, where known, the file, the 1-based
data row and the column. A text file that has lines rather than data rows (a
TOML reform, a parameters file) uses the line-only form instead: `line` is the
1-based line as an editor shows it (no header offset), and `column` is then the
key on that line. The CLI maps it to exit code 2 with one line; any
other exception is a bug (exit 1, traceback only with `--debug`).

Messages never carry a patient identifier (architecture.md, "Identifiers").
"""

from __future__ import annotations


class RospError(ValueError):
    """A problem with the user's input: reason, and where it is (file, row, column)."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        self.line = line
        super().__init__(self.location_text())

    @property
    def line_only(self) -> bool:
        """Located by a line of a text file (TOML), not by a data row."""
        return self.line is not None and self.row is None

    def location_text(self) -> str:
        """`file, row N (line N+1), column C: reason` (or `file, line N, key K: reason`)
        with the parts that are known."""
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row} (line {self.row + 1})")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"key {self.column}" if self.line_only else f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def french(self) -> str:
        """The same in French, as users read it: `fichier F, ligne N (ligne N+1 du fichier),
        colonne C : raison`; for a line-only location (a TOML file), `fichier F, ligne N, clé K : raison`."""
        where = []
        if self.file:
            where.append(f"fichier {self.file}")
        if self.row is not None:
            where.append(f"ligne {self.row} (ligne {self.row + 1} du fichier)")
        elif self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column:
            if self.column.startswith("--"):
                where.append(f"option {self.column}")
            else:
                where.append(f"clé {self.column}" if self.line_only else f"colonne {self.column}")
        return f"{', '.join(where)} : {self.reason}" if where else self.reason
