"""Declarative indicator definitions (TOML, one file per programme).

Each ``definitions/<programme>.toml`` holds a ``[programme]`` table, programme-level
``[params.*]`` and an array ``[[indicators]]``. A condition argument written as the
string ``"$name"`` refers to a named parameter (indicator-level first, then
programme-level); every parameter carries ``value``, ``source`` and ``confidence``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rosp.errors import RospError
from rosp.indicators.codelists import CONFIDENCES, load_codelist

DEFINITIONS_DIR = Path(__file__).parent / "definitions"
#: programme slug -> definition file stem
PROGRAMMES: dict[str, str] = {
    "mt-enfant": "mt_enfant",
    "cardiologie": "cardiologie",
    "gastro-enterologie": "gastro_enterologie",
    "endocrinologie": "endocrinologie",
}
KINDS = ("patients", "boxes", "declarative")
BASES = ("mt", "specialist")
PROVENANCES = ("verified", "inferred")

#: block name -> (required args, optional args)
BLOCKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "has_events": (("list", "window"), ("min_count", "count")),
    "has_deliveries": (("list", "window"), ("min_count", "count")),
    "has_bio": (("list", "window"), ("min_count", "count")),
    "has_ccam": (("list", "window"), ("min_count", "count")),
    "has_service": (("list", "window"), ("min_count", "count")),
    "has_hospital_dx": (("list", "window"), ("kinds",)),
    "has_ald": (("list", "window"), ()),
    "hospital_stay_with": (("dx_list", "act_list", "window"), ()),
    "distinct_groups": (("list", "window", "min_groups"), ("min_count_per_group", "same_day")),
    "first_event": (("list", "window", "lookback_days"), ()),
    "has_events_relative": (("list", "anchor", "from_days", "to_days"), ("min_count", "prescriber")),
    "has_stay_relative": (("anchor", "from_days", "to_days"), ()),
    "events_in_each_period": (("list", "anchor", "period_days", "n_periods"), ()),
    "age_between": (("min_months", "max_months"), ("at",)),
    "age_years_in": (("years",), ("at",)),
    "any_of": (("of",), ()),
}
_ALIAS_SYSTEM = {"has_deliveries": "ATC", "has_bio": "NABM", "has_ccam": "CCAM", "has_service": "NATURE"}
_COMMON = ("name", "block", "negate", "doc")


class DefinitionError(RospError):
    """A definition file is inconsistent."""


@dataclass(frozen=True)
class Param:
    name: str
    value: Any
    source: str
    confidence: str


@dataclass(frozen=True)
class Condition:
    name: str
    block: str
    args: dict[str, Any]
    negate: bool = False
    doc: str = ""


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    programme: str
    label: str
    kind: str
    provenance: str
    source: str
    confidence: str
    denominator: tuple[Condition, ...] = ()
    numerator: tuple[Condition, ...] = ()
    exclude_deceased: bool = True
    boxes: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    notes: str = ""
    #: where the rate comes from: "claims" (compiled definition) or "declarations"
    #: (the doctor's declared rate; the claims definition stays as the alternative)
    measurement: str = "claims"

    @property
    def declared(self) -> bool:
        """True when the engine takes this indicator's rate from the declarations file."""
        return self.kind == "declarative" or self.measurement == "declarations"

    def codelists(self) -> list[str]:
        names: set[str] = set()

        def walk(c: Condition) -> None:
            for k in ("list", "dx_list", "act_list"):
                if k in c.args:
                    names.add(c.args[k])
            for sub in c.args.get("of", ()):
                walk(sub)

        for c in (*self.denominator, *self.numerator):
            walk(c)
        if "list" in self.boxes:
            names.add(self.boxes["list"])
        return sorted(names)


@dataclass(frozen=True)
class ProgrammeDef:
    slug: str
    basis: str
    specialties: tuple[int, ...]
    label: str
    indicators: tuple[IndicatorDef, ...]
    params: dict[str, Param]

    def indicator(self, indicator_id: str) -> IndicatorDef:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def param(self, name: str) -> Any:
        return self.params[name].value


def _params(raw: dict[str, Any], where: str) -> dict[str, Param]:
    out = {}
    for name, p in raw.items():
        if not isinstance(p, dict) or not {"value", "source", "confidence"} <= set(p):
            raise DefinitionError(f"{where}: parameter {name!r} needs value, source, confidence")
        if p["confidence"] not in CONFIDENCES:
            raise DefinitionError(f"{where}: parameter {name!r}: confidence must be one of {CONFIDENCES}")
        out[name] = Param(name, p["value"], p["source"], p["confidence"])
    return out


def _resolve(value: Any, params: dict[str, Param], where: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        key = value[1:]
        if key not in params:
            raise DefinitionError(f"{where}: unknown parameter {value!r}")
        return params[key].value
    return value


def _condition(raw: dict[str, Any], params: dict[str, Param], where: str) -> Condition:
    block = raw.get("block")
    if block not in BLOCKS:
        raise DefinitionError(f"{where}: unknown block {block!r}")
    name = raw.get("name") or block
    required, optional = BLOCKS[block]
    unknown = set(raw) - set(required) - set(optional) - set(_COMMON)
    if unknown:
        raise DefinitionError(f"{where}/{name}: unknown arguments {sorted(unknown)}")
    missing = set(required) - set(raw)
    if missing:
        raise DefinitionError(f"{where}/{name}: missing arguments {sorted(missing)}")
    args: dict[str, Any] = {}
    for k in (*required, *optional):
        if k not in raw:
            continue
        if k == "of":
            args[k] = tuple(_condition(sub, params, f"{where}/{name}") for sub in raw[k])
        else:
            args[k] = _resolve(raw[k], params, f"{where}/{name}")
    for k in ("list", "dx_list", "act_list"):
        if k in args:
            cl = load_codelist(args[k])
            if block in _ALIAS_SYSTEM and cl.systems != (_ALIAS_SYSTEM[block],):
                raise DefinitionError(f"{where}/{name}: {block} needs a {_ALIAS_SYSTEM[block]} list, {args[k]} is {cl.systems}")
    negate = bool(_resolve(raw.get("negate", False), params, where))
    return Condition(name, block, args, negate, raw.get("doc", ""))


def _indicator(raw: dict[str, Any], programme: str, prog_params: dict[str, Param], where: str) -> IndicatorDef:
    iid = raw.get("id", "?")
    where = f"{where}:{iid}"
    for k in ("id", "label", "kind", "provenance", "source", "confidence"):
        if k not in raw:
            raise DefinitionError(f"{where}: missing {k!r}")
    if raw["kind"] not in KINDS:
        raise DefinitionError(f"{where}: kind must be one of {KINDS}")
    if raw["provenance"] not in PROVENANCES:
        raise DefinitionError(f"{where}: provenance must be one of {PROVENANCES}")
    if raw["confidence"] not in CONFIDENCES:
        raise DefinitionError(f"{where}: confidence must be one of {CONFIDENCES}")
    own = _params(raw.get("params", {}), where)
    params = {**prog_params, **own}
    den = tuple(_condition(c, params, where) for c in raw.get("denominator", ()))
    num = tuple(_condition(c, params, where) for c in raw.get("numerator", ()))
    names = [c.name for c in (*den, *num)]
    if len(names) != len(set(names)):
        raise DefinitionError(f"{where}: condition names must be unique")
    boxes = {k: _resolve(v, params, where) for k, v in raw.get("boxes", {}).items()}
    if raw["kind"] == "patients" and (not den or not num):
        raise DefinitionError(f"{where}: a patients indicator needs denominator and numerator")
    if raw["kind"] == "patients" and den[0].negate:
        raise DefinitionError(f"{where}: the first denominator condition (population trigger) cannot be negated")
    if raw["kind"] == "boxes":
        if not {"list", "window"} <= set(boxes):
            raise DefinitionError(f"{where}: boxes needs list and window")
        load_codelist(boxes["list"])
    measurement = str(own["measurement"].value) if "measurement" in own else "claims"
    if measurement not in ("claims", "declarations"):
        raise DefinitionError(f"{where}: parameter measurement must be 'claims' or 'declarations'")
    return IndicatorDef(
        id=raw["id"], programme=programme, label=raw["label"], kind=raw["kind"], measurement=measurement,
        provenance=raw["provenance"], source=raw["source"], confidence=raw["confidence"],
        denominator=den, numerator=num,
        exclude_deceased=bool(_resolve(raw.get("exclude_deceased", True), params, where)),
        boxes=boxes, params=own, notes=raw.get("notes", ""),
    )


def load_programme_file(path: Path) -> ProgrammeDef:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    prog = raw.get("programme", {})
    slug = prog.get("slug")
    if slug not in PROGRAMMES:
        raise DefinitionError(f"{path.name}: unknown programme slug {slug!r}")
    if prog.get("basis") not in BASES:
        raise DefinitionError(f"{path.name}: basis must be one of {BASES}")
    params = _params(raw.get("params", {}), path.name)
    inds = tuple(_indicator(i, slug, params, path.name) for i in raw.get("indicators", ()))
    ids = [i.id for i in inds]
    if len(ids) != len(set(ids)):
        raise DefinitionError(f"{path.name}: duplicate indicator ids")
    return ProgrammeDef(slug, prog["basis"], tuple(prog.get("specialties", ())), prog.get("label", slug), inds, params)


@cache
def load_programme(slug: str) -> ProgrammeDef:
    if slug not in PROGRAMMES:
        raise DefinitionError(f"unknown programme {slug!r}")
    return load_programme_file(DEFINITIONS_DIR / f"{PROGRAMMES[slug]}.toml")


def load_programmes() -> dict[str, ProgrammeDef]:
    """All programmes, in the fixed order of :data:`PROGRAMMES`."""
    return {slug: load_programme(slug) for slug in PROGRAMMES}
