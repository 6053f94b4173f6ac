"""Output folders that cannot lie.

`atomic_output(out, overwrite=...)` yields a temporary folder beside `out`; the
command writes everything there, and on success the folder is renamed to `out`
(an existing `out` is replaced whole, only with `--overwrite`). On a user error
(`RospError`) the partial folder becomes `out` with an `INCOMPLETE` marker and
without payments, so the rejects can be read but nothing looks like a result; on
any other failure or Ctrl-C nothing is left.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rosp.errors import RospError

INCOMPLETE = "INCOMPLETE"
#: files that look like a result and are removed from a failed folder
RESULT_FILES = ("payments.csv", "indicators.csv", "manifest.json", "safeguard.json", "eligibility.csv")


class OutputError(RospError):
    """The output path cannot be used."""


def is_incomplete(path: Path) -> bool:
    return (Path(path) / INCOMPLETE).exists()


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse an output path that is a file, or a non-empty folder without --overwrite
    (a folder marked INCOMPLETE by a failed run may always be replaced)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError("le chemin de sortie existe et c'est un fichier, pas un dossier", file=str(out))
    if out.is_dir() and any(out.iterdir()) and not overwrite and not is_incomplete(out):
        raise OutputError(
            "le dossier de sortie existe et n'est pas vide ; choisissez un autre --out ou passez --overwrite "
            "(qui le remplace en entier)",
            file=str(out),
        )
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError("le parent du chemin de sortie est un fichier", file=str(parent))


def _replace(src: Path, dst: Path) -> None:
    if dst.exists():
        trash = dst.parent / f".{dst.name}.old-{os.getpid()}"
        os.replace(dst, trash)
        os.replace(src, dst)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(src, dst)


def _retarget(exc: RospError, tmp: Path, out: Path) -> None:
    """Messages name `out`, never the temporary folder."""
    t, o = str(tmp), str(out)
    exc.reason = exc.reason.replace(t, o)
    if exc.file:
        exc.file = exc.file.replace(t, o)
    exc.args = (exc.location_text(),)


@contextmanager
def atomic_output(out: Path | str, overwrite: bool = False) -> Iterator[Path]:
    out = Path(out)
    check_output_dir(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError("le parent du chemin de sortie est un fichier", file=str(out.parent)) from None
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except RospError as exc:
        _retarget(exc, tmp, out)
        if any(tmp.iterdir()):
            for name in RESULT_FILES:
                (tmp / name).unlink(missing_ok=True)
            (tmp / INCOMPLETE).write_text(
                "Ce dossier vient d'une exécution qui a échoué ; il ne contient aucun résultat.\n"
                f"Raison : {exc.location_text()}\n",
                encoding="utf-8",
            )
            _replace(tmp, out)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _replace(tmp, out)


@contextmanager
def atomic_file(out: Path | str, overwrite: bool = True) -> Iterator[Path]:
    """A temporary file beside `out`, renamed to `out` on success."""
    out = Path(out)
    if out.is_dir():
        raise OutputError("le chemin de sortie est un dossier ; un fichier est attendu", file=str(out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError("le parent du chemin de sortie est un fichier", file=str(out.parent)) from None
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
