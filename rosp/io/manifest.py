"""The one manifest builder: inputs (paths and sha256), catalogue and code versions,
parameters, outputs, warnings. No clock time: identical inputs give identical bytes.

Input paths are recorded relative to their base directory (`--data` for `rosp run`,
the file's own folder otherwise), so the same data gives the same manifest wherever
it sits.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import rosp


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> dict[str, Any]:
    """Package version and, when run from a git checkout, the commit and dirty flag."""
    here = Path(__file__).resolve().parent.parent
    info: dict[str, Any] = {"package": rosp.__version__}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        info["git_commit"] = commit
        info["git_dirty"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = "unknown"
    return info


def relative_path(path: Path | str, base: Path | str | None) -> str:
    """`path` relative to `base` (POSIX separators); the bare name when `base` is None
    or `path` lies outside it."""
    p = Path(path)
    if base is not None:
        try:
            rel = Path(os.path.relpath(p.resolve(), Path(base).resolve()))
        except ValueError:  # another drive
            return p.name
        if not rel.as_posix().startswith(".."):
            return rel.as_posix()
    return p.name


def file_entry(path: Path | str, base: Path | str | None = None) -> dict[str, str]:
    """`{"path": relative path, "sha256": ...}` of one input file."""
    return {"path": relative_path(path, base), "sha256": sha256_file(path)}


def input_hashes(paths: list[Path | str], base: Path | str | None = None) -> dict[str, str]:
    """`{relative path: sha256}`; with no base, each file is named by its file name."""
    out: dict[str, str] = {}
    for p in paths:
        key = relative_path(p, base) if base is not None else Path(p).name
        if key in out:  # two inputs with the same name from different folders
            key = str(p)
        out[key] = sha256_file(p)
    return dict(sorted(out.items()))


def build_manifest(
    *,
    command: str,
    year: int,
    catalogue: Any = None,
    inputs: dict[str, str],
    outputs: dict[str, Any],
    extra: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The run manifest: inputs (sha256), catalogue and code versions, parameters, counts."""
    m: dict[str, Any] = {
        "command": command,
        "year": year,
        "inputs": dict(sorted(inputs.items())),
        "code": code_version(),
        "outputs": outputs,
        "warnings": list(warnings or []),
    }
    if catalogue is not None:
        m["catalogue"] = {
            "version": catalogue.version,
            "content_sha256": catalogue.content_sha256,
            "programmes": {p.slug: p.path for p in catalogue.programmes},
        }
        m["parameters"] = catalogue.params.snapshot(year)
    m.update(extra or {})
    return m


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    path.write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )


def update_manifest(path: Path, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge `updates` into an existing manifest.json (top-level keys replaced)."""
    m = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    m.update(updates)
    write_manifest(m, path)
    return m
