"""Render ``docs/indicators.md`` from the TOML definitions and code lists.

``python -m rosp.indicators.docs > docs/indicators.md``; a test checks the file is
up to date.
"""

from __future__ import annotations

from typing import Any

from rosp.indicators.codelists import load_codelist
from rosp.indicators.definitions import Condition, IndicatorDef, ProgrammeDef, load_programmes

_BASIS = {
    "mt": "patients MT « consommants et fidèles » (déclaration MT active au 31/12/N et ≥ 1 soin remboursé en N), de moins de 16 ans",
    "specialist": "patientèle correspondante: ≥ 2 contacts (dates distinctes) avec le médecin en 24 mois",
}


def _arg(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def _cond(c: Condition, raw_params: set[str]) -> str:
    args = {k: v for k, v in c.args.items() if k != "of"}
    parts = ", ".join(f"{k}={_arg(v)}" for k, v in args.items())
    s = f"`{c.name}`: {'NOT ' if c.negate else ''}{c.block}({parts})"
    if c.block == "any_of":
        s += " of " + "; ".join(_cond(x, raw_params).split(": ", 1)[1] for x in c.args["of"])
    return s


def _lists(ind: IndicatorDef) -> str:
    out = []
    for name in ind.codelists():
        cl = load_codelist(name)
        codes = ", ".join(e.code + ("*" if e.match == "prefix" else "") for e in cl.entries)
        out.append(f"`{name}` ({codes})")
    return "; ".join(out)


def render_indicator(ind: IndicatorDef, prog: ProgrammeDef) -> str:
    lines = [f"### {ind.id} — {ind.label}", ""]
    lines.append(
        f"- **Type**: {ind.kind}. **Provenance**: {ind.provenance} ({ind.source}); **confidence**: {ind.confidence}."
    )
    if not ind.payable:
        lines.append(
            "- **PROVISIONAL, not payable** (parameter `payable` = false, see its source): counts are computed "
            "and shown, the indicator earns no points until the definition is fixed."
        )
    if ind.observation_end != "N":
        lines.append(f"- **Observation end**: {ind.observation_end} (care after this date is not read).")
    if ind.measurement == "declarations":
        lines.append(
            "- **Measured from the declarations** (parameter `measurement` = declarations, see its source): "
            "the claims definition below is the alternative, selected with `measurement` = claims."
        )
    if ind.kind == "declarative":
        lines.append("- Rate, numerator and denominator come from the `declarations` view (doctor's declaration).")
    elif ind.kind == "boxes":
        lines.append(
            f"- **Denominator**: boxes of `{ind.boxes['list']}` prescribed by the doctor (prescriber = doctor) "
            f"and delivered in window {ind.boxes['window']}; **numerator**: those boxes whose CIP13 has a "
            "generic group (`PHA_GRS_NUM` not null). Evidence: one row per patient with `den_units`/`num_units`."
        )
        lines.append(f"- **Codes**: {_lists(ind)}.")
    else:
        lines.append(f"- **Patientèle**: {_BASIS[prog.basis]}.")
        lines.append("- **Denominator** (all of; deceased by 31/12/N excluded" + ("" if ind.exclude_deceased else " — not applied") + "):")
        for c in ind.denominator:
            lines.append(f"  - {_cond(c, set())}")
        lines.append("- **Numerator** (all of, within the denominator):")
        for c in ind.numerator:
            lines.append(f"  - {_cond(c, set())}")
        lines.append(f"- **Codes**: {_lists(ind)}.")
    if ind.notes:
        lines.append(f"- **Note**: {ind.notes}")
    if ind.params:
        lines.append("- **Parameters** (indicator):")
        for p in ind.params.values():
            lines.append(f"  - `{p.name}` = {_arg(p.value)} — {p.source} ({p.confidence})")
    lines.append("")
    return "\n".join(lines)


def render_markdown() -> str:
    out = [
        "# Indicators: computed definitions",
        "",
        "Generated from `rosp/indicators/definitions/*.toml` and `rosp/indicators/codelists/*.csv` by",
        "`python -m rosp.indicators.docs > docs/indicators.md` (a test keeps it in sync). Payment year N;",
        "windows `N`, `N-k`, `N-a:N-b` are calendar years (`N-1/07-01` is a day); no care after the",
        "indicator's observation end (31/12/N unless stated) is read, whatever the extraction date;",
        "the age reference date is 31/12/N unless stated;",
        "`min_count` counts distinct dates (or summed quantities when `count=units`); codes ending in `*`",
        "are prefixes. Every inferred choice is a named parameter with its source and confidence.",
        "",
        "Building blocks: `has_events`/`has_deliveries`/`has_bio`/`has_ccam`/`has_service`(list, window,",
        "min_count, count, min_age_months, max_age_months: age at the event), `has_hospital_dx`(list, window,",
        "kinds), `has_ald`(list, window, dated: overlap|start), `hospital_stay_with`(dx_list, act_list, window),",
        "`distinct_groups`(list, window, min_groups, min_count_per_group, same_day, concurrent_days),",
        "`first_event`(list, window, lookback_days), `has_events_relative`(list, anchor, from_days, to_days,",
        "min_count, prescriber, anchor_events: first|all), `has_stay_relative`(anchor, from_days, to_days,",
        "dx_list, kinds), `events_in_each_period`(list, anchor, period_days, n_periods),",
        "`age_between`(min_months, max_months, at, anchor), `age_years_in`(years, at),",
        "`birthday_in`(years, window), `any_of`(of).",
        "The first denominator condition is the population trigger: evidence rows are written for the",
        "doctor's patients who satisfy it. Reason codes: `numerator`, `not_numerator:<condition>`,",
        "`excluded:<condition>`, `excluded:deceased`, `boxes`.",
        "",
        "Labels, specialties and the list of indicators are read from the catalogue table named by",
        "`[programme] table` (one source per fact; `rosp.indicators.consistency.check_consistency`",
        "checks catalogue × definitions × parameters × synth). A definition with parameter",
        "`payable = false` is provisional: `IndicatorDef.payable` is False (`status` \"provisional\")",
        "and scoring must neutralise it. Load periods follow the windows:",
        "`rosp.indicators.definitions.earliest_read_dates(year)` gives, per table family, the",
        "earliest date of care any definition reads; for 2018:",
        "",
    ]
    from rosp.indicators.definitions import earliest_read_dates, observation_end

    out += [f"- {fam}: {d.isoformat()}" for fam, d in earliest_read_dates(2018).items()]
    out += [f"- latest date of care read (observation end): {observation_end(2018).isoformat()}", ""]
    for prog in load_programmes().values():
        out += [f"## {prog.label} (`{prog.slug}`)", "", f"Patientèle basis: {_BASIS[prog.basis]}."]
        if prog.specialties:
            out.append(f"Doctors of specialty {', '.join(str(s) for s in prog.specialties)} (IR_SPE_V).")
        out += ["", "Programme parameters:", ""]
        for p in prog.params.values():
            out.append(f"- `{p.name}` = {_arg(p.value)} — {p.source} ({p.confidence})")
        out.append("")
        for ind in prog.indicators:
            out.append(render_indicator(ind, prog))
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
