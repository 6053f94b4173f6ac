"""A reform as data: a TOML file that overrides dated parameters and catalogue cells.

Format (see `reforms/*.toml` and docs/reform.md):

    [reform]
    title = "Valeur du point à 7,50 €"
    description = "…"
    year = 2018                       # optional; default: the run's year

    [parameters]                      # any parameter of rosp/catalogue/parameters.toml
    point_value = "7.50"
    "scoring.intermediate_share" = "0.50"
    "reference_patientele.mt-enfant" = "700"

    [[indicators]]                    # catalogue cells, by indicator id
    id = "ENF-01"
    intermediate = "0.50"
    target = "0.85"
    points = 40
    threshold = 5

    [objectives]                      # reset objectives from the run's own distribution
    method = "percentiles"
    intermediate = 30                 # percentile of the observed rates (performance order)
    target = 80
    precision = "0.001"
    programmes = ["mt-enfant"]        # optional; default: every programme

    [safeguard]                       # optional reference totals (default: the run's total)
    previous_total = "1000000.00"
    baseline_total = "1000000.00"

Nothing is changed on disk: overrides are applied in memory to a loaded
catalogue. Every error names the line of the TOML file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rosp.catalogue import Catalogue, load_catalogue, load_parameters
from rosp.catalogue.parameters import ParameterError
from rosp.errors import RospError

INDICATOR_FIELDS = ("intermediate", "target", "points", "threshold")
OBJECTIVE_KEYS = ("method", "intermediate", "target", "precision", "programmes")
SAFEGUARD_KEYS = ("previous_total", "baseline_total")
REFORM_KEYS = ("title", "description", "year")
TOP_TABLES = ("reform", "parameters", "indicators", "objectives", "safeguard")


class ReformError(RospError):
    """A reform file names something unknown or gives an impossible value.

    Located by `line`, the 1-based line of the TOML file (`RospError`'s line-only form),
    and `column`, the key on it."""


@dataclass(frozen=True)
class IndicatorOverride:
    id: str
    values: dict[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Objectives:
    intermediate: int
    target: int
    precision: Decimal
    programmes: tuple[str, ...] | None
    line: int | None = None


@dataclass(frozen=True)
class Reform:
    """A parsed, validated reform."""

    title: str
    description: str
    parameters: dict[str, str]
    indicators: tuple[IndicatorOverride, ...] = ()
    objectives: Objectives | None = None
    safeguard: dict[str, Decimal] = field(default_factory=dict)
    year: int | None = None
    source: str = "<reform>"
    text: str = ""
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def is_identity(self) -> bool:
        return not self.parameters and not self.indicators and self.objectives is None


# --------------------------------------------------------------------------- locating lines

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _line_index(text: str) -> dict[tuple[str, int, str], int]:
    """(table, occurrence, key) -> 1-based line, by a line scan of the TOML text.

    Good enough for the flat files a reform is (tables of `key = value` lines)."""
    index: dict[tuple[str, int, str], int] = {}
    table, occ = "", 0
    counts: dict[str, int] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(raw)
        if m:
            table = m.group(1).strip().strip('"')
            occ = counts.get(table, 0)
            counts[table] = occ + 1
            index.setdefault((table, occ, ""), no)
            continue
        km = re.match(r"^\s*(\"[^\"]+\"|'[^']+'|[A-Za-z0-9_.\-]+)\s*=", raw)
        if km:
            key = km.group(1).strip("\"'")
            index.setdefault((table, occ, key), no)
    return index


class _Locator:
    def __init__(self, text: str, source: str):
        self.index = _line_index(text)
        self.source = source

    def line(self, table: str, key: str = "", occ: int = 0) -> int | None:
        return self.index.get((table, occ, key)) or self.index.get((table, occ, ""))

    def error(self, reason: str, table: str, key: str = "", occ: int = 0) -> ReformError:
        return ReformError(reason, file=self.source, line=self.line(table, key, occ), column=key or None)


# --------------------------------------------------------------------------- parsing


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or isinstance(value, float):
        return None
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def parse_reform(text: str, source: str = "<reform>") -> Reform:
    """Parse and validate the structure of a reform (names are checked in `apply`)."""
    loc = _Locator(text, source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column (\d+)", str(exc))
        row = int(m.group(1)) if m else None
        raise ReformError(f"TOML invalide : {exc}", file=source, line=row) from None
    return from_mapping(raw, source=source, text=text, loc=loc)


def from_mapping(raw: dict[str, Any], *, source: str = "<reform>", text: str = "", loc: _Locator | None = None) -> Reform:
    """Build a reform from a parsed mapping (TOML or the JSON of the API)."""
    loc = loc or _Locator(text, source)
    for key in raw:
        if key not in TOP_TABLES:
            raise loc.error(f"table inconnue [{key}] ; attendu : {', '.join(TOP_TABLES)}", key)
    head = raw.get("reform", {})
    if not isinstance(head, dict):
        raise loc.error("[reform] doit être une table", "reform")
    for key in head:
        if key not in REFORM_KEYS:
            raise loc.error(f"clé inconnue {key!r} dans [reform]", "reform", key)
    title = head.get("title")
    if not isinstance(title, str) or not title.strip():
        raise loc.error("[reform] title : un titre (texte non vide) est obligatoire", "reform", "title")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise loc.error("[reform] description : texte attendu", "reform", "description")
    year = head.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise loc.error("[reform] year : année entière attendue", "reform", "year")

    params_raw = raw.get("parameters", {})
    if not isinstance(params_raw, dict):
        raise loc.error("[parameters] doit être une table", "parameters")
    params: dict[str, str] = {}
    for name, value in _flat(params_raw).items():
        if isinstance(value, bool | float | dict | list):
            raise loc.error(
                f"paramètre {name} : écrire la valeur entre guillemets (ex. \"7.50\") pour qu'elle reste exacte",
                "parameters", name,
            )
        params[name] = str(value)

    inds_raw = raw.get("indicators", [])
    if not isinstance(inds_raw, list):
        raise loc.error("[[indicators]] doit être une liste de tables", "indicators")
    inds = []
    for occ, row in enumerate(inds_raw):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise loc.error("[[indicators]] : chaque ligne doit avoir un id (ex. \"ENF-01\")", "indicators", "id", occ)
        values: dict[str, Any] = {}
        for key, value in row.items():
            if key == "id":
                continue
            if key not in INDICATOR_FIELDS:
                raise loc.error(
                    f"indicateur {row['id']} : champ inconnu {key!r} ; modifiables : {', '.join(INDICATOR_FIELDS)}",
                    "indicators", key, occ,
                )
            if key in ("intermediate", "target"):
                d = _decimal(value) if isinstance(value, str) else None
                if d is None:
                    raise loc.error(
                        f"indicateur {row['id']} : {key} doit être un taux écrit en texte, ex. \"0.45\"",
                        "indicators", key, occ,
                    )
                if not Decimal(0) <= d <= Decimal(1):
                    raise loc.error(f"indicateur {row['id']} : {key} = {d} hors de [0, 1]", "indicators", key, occ)
                values[key] = d
            else:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise loc.error(f"indicateur {row['id']} : {key} doit être un entier", "indicators", key, occ)
                if key == "points" and value <= 0:
                    raise loc.error(f"indicateur {row['id']} : points = {value} doit être > 0", "indicators", key, occ)
                if key == "threshold" and value < 0:
                    raise loc.error(f"indicateur {row['id']} : threshold = {value} doit être ≥ 0", "indicators", key, occ)
                values[key] = value
        inds.append(IndicatorOverride(row["id"], values, loc.line("indicators", "id", occ)))

    objectives = None
    obj = raw.get("objectives")
    if obj is not None:
        if not isinstance(obj, dict):
            raise loc.error("[objectives] doit être une table", "objectives")
        for key in obj:
            if key not in OBJECTIVE_KEYS:
                raise loc.error(f"clé inconnue {key!r} dans [objectives]", "objectives", key)
        if obj.get("method", "percentiles") != "percentiles":
            raise loc.error("[objectives] method : seule « percentiles » est prise en charge", "objectives", "method")
        pi, pt = obj.get("intermediate"), obj.get("target")
        for key, v in (("intermediate", pi), ("target", pt)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100:
                raise loc.error(f"[objectives] {key} : centile entier entre 0 et 100 attendu", "objectives", key)
        if not pi < pt:
            raise loc.error(
                f"[objectives] le centile de l'objectif intermédiaire ({pi}) doit être inférieur à celui de la cible ({pt})",
                "objectives", "target",
            )
        precision = _decimal(obj.get("precision", "0.001")) if isinstance(obj.get("precision", "0.001"), str) else None
        if precision is None or precision <= 0 or precision > 1:
            raise loc.error("[objectives] precision : pas décimal en texte, ex. \"0.001\"", "objectives", "precision")
        progs = obj.get("programmes")
        if progs is not None and (not isinstance(progs, list) or not all(isinstance(p, str) for p in progs)):
            raise loc.error("[objectives] programmes : liste de programmes attendue", "objectives", "programmes")
        objectives = Objectives(pi, pt, precision, tuple(progs) if progs is not None else None, loc.line("objectives"))

    sg_raw = raw.get("safeguard", {})
    if not isinstance(sg_raw, dict):
        raise loc.error("[safeguard] doit être une table", "safeguard")
    safeguard: dict[str, Decimal] = {}
    for key, value in sg_raw.items():
        if key not in SAFEGUARD_KEYS:
            raise loc.error(f"clé inconnue {key!r} dans [safeguard]", "safeguard", key)
        d = _decimal(value) if isinstance(value, str) else None
        if d is None or d < 0:
            raise loc.error(f"[safeguard] {key} : montant positif en texte attendu, ex. \"1000000.00\"", "safeguard", key)
        safeguard[key] = d

    lines = {f"parameters.{k}": loc.line("parameters", k) or 0 for k in params}
    lines["reform.year"] = loc.line("reform", "year") or 0
    for occ, o in enumerate(inds):
        lines[f"indicators.{o.id}"] = loc.line("indicators", "id", occ) or 0
        for key in o.values:
            lines[f"indicators.{o.id}.{key}"] = loc.line("indicators", key, occ) or 0
    if objectives is not None:
        lines["objectives.programmes"] = loc.line("objectives", "programmes") or 0
    return Reform(
        title=title.strip(),
        description=description,
        parameters=params,
        indicators=tuple(inds),
        objectives=objectives,
        safeguard=safeguard,
        year=year,
        source=source,
        text=text,
        lines=lines,
    )


def _flat(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"scoring": {"intermediate_share": "0.5"}} and {"scoring.intermediate_share": "0.5"} alike."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load_reform(path: Path | str) -> Reform:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReformError(f"fichier de réforme illisible : {exc.strerror}", file=str(path)) from None
    return parse_reform(text, source=str(path))


# --------------------------------------------------------------------------- applying

#: Parameters whose value is a number, with the bounds a value must respect.
_NUMERIC_BOUNDS: dict[str, tuple[Decimal | None, Decimal | None, bool]] = {
    # name: (minimum, maximum, minimum is exclusive)
    "point_value": (Decimal(0), None, False),
    "scoring.intermediate_share": (Decimal(0), Decimal(1), False),
    "safeguard.drop_threshold": (Decimal(0), Decimal(1), False),
}


def _error_at(reform: Reform, key: str, reason: str) -> ReformError:
    row = reform.lines.get(key) or reform.lines.get(".".join(key.split(".")[:2])) or None
    column = key.split(".", 1)[1] if key.startswith("parameters.") else None
    if key.startswith("indicators.") and key.count(".") >= 2:
        column = key.rsplit(".", 1)[1]
    return ReformError(reason, file=reform.source, line=row, column=column)


def _check_parameters(reform: Reform, year: int) -> None:
    base = load_parameters()
    known = set(base.names)
    for name, value in reform.parameters.items():
        key = f"parameters.{name}"
        if name not in known:
            hint = ""
            if name.startswith("reference_patientele."):
                hint = f" (programme inconnu : {name.split('.', 1)[1]!r})"
            raise _error_at(reform, key, f"paramètre inconnu {name!r}{hint}")
        if name.startswith("reference_patientele."):
            if not re.fullmatch(r"\d+", value) or int(value) <= 0:
                raise _error_at(reform, key, f"{name} = {value!r} : nombre entier de patients > 0 attendu")
        elif name in _NUMERIC_BOUNDS:
            d = _decimal(value)
            lo, hi, _ = _NUMERIC_BOUNDS[name]
            if d is None:
                raise _error_at(reform, key, f"{name} = {value!r} : nombre décimal attendu")
            if lo is not None and d < lo:
                raise _error_at(reform, key, f"{name} = {value} : valeur impossible (doit être ≥ {lo})")
            if hi is not None and d > hi:
                raise _error_at(reform, key, f"{name} = {value} : valeur impossible (doit être ≤ {hi})")
        elif name == "scoring.patientele_cap":
            d = _decimal(value)
            if value != "none" and (d is None or d <= 0):
                raise _error_at(reform, key, f"{name} = {value!r} : « none » ou un plafond > 0 attendu")
        elif name == "scoring.progression_normalisation" and value not in ("intermediate", "target"):
            raise _error_at(reform, key, f"{name} = {value!r} : « intermediate » ou « target » attendu")
        try:
            base.with_overrides({name: value}).get(name, year)
        except ParameterError as exc:
            raise _error_at(reform, key, exc.reason) from None


def apply_reform(reform: Reform, year: int, rates: Any = None) -> Catalogue:
    """The catalogue of `year` with the reform's overrides, validated.

    `rates` (DataFrame indicator_id, rate of non-neutralised doctors) is needed
    only by `[objectives]`."""
    _check_parameters(reform, year)
    params = load_parameters().with_overrides(reform.parameters)
    catalogue = load_catalogue(year, params=params)
    by_id = {o.id: o for o in reform.indicators}
    known = catalogue.indicators
    for o in reform.indicators:
        if o.id not in known:
            raise _error_at(reform, f"indicators.{o.id}", f"indicateur inconnu {o.id!r} pour {year}")
    if reform.objectives and reform.objectives.programmes:
        slugs = {p.slug for p in catalogue.programmes}
        for s in reform.objectives.programmes:
            if s not in slugs:
                raise ReformError(f"[objectives] programme inconnu {s!r} pour {year}", file=reform.source,
                                  line=reform.lines.get("objectives.programmes") or reform.objectives.line,
                                  column="programmes")
    objectives = _percentile_objectives(reform.objectives, catalogue, rates) if reform.objectives else {}
    programmes = []
    for p in catalogue.programmes:
        inds = []
        for ind in p.indicators:
            update: dict[str, Any] = dict(objectives.get(ind.id, {}))
            if ind.id in by_id:
                update.update(by_id[ind.id].values)
            if update:
                new = ind.model_copy(update=update)
                _check_order(reform, new, by_id[ind.id].values if ind.id in by_id else {})
                if "intermediate" in update:
                    new = new.model_copy(update={"printed_intermediate": _printed(new, new.intermediate)})
                if "target" in update:
                    new = new.model_copy(update={"printed_target": _printed(new, new.target)})
                ind = new
            inds.append(ind)
        programmes.append(
            dataclasses.replace(p, indicators=tuple(inds), total_points=sum(i.points for i in inds))
        )
    return dataclasses.replace(catalogue, programmes=tuple(programmes))


def _printed(ind: Any, value: Decimal) -> str:
    sign = "≥" if ind.direction == "higher" else "≤"
    pct = (value * 100).normalize()
    return f"{sign} {pct:f} %".replace(".", ",")


def _check_order(reform: Reform, ind: Any, changed: dict[str, Any]) -> None:
    where = next((f"indicators.{ind.id}.{k}" for k in ("target", "intermediate") if k in changed),
                 f"indicators.{ind.id}")
    ok = ind.intermediate < ind.target if ind.direction == "higher" else ind.intermediate > ind.target
    if not ok:
        sense = "≥" if ind.direction == "higher" else "≤"
        need = "inférieur" if ind.direction == "higher" else "supérieur"
        raise _error_at(
            reform,
            where,
            f"indicateur {ind.id} ({sense}) : valeur impossible, l'objectif intermédiaire "
            f"({ind.intermediate}) doit être {need} à la cible ({ind.target})",
        )


def _percentile_objectives(obj: Objectives, catalogue: Catalogue, rates: Any) -> dict[str, dict[str, Decimal]]:
    """Objectives at the given percentiles of the run's observed rates (nearest rank).

    Performance order: for a ≤ indicator the P30 of performance is the P70 of rates."""
    import numpy as np

    if rates is None:
        raise ReformError("[objectives] : il faut un run pour calculer les centiles", line=obj.line)
    out: dict[str, dict[str, Decimal]] = {}
    grouped = {k: g["rate"].to_numpy(dtype=float) for k, g in rates.groupby("indicator_id")}
    for p in catalogue.programmes:
        if obj.programmes is not None and p.slug not in obj.programmes:
            continue
        for ind in p.indicators:
            values = grouped.get(ind.id)
            if values is None:
                continue
            values = values[~np.isnan(values)]
            if len(values) < 2:
                continue
            qi, qt = (obj.intermediate, obj.target) if ind.direction == "higher" else (100 - obj.intermediate, 100 - obj.target)
            vi = float(np.percentile(values, qi, method="inverted_cdf"))
            vt = float(np.percentile(values, qt, method="inverted_cdf"))
            di = Decimal(repr(vi)).quantize(obj.precision)
            dt = Decimal(repr(vt)).quantize(obj.precision)
            ok = di < dt if ind.direction == "higher" else di > dt
            if ok:  # a degenerate distribution keeps the catalogue's objectives
                out[ind.id] = {"intermediate": di, "target": dt}
    return out
