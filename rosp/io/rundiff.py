"""Differences between two run directories, apart from what is run-specific.

Every file must be present in both and identical, except ``timings.json`` (wall times)
and, in ``manifest.json``, the ``code`` block (git commit and dirty flag of the code that
ran). Used to prove that an engine, a performance change or the demo leave the outputs
unchanged (docs/scaling.md, "Equality"; ``benchmarks/compare_runs.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

IGNORED_FILES = {"timings.json"}
IGNORED_MANIFEST_KEYS = {"code"}


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name not in IGNORED_FILES}


def _manifest(path: Path) -> dict:
    m = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in m.items() if k not in IGNORED_MANIFEST_KEYS}


def differences(a: Path, b: Path) -> list[str]:
    """Human-readable differences between run directories ``a`` and ``b`` (empty: equal)."""
    fa, fb = _files(a), _files(b)
    out = [f"only in {a}: {f}" for f in sorted(fa - fb)] + [f"only in {b}: {f}" for f in sorted(fb - fa)]
    for f in sorted(fa & fb):
        if Path(f).name == "manifest.json":
            ma, mb = _manifest(a / f), _manifest(b / f)
            for k in sorted(set(ma) | set(mb)):
                if ma.get(k) != mb.get(k):
                    out.append(f"{f}: key {k!r} differs")
        elif (a / f).read_bytes() != (b / f).read_bytes():
            out.append(f"{f}: bytes differ")
    return out
