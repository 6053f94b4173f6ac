"""One source per fact: catalogue × definitions × parameters × synthetic calibration.

``check_consistency(year)`` returns the list of disagreements (empty when the four
sources agree); ``rosp catalogue validate`` can print it. Each fact has one home:

* the catalogue table (``rosp/catalogue/tables``): ids, labels, specialties,
  objectives, seuils, "Déclaratif", patientèle basis;
* the definitions (``rosp/indicators/definitions``): how each indicator is
  computed, with its ``$params`` (value, source, confidence);
* the dated parameters (``rosp/catalogue/parameters.toml``): weighting references;
* the synthetic calibration (``rosp/synth/calibration.py``) reads the objectives
  from the catalogue and must cover every indicator.
"""

from __future__ import annotations

from rosp.indicators.codelists import CONFIDENCES, list_codelists
from rosp.indicators.definitions import load_programmes

_BASIS = {"mt": "mt", "specialist": "specialist"}


def check_consistency(year: int = 2018) -> list[str]:
    from rosp.catalogue.model import load_catalogue
    from rosp.catalogue.parameters import load_parameters

    problems: list[str] = []
    cat = load_catalogue(year)
    params = load_parameters()
    defs = load_programmes()
    cat_slugs = {p.slug for p in cat.programmes}
    if cat_slugs != set(defs):
        problems.append(f"programmes: catalogue {sorted(cat_slugs)} vs definitions {sorted(defs)}")
    for slug, prog in defs.items():
        if slug not in cat_slugs:
            continue
        table = cat.programme(slug)
        if _BASIS.get(prog.basis) != table.patientele_basis:
            problems.append(f"{slug}: basis {prog.basis} vs catalogue patientele_basis {table.patientele_basis}")
        if tuple(prog.specialties) != tuple(table.specialties):
            problems.append(f"{slug}: specialties {prog.specialties} vs catalogue {table.specialties}")
        try:
            params.get(f"reference_patientele.{slug}", year)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            problems.append(f"{slug}: no reference_patientele parameter for {year}: {exc}")
        ids = [i.id for i in table.indicators]
        if [i.id for i in prog.indicators] != ids:
            problems.append(f"{slug}: definition ids {[i.id for i in prog.indicators]} vs catalogue {ids}")
        for ci in table.indicators:
            try:
                d = prog.indicator(ci.id)
            except KeyError:
                continue
            if d.label != ci.label:
                problems.append(f"{ci.id}: label differs from the catalogue")
            if ci.declarative and not d.declared:
                problems.append(f"{ci.id}: 'Déclaratif' in the catalogue but computed from claims")
            if d.kind == "declarative" and not ci.declarative and d.provenance != "inferred":
                problems.append(f"{ci.id}: declarative definition of a non-declarative row must be an inferred reading")
            if (ci.threshold_unit == "boites") != (d.kind == "boxes"):
                problems.append(f"{ci.id}: unit {ci.threshold_unit} vs definition kind {d.kind}")
            for p in (*d.params.values(),):
                if not p.source or p.confidence not in CONFIDENCES:
                    problems.append(f"{ci.id}: parameter {p.name} needs source and confidence")
            for name in d.codelists():
                if name not in list_codelists():
                    problems.append(f"{ci.id}: unknown code list {name}")
    problems += _check_synth(cat, defs)
    return problems


def _check_synth(cat, defs) -> list[str]:
    from rosp.synth import calibration, codes

    out: list[str] = []
    specs = calibration.SPEC_BY_ID
    for table in cat.programmes:
        for ci in table.indicators:
            s = specs.get(ci.id)
            if s is None:
                out.append(f"{ci.id}: no synthetic calibration")
                continue
            got = (s.programme, s.intermediate, s.target, s.lower_is_better, s.minimum)
            want = (table.slug, float(ci.intermediate), float(ci.target), ci.direction == "lower", int(ci.threshold))
            if got != want:
                out.append(f"{ci.id}: synthetic calibration {got} vs catalogue {want}")
            d = defs[table.slug].indicator(ci.id) if table.slug in defs else None
            if d is not None and s.declarative != (d.kind == "declarative"):
                out.append(f"{ci.id}: synthetic 'declarative' {s.declarative} vs definition kind {d.kind}")
            if d is not None and not s.declarative and d.kind != "boxes" and ci.id not in calibration.ADJUST:
                out.append(f"{ci.id}: computed indicator without a calibration adjustment")
    for name, (_kind, shared, _narrow) in codes.POOLS.items():
        if shared is not None and shared not in list_codelists():
            out.append(f"synthetic pool {name}: unknown code list {shared}")
    return out
