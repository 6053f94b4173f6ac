"""Moved to `rosp.io` (csvwrite, manifest); kept as a re-export for older imports."""

from rosp.io.csvwrite import DECIMALS, _fmt, format_indicators, format_payments, write_csv  # noqa: F401
from rosp.io.manifest import build_manifest, code_version, sha256_file, write_manifest  # noqa: F401
