"""The catalogue: indicator tables as data, validated by schema and business checks.

Tables live in `tables/<valid_from>/<slug>.toml`. A table applies from its
`valid_from` year until a later table of the same programme replaces it
("à compter de l'année 2018"), and never after the end of validity of its
programme (dated parameter ``validity.<slug>``, the last ROSP year it pays).
A year with no table in force is an error (`NoTableInForce`): nothing is
invented and no older table is reused.

How each indicator is measured (`Indicator.measurement`, "claims" or
"declaration") is resolved for the year: the seed's « Déclaratif » flag
(`declarative`, kept verbatim) gives "declaration"; any departure from it is the
dated parameter ``measurement.<ID>`` with its source.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rosp.catalogue.parameters import ParameterError, Parameters, load_parameters
from rosp.errors import RospError

#: Commitments of L.162-5 21° CSS (LFSS 2010, amendment n° 363, seed 000).
CATEGORIES: dict[str, str] = {
    "prescription": "Prescription",
    "depistage-prevention": "Participation à des actions de dépistage et de prévention",
    "continuite-coordination": "Actions destinées à favoriser la continuité et la coordination des soins",
    "permanence-des-soins": "Participation à la permanence de soins",
    "controle-medical": "Contrôle médical",
    "amelioration-pratiques": "Amélioration des pratiques, de la formation et de l'information des professionnels",
}
CATEGORY_SOURCE = "Code de la sécurité sociale, art. L.162-5 21° (LFSS 2010, amendement n° 363) ; classement des indicateurs : lecture du projet [INF]"


class CatalogueError(RospError):
    """The catalogue is malformed or inconsistent; the message names file and field."""


class NoTableInForce(CatalogueError):
    """No conventional table is in force for the requested ROSP year."""

    def __init__(self, year: int):
        super().__init__(f"no table in force for {year}")
        self.year = year


MEASUREMENTS = ("claims", "declaration")


def _rate(value: str) -> Decimal:
    d = Decimal(value)
    if not (Decimal(0) <= d <= Decimal(1)):
        raise ValueError(f"rate {value} outside [0, 1]")
    return d


class Indicator(BaseModel):
    """One row of a conventional table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    programme: str = ""
    theme: str = Field(min_length=1)
    sub_theme: str = Field(min_length=1)
    label: str = Field(min_length=1)
    intermediate: Decimal
    target: Decimal
    printed_intermediate: str
    printed_target: str
    direction: Literal["higher", "lower"]
    threshold: int = Field(ge=0)
    threshold_unit: Literal["patients", "boites"]
    points: int = Field(gt=0)
    declarative: bool
    category: str
    source: str = ""
    #: resolved at load time ("claims" or "declaration"); never written in a table
    measurement: Literal["claims", "declaration"] = "claims"
    #: the source of the measurement: the seed flag or the parameter that departs from it
    measurement_source: str = ""

    @field_validator("intermediate", "target", mode="before")
    @classmethod
    def _check_rate(cls, v: object) -> Decimal:
        if isinstance(v, float):
            raise ValueError("write rates as strings (e.g. \"0.43\") so they stay exact")
        return _rate(str(v))

    @field_validator("category")
    @classmethod
    def _check_category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"unknown category {v!r}; expected one of {sorted(CATEGORIES)}")
        return v


class ProgrammeHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z-]+$")
    name: str
    title: str
    valid_from: int
    total_points: int = Field(gt=0)
    specialties: list[int]
    patientele_basis: Literal["mt", "specialist"]
    legal_source: str


@dataclass(frozen=True)
class Programme:
    """A programme's table for a year, with its weighting parameters."""

    slug: str
    name: str
    title: str
    valid_from: int
    total_points: int
    specialties: tuple[int, ...]
    patientele_basis: str
    legal_source: str
    reference_patientele: int
    point_value: Decimal
    indicators: tuple[Indicator, ...]
    path: str

    valid_until: int | None = None

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)


@dataclass(frozen=True)
class Catalogue:
    """All programmes in force for a ROSP year."""

    year: int
    programmes: tuple[Programme, ...]
    params: Parameters
    version: str
    content_sha256: str

    def programme(self, slug: str) -> Programme:
        for p in self.programmes:
            if p.slug == slug:
                return p
        raise KeyError(f"no programme {slug!r} in the {self.year} catalogue")

    @property
    def indicators(self) -> dict[str, Indicator]:
        return {i.id: i for p in self.programmes for i in p.indicators}


def tables_dir() -> Path:
    return Path(str(resources.files("rosp.catalogue") / "tables"))


def _validate_table(path: Path, raw: dict) -> tuple[ProgrammeHeader, list[Indicator]]:
    """Schema validation, then the business checks of one table file."""
    try:
        header = ProgrammeHeader(**raw.get("programme", {}))
    except ValidationError as exc:
        raise CatalogueError(f"{path}: [programme] {_fmt(exc)}") from None
    source = f"{header.legal_source} ; tableau « {header.title} »"
    indicators: list[Indicator] = []
    for n, row in enumerate(raw.get("indicators", []), start=1):
        rid = row.get("id", f"#{n}")
        for derived in ("measurement", "measurement_source"):
            if derived in row:
                raise CatalogueError(
                    f"{path}: indicator {rid}: field {derived} is resolved from the seed flag "
                    "'declarative' and the parameter measurement.<ID>; do not write it in a table"
                )
        try:
            ind = Indicator(programme=header.slug, source=source, **row)
        except ValidationError as exc:
            raise CatalogueError(f"{path}: indicator {rid}: {_fmt(exc)}") from None
        indicators.append(ind)
    if not indicators:
        raise CatalogueError(f"{path}: no [[indicators]] rows")
    seen: set[str] = set()
    for ind in indicators:
        if ind.id in seen:
            raise CatalogueError(f"{path}: duplicate indicator id {ind.id}")
        seen.add(ind.id)
        # Objectives must be ordered consistently with the direction.
        if ind.direction == "higher" and not ind.intermediate < ind.target:
            raise CatalogueError(
                f"{path}: indicator {ind.id}: direction 'higher' needs intermediate < target "
                f"(got {ind.intermediate} and {ind.target})"
            )
        if ind.direction == "lower" and not ind.intermediate > ind.target:
            raise CatalogueError(
                f"{path}: indicator {ind.id}: direction 'lower' needs intermediate > target "
                f"(got {ind.intermediate} and {ind.target})"
            )
        if ind.printed_target.startswith("≤") and ind.direction != "lower":
            raise CatalogueError(f"{path}: indicator {ind.id}: printed target '≤' but direction is 'higher'")
        if ind.printed_target.startswith("≥") and ind.direction != "higher":
            raise CatalogueError(f"{path}: indicator {ind.id}: printed target '≥' but direction is 'lower'")
        if ind.threshold_unit == "boites" and "boîtes" not in ind.label:
            raise CatalogueError(f"{path}: indicator {ind.id}: unit 'boites' on a patient indicator")
    total = sum(i.points for i in indicators)
    if total != header.total_points:
        raise CatalogueError(
            f"{path}: points sum to {total}, but the published total is {header.total_points}"
        )
    return header, indicators


def _fmt(exc: ValidationError) -> str:
    return "; ".join(
        f"field {'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in exc.errors()
    )


def load_catalogue(
    year: int, root: Path | None = None, params: Parameters | None = None
) -> Catalogue:
    """Load and validate every programme table in force for ROSP `year`."""
    root = root or tables_dir()
    params = params or load_parameters()
    latest: dict[str, tuple[int, Path, dict]] = {}
    digest = hashlib.sha256()
    for path in sorted(root.glob("*/*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: invalid TOML: {exc}") from None
        valid_from = int(raw.get("programme", {}).get("valid_from", path.parent.name))
        slug = raw.get("programme", {}).get("slug", path.stem)
        if valid_from <= year and (slug not in latest or latest[slug][0] < valid_from):
            latest[slug] = (valid_from, path, raw)
    until: dict[str, int | None] = {slug: _valid_until(params, slug, year) for slug in latest}
    latest = {slug: v for slug, v in latest.items() if until[slug] is None or year <= until[slug]}
    if not latest:
        raise NoTableInForce(year)
    programmes = []
    point_value = params.get("point_value", year).decimal if latest else Decimal(0)
    for slug in sorted(latest):
        _, path, raw = latest[slug]
        digest.update(path.read_bytes())
        header, indicators = _validate_table(path, raw)
        indicators = [_resolve_measurement(ind, params, year) for ind in indicators]
        try:
            ref = params.get(f"reference_patientele.{slug}", year).integer
        except Exception as exc:  # a table with no weighting parameter cannot be paid
            raise CatalogueError(f"{path}: {exc}") from None
        programmes.append(
            Programme(
                slug=header.slug,
                name=header.name,
                title=header.title,
                valid_from=header.valid_from,
                total_points=header.total_points,
                specialties=tuple(header.specialties),
                patientele_basis=header.patientele_basis,
                legal_source=header.legal_source,
                reference_patientele=ref,
                point_value=point_value,
                indicators=tuple(indicators),
                path=str(path.relative_to(root)),
                valid_until=until[slug],
            )
        )
    all_ids = [i.id for p in programmes for i in p.indicators]
    dupes = {i for i in all_ids if all_ids.count(i) > 1}
    if dupes:
        raise CatalogueError(f"indicator ids used in several programmes: {sorted(dupes)}")
    return Catalogue(
        year=year,
        programmes=tuple(programmes),
        params=params,
        version=params.catalogue_version,
        content_sha256=digest.hexdigest(),
    )


def _valid_until(params: Parameters, slug: str, year: int) -> int | None:
    """Last ROSP year a programme's tables pay (parameter ``validity.<slug>``); None: open."""
    name = f"validity.{slug}"
    if name not in params.names:
        return None
    try:
        value = params.get(name, year).text
    except ParameterError:
        return None
    return None if value.strip() in ("", "open") else int(value)


def _resolve_measurement(ind: Indicator, params: Parameters, year: int) -> Indicator:
    """The seed flag, or the dated parameter ``measurement.<ID>`` that departs from it."""
    if ind.declarative:
        measurement, source = "declaration", f"{ind.source} : « Déclaratif »"
    else:
        measurement, source = "claims", f"{ind.source} (indicateur non déclaratif)"
    name = f"measurement.{ind.id}"
    if name in params.names:
        try:
            p = params.get(name, year)
        except ParameterError:
            p = None
        if p is not None:
            if p.text not in MEASUREMENTS:
                raise CatalogueError(f"parameter {name}: expected one of {MEASUREMENTS}, got {p.text!r}")
            measurement, source = p.text, f"paramètre {name} ({p.confidence}) : {p.source}"
    return ind.model_copy(update={"measurement": measurement, "measurement_source": source})
