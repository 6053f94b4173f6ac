"""Code lists as data: ``rosp/indicators/codelists/<name>.csv``.

Columns: ``code,label,system,match,group,source,confidence``. ``system`` is one of
ATC, NABM, CCAM, CIM10, NATURE; ``match`` is ``prefix`` or ``exact``; ``group`` is an
optional sub-class used by ``distinct_groups`` conditions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rosp.errors import RospError

CODELIST_DIR = Path(__file__).parent / "codelists"
SYSTEMS = ("ATC", "CIP13", "NABM", "CCAM", "CIM10", "NATURE")
MATCHES = ("prefix", "exact")
CONFIDENCES = ("high", "medium", "low")
COLUMNS = ("code", "label", "system", "match", "group", "source", "confidence")


class CodeListError(RospError):
    """A code list is missing or malformed."""


@dataclass(frozen=True)
class CodeEntry:
    code: str
    label: str
    system: str
    match: str
    group: str
    source: str
    confidence: str


@dataclass(frozen=True)
class CodeList:
    name: str
    entries: tuple[CodeEntry, ...]

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(sorted({e.system for e in self.entries}))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted({e.group for e in self.entries if e.group}))

    def for_system(self, system: str, group: str | None = None) -> tuple[list[str], list[str]]:
        """(exact codes, prefixes) of one system (and optionally one group), sorted."""
        exact = sorted({e.code for e in self.entries if e.system == system and e.match == "exact" and (group is None or e.group == group)})
        prefix = sorted({e.code for e in self.entries if e.system == system and e.match == "prefix" and (group is None or e.group == group)})
        return exact, prefix

    def matches(self, system: str, code: str) -> bool:
        """Pure-Python membership test (used by tests and the synthetic generator)."""
        for e in self.entries:
            if e.system != system:
                continue
            if (e.match == "exact" and code == e.code) or (e.match == "prefix" and code.startswith(e.code)):
                return True
        return False


def list_codelists() -> list[str]:
    return sorted(p.stem for p in CODELIST_DIR.glob("*.csv"))


@cache
def load_codelist(name: str) -> CodeList:
    path = CODELIST_DIR / f"{name}.csv"
    if not path.exists():
        raise CodeListError(f"unknown code list {name!r} (no {path.name})")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CodeListError(f"{path.name}: columns must be {','.join(COLUMNS)}")
        entries = []
        for i, row in enumerate(reader, start=2):
            e = CodeEntry(**{k: (row[k] or "").strip() for k in COLUMNS})
            if e.system not in SYSTEMS:
                raise CodeListError(f"{path.name}:{i}: unknown system {e.system!r}")
            if e.match not in MATCHES:
                raise CodeListError(f"{path.name}:{i}: match must be prefix or exact")
            if e.confidence not in CONFIDENCES:
                raise CodeListError(f"{path.name}:{i}: confidence must be high/medium/low")
            if not e.code:
                raise CodeListError(f"{path.name}:{i}: empty code")
            entries.append(e)
    if not entries:
        raise CodeListError(f"{path.name}: empty code list")
    return CodeList(name, tuple(entries))
