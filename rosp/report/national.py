"""The national report (« rapport national ») of a run, HTML and PDF.

`rosp report --run OUT --out report.html [--pdf] [--safeguard DIR]`

Every amount is summed from payments.csv exactly (Decimal); the deciles of payments
are interpolated exactly between the sorted Decimal amounts (linear, as
`numpy.quantile`'s default). Rates and shares are descriptive (floats, printed to
0,1 %).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from rosp.catalogue import load_catalogue
from rosp.report.html import html_to_pdf, render_template
from rosp.report.legal import confidence_fr, legal_words
from rosp.report.statement import StatementError, fr_euros, fr_number, fr_percent, load_run
from rosp.scoring.rules import BRANCHES

OPTED_OUT = ("opted_out", "opted_out_capi_superseded")


def quantile(sorted_values: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between order statistics (numpy's default), exact in Decimal."""
    n = len(sorted_values)
    if n == 0:
        return Decimal(0)
    pos = q * (n - 1)
    lo = int(pos)
    frac = pos - lo
    if lo + 1 >= n:
        return sorted_values[-1]
    return sorted_values[lo] + (sorted_values[lo + 1] - sorted_values[lo]) * frac


def _pct(x: float | None) -> str:
    if x is None or x != x:
        return "—"
    return fr_number(Decimal(repr(float(x))) * 100, 1) + " %"


@dataclass
class ProgrammeTotals:
    slug: str
    name: str
    eligible: int | None
    opted_out: int | None
    doctors: int
    paid: int
    neutralised_everywhere: int
    total: Decimal
    mean: Decimal
    median: Decimal
    deciles: list[Decimal]
    histogram_svg: str = ""
    distribution_svg: str = ""
    indicators: list[dict] = field(default_factory=list)

    @property
    def fmt(self) -> dict:
        return {
            "total": fr_euros(self.total),
            "mean": fr_euros(self.mean.quantize(Decimal("0.01"))),
            "median": fr_euros(self.median.quantize(Decimal("0.01"))),
            "deciles": [fr_euros(d.quantize(Decimal("0.01"))) for d in self.deciles],
        }


def programme_totals(pay: pd.DataFrame, ind: pd.DataFrame, eligibility: pd.DataFrame | None, slug: str,
                     name: str) -> ProgrammeTotals:
    g = pay[pay["programme"] == slug]
    amounts = sorted(Decimal(e) for e in g["euros"])
    total = sum(amounts, Decimal(0))
    paid = sum(1 for a in amounts if a > 0)
    gi = ind[ind["programme"] == slug]
    neutral_all = 0
    if not gi.empty:
        by_doc = gi.groupby("doctor_id")["neutralised"].agg(lambda s: bool((s == "true").all()))
        neutral_all = int(by_doc.sum())
    eligible = opted = None
    if eligibility is not None:
        e = eligibility[eligibility["programme"] == slug]
        eligible = int((e["eligible"] == "true").sum())
        opted = int(e["reason"].isin(OPTED_OUT).sum())
    n = len(amounts)
    return ProgrammeTotals(
        slug=slug, name=name, eligible=eligible, opted_out=opted, doctors=n, paid=paid,
        neutralised_everywhere=neutral_all, total=total,
        mean=(total / n) if n else Decimal(0),
        median=quantile(amounts, Decimal("0.5")),
        deciles=[quantile(amounts, Decimal(k) / 10) for k in range(1, 10)],
    )


def indicator_rows(ind: pd.DataFrame, prog) -> list[dict]:
    """Per indicator: national rate, deciles of doctors' rates, shares at objectives, neutralised, branches."""
    rows = []
    gi = ind[ind["programme"] == prog.slug]
    for spec in prog.indicators:
        g = gi[gi["indicator_id"] == spec.id]
        n = len(g)
        num = pd.to_numeric(g["numerator"], errors="coerce").fillna(0)
        den = pd.to_numeric(g["denominator"], errors="coerce").fillna(0)
        scored = g[g["neutralised"] != "true"]
        rates = pd.to_numeric(scored["rate"], errors="coerce").dropna()
        i, t = float(spec.intermediate), float(spec.target)
        if spec.direction == "higher":
            at_i, at_t = (rates >= i), (rates >= t)
        else:
            at_i, at_t = (rates <= i), (rates <= t)
        branches = scored["branch"].value_counts() if "branch" in scored.columns else pd.Series(dtype=int)
        qs = rates.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).tolist() if len(rates) else []
        rows.append({
            "id": spec.id,
            "label": spec.label,
            "theme": spec.theme,
            "direction": spec.direction,
            "intermediate": i,
            "target": t,
            "printed_intermediate": spec.printed_intermediate,
            "printed_target": spec.printed_target,
            "doctors": n,
            "scored": len(rates),
            "national_rate": _pct(float(num.sum() / den.sum())) if den.sum() > 0 and not spec.declarative else (
                _pct(float(rates.mean())) + " (moyenne des taux déclarés)" if len(rates) else "—"),
            "quantiles": qs,
            "quantiles_txt": [_pct(q) for q in qs],
            "share_i": _pct(float(at_i.mean())) if len(rates) else "—",
            "share_t": _pct(float(at_t.mean())) if len(rates) else "—",
            "share_neutralised": _pct(float((g["neutralised"] == "true").mean())) if n else "—",
            "branch_shares": {b: _pct(float(c) / len(scored)) for b, c in branches.items() if len(scored)},
        })
    return rows


def points_by_theme(ind: pd.DataFrame, catalogue) -> list[dict]:
    """Share of the maximum points reached (realisation × points, before weighting), by theme."""
    themes: dict[str, list[Decimal]] = {}
    spec_of = catalogue.indicators
    for r in ind[["indicator_id", "realisation", "points_max"]].itertuples(index=False):
        spec = spec_of.get(r.indicator_id)
        if spec is None:
            continue
        theme = _theme(spec.theme)
        reached = Decimal(r.realisation or "0") * Decimal(r.points_max or "0")
        acc = themes.setdefault(theme, [Decimal(0), Decimal(0)])
        acc[0] += reached
        acc[1] += Decimal(r.points_max or "0")
    return [
        {"theme": k, "reached": fr_number(v[0], 0), "max": fr_number(v[1], 0),
         "share": fr_percent(v[0] / v[1]) if v[1] else "—"}
        for k, v in sorted(themes.items())
    ]


def _theme(theme: str) -> str:
    if theme.startswith("Efficience"):
        return "Efficience"
    return theme


def _histogram_svg(amounts: list[Decimal]) -> str:
    import altair as alt

    from rosp.report.charts import FONT, svg_from_spec

    if not amounts:
        return ""
    df = pd.DataFrame({"euros": [float(a) for a in amounts]})
    chart = (
        alt.Chart(df)
        .mark_bar(color="#1f4e79")
        .encode(
            x=alt.X("euros:Q", bin=alt.Bin(maxbins=30), title="Montant par médecin (€)",
                    axis=alt.Axis(format=",.0f")),
            y=alt.Y("count():Q", title="Médecins", axis=alt.Axis(format="d", tickMinStep=1)),
        )
        .properties(width=440, height=150)
        .configure(font=FONT, locale={"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3],
                                                 "currency": ["", "\u202f€"]}})
        .configure_view(stroke=None)
    )
    return svg_from_spec(chart.to_dict())


def _distribution_svg(rows: list[dict]) -> str:
    """Deciles of doctors' rates per indicator (P10–P90 line, Q1–Q3 box, median) against OI and OC."""
    import altair as alt

    from rosp.report.charts import FONT, svg_from_spec

    data = [
        {"id": r["id"], "p10": r["quantiles"][0], "q1": r["quantiles"][1], "med": r["quantiles"][2],
         "q3": r["quantiles"][3], "p90": r["quantiles"][4]}
        for r in rows if r["quantiles"]
    ]
    if not data:
        return ""
    marks = [{"id": r["id"], "v": r["intermediate"], "k": "OI"} for r in rows] + [
        {"id": r["id"], "v": r["target"], "k": "OC"} for r in rows
    ]
    ids = [r["id"] for r in rows]
    y = alt.Y("id:N", sort=ids, title=None)
    x = alt.X("p10:Q", scale=alt.Scale(domain=[0, 1]), title="Taux des médecins (P10–P90, Q1–Q3, médiane)",
              axis=alt.Axis(format="~%"))
    base = alt.Chart(alt.Data(values=data))
    chart = alt.layer(
        base.mark_rule(color="#555555").encode(y=y, x=x, x2="p90:Q"),
        base.mark_bar(color="#9fbcd8", size=10).encode(y=y, x="q1:Q", x2="q3:Q"),
        base.mark_tick(color="#1f4e79", thickness=2, size=12).encode(y=y, x="med:Q"),
        alt.Chart(alt.Data(values=marks)).mark_point(shape="triangle-down", size=40, filled=True).encode(
            y=y, x="v:Q",
            color=alt.Color("k:N", scale=alt.Scale(domain=["OI", "OC"], range=["#b35c00", "#2e7d32"]),
                            title="Objectif"),
        ),
    ).properties(width=420, height=max(60, 18 * len(ids)))
    spec = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    return svg_from_spec(spec)


def _md_table(md: str) -> tuple[list[str], list[list[str]], str]:
    """The first pipe table of a Markdown text: header, rows, and the paragraph before it."""
    lines = md.splitlines()
    table = [ln for ln in lines if ln.startswith("|")]
    intro = " ".join(ln.strip() for ln in lines if ln and not ln.startswith(("|", "#")))
    if len(table) < 2:
        return [], [], intro
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in table]
    return cells[0], [r for r in cells[2:]], intro


def _manifest_summary(manifest: dict) -> dict:
    params = manifest.get("parameters") or {}
    overridden = [
        {"name": k, "value": v.get("value"), "source": legal_words(v.get("source", ""))}
        for k, v in sorted(params.items()) if v.get("overridden")
    ]
    inferred = [
        {"name": k, "value": v.get("value"), "confidence": confidence_fr(v.get("confidence", ""))}
        for k, v in sorted(params.items()) if v.get("confidence") in ("inferred", "secondary")
    ]
    inputs = [{"name": Path(k).name, "sha256": v if isinstance(v, str) else json.dumps(v)}
              for k, v in sorted((manifest.get("inputs") or {}).items())]
    code = manifest.get("code") or {}
    cat = manifest.get("catalogue") or {}
    return {
        "inputs": inputs,
        "code": ", ".join(f"{k} {v}" for k, v in sorted(code.items())),
        "catalogue": f"{cat.get('version', '')} (sha256 {cat.get('content_sha256', '')})",
        "overridden": overridden,
        "inferred": inferred,
    }


def _read_sensitivity(run_dir: Path) -> tuple[list[str], list[list[str]]] | None:
    path = run_dir / "sensitivity.csv"
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return list(df.columns), df.values.tolist()


def _read_safeguard_summary(run_dir: Path, safeguard: Path | None) -> dict | None:
    for c in ([safeguard] if safeguard else []) + [run_dir / "safeguard"]:
        if c is None:
            continue
        p = Path(c)
        p = p / "safeguard.json" if p.is_dir() else p
        if p.exists() and p.suffix == ".json":
            return json.loads(p.read_text(encoding="utf-8"))
    if safeguard:
        raise StatementError(f"{safeguard}: no safeguard.json (output directory of rosp safeguard)")
    return None


def build_report(run_dir: Path, safeguard: Path | None = None, charts: bool = True) -> dict:
    run_dir = Path(run_dir)
    ind, pay, manifest = load_run(run_dir)
    year = int(manifest["year"])
    catalogue = load_catalogue(year)
    el_path = run_dir / "eligibility.csv"
    eligibility = pd.read_csv(el_path, dtype=str, keep_default_na=False) if el_path.exists() else None
    programmes = []
    for prog in catalogue.programmes:
        if prog.slug not in set(pay["programme"]) and prog.slug not in set(ind["programme"]):
            continue
        pt = programme_totals(pay, ind, eligibility, prog.slug, prog.name)
        pt.indicators = indicator_rows(ind, prog)
        if charts:
            pt.histogram_svg = _histogram_svg(sorted(Decimal(e) for e in pay.loc[pay["programme"] == prog.slug, "euros"]))
            pt.distribution_svg = _distribution_svg(pt.indicators)
        programmes.append(pt)
    grand = sum((Decimal(e) for e in pay["euros"]), Decimal(0))
    data_dir = next((Path(k).parent for k in (manifest.get("inputs") or {}) if Path(k).parent.exists()), None)
    calibration = None
    if data_dir is not None and (data_dir / "calibration.md").exists():
        header, rows, intro = _md_table((data_dir / "calibration.md").read_text(encoding="utf-8"))
        calibration = {"header": header, "rows": rows, "intro": re.sub(r"\s+", " ", intro)}
    sg = _read_safeguard_summary(run_dir, safeguard)
    return {
        "year": year,
        "programmes": programmes,
        "grand_total": grand,
        "grand_total_txt": fr_euros(grand),
        "rows": len(pay),
        "points": points_by_theme(ind, catalogue),
        "branch_ids": [b for b in BRANCHES if b != "neutralised"],
        "branch_names": [BRANCHES[b] for b in BRANCHES if b != "neutralised"],
        "safeguard": sg,
        "safeguard_fmt": _safeguard_fmt(sg) if sg else None,
        "sensitivity": _read_sensitivity(run_dir),
        "calibration": calibration,
        "manifest": _manifest_summary(manifest),
        "synthetic": calibration is not None,
    }


def _safeguard_fmt(sg: dict) -> list[tuple[str, str]]:
    def eur(k):
        v = sg.get(k)
        return fr_euros(v) if v not in (None, "") else "—"

    rows = [
        ("La clause s'applique à l'année", "oui" if sg.get("applies") else "non"),
        ("Clause déclenchée", "oui" if sg.get("triggered") else "non"),
        ("Montant avant clause", eur("total_before")),
        ("Montant de l'année précédente", eur("previous_total")),
        ("Montant 2016", eur("baseline_total")),
        ("Baisse constatée", fr_percent(sg["drop"]) if sg.get("drop") else "—"),
        ("Coefficient de majoration", str(sg.get("coefficient", "1")).replace(".", ",")),
        ("Complément versé", eur("complement_total")),
        ("Montant après clause", eur("total_after")),
    ]
    if sg.get("note"):
        rows.append(("Note", sg["note"]))
    return rows


def write_report(run_dir: Path, out: Path, pdf: bool = False, safeguard: Path | None = None) -> list[Path]:
    """The national report to `out` (HTML) and, with `pdf`, beside it. Each file is written
    to a temporary name and renamed; the HTML is renamed only once the PDF is written, so a
    failure leaves neither (nor an older report that looks new)."""
    from rosp.io.outdir import atomic_file

    r = build_report(run_dir, safeguard)
    html = render_template("report.html.j2", r=r)
    out = Path(out)
    paths = [out]
    with atomic_file(out) as tmp_html:
        tmp_html.write_text(html, encoding="utf-8")
        if pdf:
            pdf_path = out.with_suffix(".pdf")
            with atomic_file(pdf_path) as tmp_pdf:
                html_to_pdf(html, tmp_pdf, base_url=out.parent)
            paths.append(pdf_path)
    return paths
