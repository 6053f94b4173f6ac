"""`load_run`: the one reader of a run directory (`rosp score` or `rosp run` output),
and of the starting rates a later run takes from it (`--baseline`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rosp.errors import RospError
from rosp.io.outdir import INCOMPLETE


class RunDirError(RospError):
    """A folder that is not a usable run directory."""


@dataclass
class RunDir:
    path: Path
    indicators: pd.DataFrame
    payments: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def command(self) -> str:
        return str(self.manifest.get("command", ""))

    @property
    def evidence_dir(self) -> Path | None:
        d = self.path / "evidence"
        return d if d.is_dir() and any(d.glob("*.parquet")) else None


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise RunDirError("CSV illisible dans le dossier du run", file=str(path)) from None


def load_run(run_dir: Path | str) -> RunDir:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError("dossier du run introuvable" if not run_dir.exists() else "ce n'est pas un dossier", file=str(run_dir))
    if (run_dir / INCOMPLETE).exists():
        raise RunDirError("ce dossier vient d'un run qui a échoué (marqué INCOMPLETE) ; il ne contient aucun résultat",
                          file=str(run_dir))
    missing = [n for n in ("indicators.csv", "payments.csv", "manifest.json") if not (run_dir / n).is_file()]
    if missing:
        raise RunDirError(f"ce n'est pas un dossier de run ({missing[0]} manque)", file=str(run_dir))
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RunDirError("manifest.json n'est pas un JSON valide", file=str(run_dir / "manifest.json")) from None
    return RunDir(run_dir, _read(run_dir / "indicators.csv"), _read(run_dir / "payments.csv"), manifest)
