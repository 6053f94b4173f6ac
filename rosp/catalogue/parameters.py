"""Dated legal parameters with their source and confidence (OpenFisca-style).

Values are stored as strings in `parameters.toml` so that no float ever enters
money arithmetic; callers convert with `.decimal`, `.integer`, `.text`, etc.
A reform is a set of overrides `{name: value}` applied on top of the law.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from rosp.errors import RospError

CONFIDENCES = ("verified", "secondary", "inferred")


@dataclass(frozen=True)
class ParameterValue:
    """One dated value of a parameter, with its provenance."""

    name: str
    value: str
    valid_from: int
    source: str
    confidence: str
    overridden: bool = False
    valid_until: int | None = None

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.value)

    @property
    def integer(self) -> int:
        return int(self.value)

    @property
    def boolean(self) -> bool:
        return self.value.strip().lower() in ("true", "1", "yes")

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.value)

    @property
    def text(self) -> str:
        return self.value

    def as_list(self) -> list[str]:
        return [v.strip() for v in self.value.split(",") if v.strip()]

    def as_mapping(self) -> dict[str, str]:
        """Parse 'k1:v1,k2:v2' into a dict (used for specialty -> programme)."""
        return dict(item.split(":", 1) for item in self.as_list())


class ParameterError(RospError):
    """A parameter is missing, malformed or has no value for the year."""


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, sub in node.items():
        if not isinstance(sub, dict):
            continue
        name = f"{prefix}{key}"
        if "values" in sub:
            out[name] = sub
        else:
            out.update(_flatten(sub, prefix=f"{name}."))
    return out


class Parameters:
    """The parameter tree, queried by dotted name and ROSP year."""

    def __init__(self, raw: dict[str, Any], overrides: dict[str, str] | None = None):
        self.catalogue_version = str(raw.get("catalogue_version", "unversioned"))
        self._params = _flatten(raw)
        self._overrides = {k: str(v) for k, v in (overrides or {}).items()}
        for name, spec in self._params.items():
            for v in spec["values"]:
                if v.get("confidence") not in CONFIDENCES:
                    raise ParameterError(f"parameter {name}: confidence must be one of {CONFIDENCES}")
                if not v.get("source"):
                    raise ParameterError(f"parameter {name}: every value needs a source")
            alts = spec.get("alternatives")
            if alts is not None:
                if not isinstance(alts, list) or not alts or not all(isinstance(a, str) for a in alts):
                    raise ParameterError(f"parameter {name}: alternatives must be a non-empty list of strings")
                missing = sorted({str(v["value"]) for v in spec["values"]} - set(alts))
                if missing:
                    raise ParameterError(f"parameter {name}: value(s) {missing} not among its alternatives")
        unknown = set(self._overrides) - set(self._params)
        if unknown:
            raise ParameterError(f"unknown parameter(s) in reform: {sorted(unknown)}")

    @property
    def names(self) -> list[str]:
        return sorted(self._params)

    def get(self, name: str, year: int) -> ParameterValue:
        """The value of `name` in force for ROSP year `year`."""
        if name not in self._params:
            raise ParameterError(f"unknown parameter {name!r}")
        # A value applies from `from` until the next value, and never after its
        # optional `until` year (end of validity, inclusive).
        candidates = [v for v in self._params[name]["values"] if int(v["from"]) <= year]
        if not candidates:
            raise ParameterError(f"parameter {name!r} has no value in force for {year}")
        v = max(candidates, key=lambda v: int(v["from"]))
        until = int(v["until"]) if "until" in v else None
        if until is not None and year > until:
            raise ParameterError(f"parameter {name!r} has no value in force for {year} (its value ended in {until})")
        if name in self._overrides:
            return ParameterValue(name, self._overrides[name], year, "reform override", "inferred", True)
        return ParameterValue(name, str(v["value"]), int(v["from"]), v["source"], v["confidence"], valid_until=until)

    def alternatives(self, name: str) -> list[str]:
        """The readings listed for `name` (parameter-level `alternatives`; [] when none are listed)."""
        if name not in self._params:
            raise ParameterError(f"unknown parameter {name!r}")
        return list(self._params[name].get("alternatives", []))

    def snapshot(self, year: int) -> dict[str, dict[str, Any]]:
        """Every parameter in force for `year`, for the run manifest."""
        out = {}
        for name in self.names:
            try:
                p = self.get(name, year)
            except ParameterError:
                continue
            out[name] = {
                "value": p.value,
                "from": p.valid_from,
                **({"until": p.valid_until} if p.valid_until is not None else {}),
                "confidence": p.confidence,
                "source": p.source,
                "overridden": p.overridden,
            }
        return out

    def with_overrides(self, overrides: dict[str, str]) -> Parameters:
        raw = {"catalogue_version": self.catalogue_version}
        params = Parameters.__new__(Parameters)
        params.catalogue_version = raw["catalogue_version"]
        params._params = self._params
        params._overrides = {**self._overrides, **{k: str(v) for k, v in overrides.items()}}
        unknown = set(params._overrides) - set(self._params)
        if unknown:
            raise ParameterError(f"unknown parameter(s) in reform: {sorted(unknown)}")
        return params


def parameters_path() -> Path:
    return Path(str(resources.files("rosp.catalogue") / "parameters.toml"))


def load_parameters(path: Path | None = None, overrides: dict[str, str] | None = None) -> Parameters:
    """Load the dated parameters (the bundled law by default)."""
    path = path or parameters_path()
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return Parameters(raw, overrides)
