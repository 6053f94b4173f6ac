"""Moved to `rosp.io.textcsv`; kept as a re-export for older imports."""

from rosp.io.textcsv import missing_column_reason, read_text_csv  # noqa: F401
