"""Declarative indicator definitions (TOML, one file per programme).

Each ``definitions/<programme>.toml`` holds a ``[programme]`` table, programme-level
``[params.*]`` and an array ``[[indicators]]``. A condition argument written as the
string ``"$name"`` refers to a named parameter (indicator-level first, then
programme-level); every parameter carries ``value``, ``source`` and ``confidence``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rosp.errors import RospError
from rosp.indicators.codelists import CONFIDENCES, load_codelist
from rosp.indicators.windows import resolve_bound, resolve_window

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
_EVENT_OPTS = ("min_count", "count", "min_age_months", "max_age_months")
BLOCKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "has_events": (("list", "window"), _EVENT_OPTS),
    "has_deliveries": (("list", "window"), _EVENT_OPTS),
    "has_bio": (("list", "window"), _EVENT_OPTS),
    "has_ccam": (("list", "window"), _EVENT_OPTS),
    "has_service": (("list", "window"), _EVENT_OPTS),
    "has_hospital_dx": (("list", "window"), ("kinds",)),
    # dated = "overlap" (an ALD period overlapping the window) or "start" (ALD start in the window)
    "has_ald": (("list", "window"), ("dated",)),
    "hospital_stay_with": (("dx_list", "act_list", "window"), ()),
    # concurrent_days: the groups must all be dispensed within that many days of one another
    "distinct_groups": (("list", "window", "min_groups"), ("min_count_per_group", "same_day", "concurrent_days")),
    "first_event": (("list", "window", "lookback_days"), ()),
    # anchor_events = "first" (the anchor's witness date) or "all" (every event of the anchor in its window)
    "has_events_relative": (("list", "anchor", "from_days", "to_days"), ("min_count", "prescriber", "anchor_events")),
    "has_stay_relative": (("anchor", "from_days", "to_days"), ("dx_list", "kinds")),
    "events_in_each_period": (("list", "anchor", "period_days", "n_periods"), ()),
    # anchor: age at the anchor condition's witness date instead of ``at``
    "age_between": (("min_months", "max_months"), ("at", "anchor")),
    "age_years_in": (("years",), ("at",)),
    # the birthday (15th of the birth month) at which the child reaches one of ``years`` falls in ``window``;
    # ``years`` is a list of ages or a dated list [{from = "YYYY-MM-DD", ages = [...]}, ...]
    "birthday_in": (("years", "window"), ()),
    "any_of": (("of",), ()),
}
#: code systems each event alias may read
_ALIAS_SYSTEMS = {"has_deliveries": {"ATC", "CIP13"}, "has_bio": {"NABM"}, "has_ccam": {"CCAM"}, "has_service": {"NATURE"}}
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
    #: False when the definition is provisional and must not be paid (parameter ``payable``);
    #: scoring reads :attr:`payable` and neutralises the indicator
    payable: bool = True
    #: last date of care the indicator reads, a window bound (parameter ``observation_end``,
    #: default "N" = 31/12/N): the same for every run, whatever the extraction date
    observation_end: str = "N"

    @property
    def status(self) -> str:
        """"provisional" for a non-payable definition, else "final"."""
        return "final" if self.payable else "provisional"

    def observation_end_date(self, year: int) -> dt.date:
        return resolve_bound(self.observation_end, year, end=True)

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
            if block in _ALIAS_SYSTEMS and not set(cl.systems) <= _ALIAS_SYSTEMS[block]:
                raise DefinitionError(f"{where}/{name}: {block} needs a {sorted(_ALIAS_SYSTEMS[block])} list, {args[k]} is {cl.systems}")
    negate = bool(_resolve(raw.get("negate", False), params, where))
    return Condition(name, block, args, negate, raw.get("doc", ""))


def _indicator(raw: dict[str, Any], programme: str, prog_params: dict[str, Param], where: str,
               labels: dict[str, str]) -> IndicatorDef:
    iid = raw.get("id", "?")
    where = f"{where}:{iid}"
    if "label" in raw:
        raise DefinitionError(f"{where}: 'label' restates the catalogue; the label is read from the catalogue table")
    for k in ("id", "kind", "provenance", "source", "confidence"):
        if k not in raw:
            raise DefinitionError(f"{where}: missing {k!r}")
    if raw["id"] not in labels:
        raise DefinitionError(f"{where}: indicator {raw['id']} is not in the catalogue table of the programme")
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
    payable = own["payable"].value if "payable" in own else True
    if not isinstance(payable, bool):
        raise DefinitionError(f"{where}: parameter payable must be true or false")
    obs_end = str(params["observation_end"].value) if "observation_end" in params else "N"
    resolve_bound(obs_end, 2018, end=True)  # validates the grammar
    measurement = str(own["measurement"].value) if "measurement" in own else "claims"
    if measurement not in ("claims", "declarations"):
        raise DefinitionError(f"{where}: parameter measurement must be 'claims' or 'declarations'")
    return IndicatorDef(
        id=raw["id"], programme=programme, label=labels[raw["id"]], kind=raw["kind"], measurement=measurement,
        provenance=raw["provenance"], source=raw["source"], confidence=raw["confidence"],
        denominator=den, numerator=num,
        exclude_deceased=bool(_resolve(raw.get("exclude_deceased", True), params, where)),
        boxes=boxes, params=own, notes=raw.get("notes", ""), payable=payable, observation_end=obs_end,
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
    for k in ("label", "specialties"):
        if k in prog:
            raise DefinitionError(f"{path.name}: [programme] {k} restates the catalogue; it is read from the catalogue table")
    table = _catalogue_programme(prog.get("table"), slug, path.name)
    labels = {i.id: i.label for i in table.indicators}
    params = _params(raw.get("params", {}), path.name)
    inds = tuple(_indicator(i, slug, params, path.name, labels) for i in raw.get("indicators", ()))
    ids = [i.id for i in inds]
    if len(ids) != len(set(ids)):
        raise DefinitionError(f"{path.name}: duplicate indicator ids")
    missing = sorted(set(labels) - set(ids))
    if missing:
        raise DefinitionError(f"{path.name}: catalogue indicators without a definition: {', '.join(missing)}")
    return ProgrammeDef(slug, prog["basis"], tuple(int(x) for x in table.specialties), table.name, inds, params)


def _catalogue_programme(table: Any, slug: str, where: str):
    """The catalogue table a definition file implements (``[programme] table = YEAR``):
    labels, specialties and the indicator list are read from there, never restated."""
    from rosp.catalogue.model import CatalogueError, load_catalogue

    if not isinstance(table, int):
        raise DefinitionError(f"{where}: [programme] table must be the catalogue table year (e.g. 2018)")
    try:
        return load_catalogue(table).programme(slug)
    except (CatalogueError, KeyError) as exc:
        raise DefinitionError(f"{where}: no catalogue table {table} for {slug}: {exc}") from None


@cache
def load_programme(slug: str) -> ProgrammeDef:
    if slug not in PROGRAMMES:
        raise DefinitionError(f"unknown programme {slug!r}")
    return load_programme_file(DEFINITIONS_DIR / f"{PROGRAMMES[slug]}.toml")


def load_programmes() -> dict[str, ProgrammeDef]:
    """All programmes, in the fixed order of :data:`PROGRAMMES`."""
    return {slug: load_programme(slug) for slug in PROGRAMMES}


# ------------------------------------------------------------------ load period
#: table families whose load period follows the definitions
FAMILIES = ("DCIR", "PMSI", "ALD")
_SYSTEM_FAMILIES = {"ATC": ("DCIR",), "CIP13": ("DCIR",), "NABM": ("DCIR",), "NATURE": ("DCIR",),
                    "CCAM": ("DCIR", "PMSI"), "CIM10": ("PMSI",)}


def _list_families(name: str) -> tuple[str, ...]:
    out: list[str] = []
    for system in load_codelist(name).systems:
        out.extend(f for f in _SYSTEM_FAMILIES[system] if f not in out)
    return tuple(out)


def _condition_reads(c: Condition, scope: dict[str, Condition], year: int, out: dict[str, dt.date]) -> dt.date | None:
    """Record in ``out`` the earliest date each family is read by ``c``; return the
    earliest date of ``c``'s own witness (None when it has no date, e.g. an age)."""

    def note(families: tuple[str, ...], d: dt.date) -> None:
        for f in families:
            if f not in out or d < out[f]:
                out[f] = d

    a, b = c.args, c.block
    if b == "any_of":
        dates = [d for sub in a["of"] if (d := _condition_reads(sub, scope, year, out)) is not None]
        return min(dates) if dates else None
    if b in ("age_between", "age_years_in", "birthday_in"):
        return None
    if b in ("has_events_relative", "has_stay_relative", "events_in_each_period"):
        anchor = _condition_reads(scope[a["anchor"]], scope, year, out)
        if anchor is None:
            return None
        lo = min(int(a.get("from_days", 1)), 1)
        start = anchor + dt.timedelta(days=lo)
        if b == "has_stay_relative":
            note(("PMSI",), start)
        else:
            note(_list_families(a["list"]), start)
        return start
    start, _ = resolve_window(a["window"], year)
    if b == "first_event":
        note(_list_families(a["list"]), start - dt.timedelta(days=int(a["lookback_days"])))
    elif b == "has_ald":
        note(("ALD",), start)
    elif b == "has_hospital_dx":
        note(("PMSI",), start)
    elif b == "hospital_stay_with":
        note(("PMSI",), start)
    else:
        note(_list_families(a["list"]), start)
    return start


def earliest_read_dates(year: int, programmes: dict[str, ProgrammeDef] | None = None) -> dict[str, dt.date]:
    """Earliest date of care any definition reads for payment year ``year``, per table
    family: ``DCIR`` (ER_*_F), ``PMSI`` (MCO stays, diagnoses, acts) and ``ALD``
    (IR_IMB_R periods; an ALD is selected by its dates, so the referential is read whole
    and the date says how far back its start dates matter). Every family is present;
    the loader uses this to set each family's load period (END-03 reads 10 years of PMSI).
    """
    out: dict[str, dt.date] = {}
    for prog in (programmes or load_programmes()).values():
        for key in ("mt_care_window", "specialist_contact_window"):
            if key in prog.params:
                d0, _ = resolve_window(str(prog.params[key].value), year)
                if "DCIR" not in out or d0 < out["DCIR"]:
                    out["DCIR"] = d0
        for ind in prog.indicators:
            scope = {c.name: c for c in (*ind.denominator, *ind.numerator)}
            for c in scope.values():
                _condition_reads(c, scope, year, out)
            if ind.boxes:
                d0, _ = resolve_window(ind.boxes["window"], year)
                if "DCIR" not in out or d0 < out["DCIR"]:
                    out["DCIR"] = d0
    first = dt.date(year, 1, 1)
    return {f: out.get(f, first) for f in FAMILIES}


def observation_end(year: int, programmes: dict[str, ProgrammeDef] | None = None) -> dt.date:
    """Latest date of care any definition reads for payment year ``year`` (its cohort lag)."""
    progs = programmes or load_programmes()
    return max(i.observation_end_date(year) for p in progs.values() for i in p.indicators)
