"""What an individual statement shows, computed once from a run directory.

`RunData` reads a run (indicators.csv, payments.csv, manifest.json and, when
present, start_rates.csv, eligibility.csv, the evidence Parquet and a safeguard
output) once; `RunData.statement(doctor_id)` builds the plain data the HTML
template renders. Nothing here formats HTML; every number is formatted in French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from rosp.catalogue import CATEGORIES, load_catalogue
from rosp.report.legal import confidence_fr, legal_words
from rosp.report.statement import StatementError, fr_euros, fr_number, fr_percent
from rosp.report.whatif import IndicatorInputs, what_it_would_take
from rosp.scoring.rules import BRANCHES, RuleParams, round_euros, to_fraction

CENT = Decimal("0.01")
SAFEGUARD_SOURCE = (
    "Convention médicale 2016, art. 27.4 (clause de sauvegarde), modifié par l'avenant n° 6 "
    "(arrêté du 1er août 2018, JORF n°0183 du 10 août 2018)"
)
WEIGHTING_SOURCE = (
    "Convention médicale 2016, art. 27.2.4 : la rémunération est calculée sur la base d'une patientèle "
    "de référence et pondérée par la patientèle du médecin"
)
CONTEST_ADDRESS = (
    "le service médical ou le service « relations avec les professionnels de santé » de votre caisse "
    "primaire d'assurance maladie (CPAM), par votre messagerie professionnelle ou par courrier"
)


#: Specialty codes of the ROSP programmes (SNDS nomenclature IR_SPE_V).
SPECIALTIES = {
    1: "médecine générale",
    3: "pathologie cardio-vasculaire",
    8: "gastro-entérologie et hépatologie",
    12: "pédiatrie",
    22: "spécialiste en médecine générale avec diplôme",
    23: "spécialité en médecine générale reconnue par l'Ordre",
    42: "endocrinologie et métabolismes",
}


def _txt(v) -> str:
    return "" if v is None else str(v)


@dataclass
class PatientLine:
    patient_id: str
    in_denominator: bool
    in_numerator: bool
    units: str
    reason: str
    claim_table: str
    claim_date: str
    claim_code: str


@dataclass
class IndicatorLine:
    id: str
    label: str
    theme: str
    sub_theme: str
    engagement: str
    declarative: bool
    unit: str  # "patients" | "boîtes"
    direction: str
    numerator: int
    denominator: int
    rate: Fraction | None
    rate_txt: str
    declared: bool
    start_rate: Fraction | None
    start_txt: str
    start_period: str
    intermediate: Fraction
    target: Fraction
    printed_intermediate: str
    printed_target: str
    threshold: int
    neutralised: bool
    realisation_txt: str
    points_max: int
    points_txt: str
    euros_txt: str
    branch: str
    branch_label: str
    wilson: tuple[float, float] | None
    wilson_txt: str
    straddles: list[str]
    steps: list[dict]
    source: str
    chart_svg: str = ""
    patients: list[PatientLine] = field(default_factory=list)


@dataclass
class ProgrammeBlock:
    slug: str
    name: str
    title: str
    legal_source: str
    patientele: int
    reference_patientele: int
    weight_txt: str
    points_txt: str
    total_points: int
    euros: Decimal
    euros_txt: str
    complement: Decimal | None
    complement_txt: str
    after_safeguard_txt: str
    lines: list[IndicatorLine]
    eligibility: str = ""


@dataclass
class Statement:
    doctor_id: str
    year: int
    specialty: str
    rule_version: str
    rule_source: str
    point_value_txt: str
    point_value_source: str
    share_txt: str
    share_confidence: str
    programmes: list[ProgrammeBlock]
    total: Decimal
    total_txt: str
    complement_total: Decimal
    complement_txt: str
    grand_total_txt: str
    with_patients: bool
    synthetic: bool
    code_version: str
    catalogue_version: str
    contest_address: str = CONTEST_ADDRESS
    safeguard_source: str = SAFEGUARD_SOURCE
    weighting_source: str = WEIGHTING_SOURCE
    eligibility_notes: list[str] = field(default_factory=list)

    @property
    def scored_lines(self) -> list[IndicatorLine]:
        return [ln for p in self.programmes for ln in p.lines]


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _date(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    return str(value)[:10]


class RunData:
    """A run directory, read once, from which any doctor's statement is built."""

    def __init__(self, run_dir: Path, safeguard: Path | None = None, charts: bool = True):
        from rosp.report.statement import load_run

        self.run_dir = Path(run_dir)
        self.ind, self.pay, self.manifest = load_run(self.run_dir)
        self.year = int(self.manifest["year"])
        self.catalogue = load_catalogue(self.year)
        self.params = self.catalogue.params
        self.rules = RuleParams.from_parameters(self.params, self.year)
        self.charts = charts
        self.start_rates = _read_csv(self.run_dir / "start_rates.csv")
        self.eligibility = _read_csv(self.run_dir / "eligibility.csv")
        self.safeguard = self._read_safeguard(safeguard)
        self._ind_by_doctor = {k: g for k, g in self.ind.groupby("doctor_id", sort=False)}
        self._pay_by_doctor = {k: g for k, g in self.pay.groupby("doctor_id", sort=False)}
        self._start_by_key = (
            {(r.doctor_id, r.indicator_id): r for r in self.start_rates.itertuples(index=False)}
            if self.start_rates is not None and "indicator_id" in self.start_rates.columns
            else {}
        )
        self._specialties = self._read_specialties()
        self._synthetic = self.synthetic
        try:
            from rosp.report.statement import _declared_measurements

            self._declared_measure = _declared_measurements()
        except Exception:  # noqa: BLE001 - indicator definitions absent: nothing measured by declaration
            self._declared_measure = set()

    # ---------------------------------------------------------------- inputs
    def _read_safeguard(self, safeguard: Path | None) -> pd.DataFrame | None:
        """payments.csv written by `rosp safeguard` (with a `complement` column), if given or in the run."""
        candidates = [safeguard] if safeguard else [self.run_dir / "safeguard" / "payments.csv"]
        for c in candidates:
            if c is None:
                continue
            c = Path(c)
            if c.is_dir():
                c = c / "payments.csv"
            df = _read_csv(c)
            if df is not None and "complement" in df.columns:
                return df
            if safeguard:
                raise StatementError(f"{c}: not a safeguard output (payments.csv with a complement column)")
        return None

    def _data_dir(self) -> Path | None:
        """The claims directory of the run (from the manifest's input paths), if it is still there."""
        for path in (self.manifest.get("inputs") or {}):
            parent = Path(path).parent
            if parent.exists():
                return parent
        return None

    def _read_specialties(self) -> dict[str, str]:
        """Doctor (STA_PFS_NUM) → specialty (PFS_PRA_SPE of DA_PRA_R, labelled as in IR_SPE_V), when the inputs are at hand."""
        data = self._data_dir()
        path = data / "DA_PRA_R.parquet" if data else None
        if path is None or not path.exists():
            return {}
        try:
            df = pd.read_parquet(path, columns=["STA_PFS_NUM", "PFS_PRA_SPE"]).drop_duplicates("STA_PFS_NUM")
        except Exception:  # noqa: BLE001 - the specialty is informative only
            return {}
        return {
            str(d): f"{int(c):02d} — {SPECIALTIES.get(int(c), 'autre spécialité')}"
            for d, c in zip(df["STA_PFS_NUM"], df["PFS_PRA_SPE"], strict=True)
            if c == c
        }

    @property
    def synthetic(self) -> bool:
        data = self._data_dir()
        return bool(data and (data / "calibration.md").exists())

    @property
    def doctor_ids(self) -> list[str]:
        return sorted(self._pay_by_doctor)

    # ---------------------------------------------------------------- statement
    def statement(self, doctor_id: str, with_patients: bool = False) -> Statement:
        doctor_id = str(doctor_id)
        mine = self._ind_by_doctor.get(doctor_id)
        my_pay = self._pay_by_doctor.get(doctor_id)
        if my_pay is None:
            raise StatementError(f"médecin {doctor_id!r} n'est pas payé dans le run {self.run_dir} (aucune ligne dans payments.csv)")
        mine = mine if mine is not None else self.ind.iloc[0:0]
        evidence = self._evidence(doctor_id) if with_patients else None
        pv = self.params.get("point_value", self.year)
        share = self.params.get("scoring.intermediate_share", self.year)
        version = self.params.get("scoring.rule_version", self.year)
        blocks = []
        total = Decimal("0.00")
        complement_total = Decimal("0.00")
        for p in my_pay.sort_values("programme").itertuples(index=False):
            block = self._programme(doctor_id, p, mine, evidence)
            blocks.append(block)
            total += block.euros
            if block.complement:
                complement_total += block.complement
        code = self.manifest.get("code") or {}
        notes = []
        if self.eligibility is not None:
            from rosp.eligibility import reason_label_fr

            for e in self.eligibility[self.eligibility["doctor_id"] == doctor_id].itertuples(index=False):
                notes.append(f"{e.programme or '—'} : {reason_label_fr(e.reason)}")
        return Statement(
            doctor_id=doctor_id,
            year=self.year,
            specialty=self._specialties.get(doctor_id, ""),
            rule_version=version.text,
            rule_source=legal_words(version.source),
            point_value_txt=fr_euros(pv.decimal),
            point_value_source=legal_words(pv.source),
            share_txt=fr_percent(share.value),
            share_confidence=confidence_fr(share.confidence),
            programmes=blocks,
            total=total,
            total_txt=fr_euros(total),
            complement_total=complement_total,
            complement_txt=fr_euros(complement_total) if self.safeguard is not None else "",
            grand_total_txt=fr_euros(total + complement_total),
            with_patients=with_patients,
            synthetic=self._synthetic,
            code_version=str(code.get("package") or code.get("version") or ""),
            catalogue_version=str((self.manifest.get("catalogue") or {}).get("version", self.catalogue.version)),
            eligibility_notes=notes,
        )

    def _programme(self, doctor_id, p, mine: pd.DataFrame, evidence) -> ProgrammeBlock:
        prog = self.catalogue.programme(p.programme)
        rows = mine[mine["programme"] == prog.slug]
        patientele = int(p.patientele)
        lines = [self._line(doctor_id, prog, r, patientele, evidence) for r in rows.to_dict("records")]
        order = {ind.id: n for n, ind in enumerate(prog.indicators)}
        lines.sort(key=lambda ln: order.get(ln.id, 999))
        weight = Fraction(patientele, prog.reference_patientele)
        euros = Decimal(p.euros)
        complement = None
        if self.safeguard is not None:
            sg = self.safeguard[(self.safeguard["doctor_id"] == doctor_id) & (self.safeguard["programme"] == prog.slug)]
            if not sg.empty:
                complement = Decimal(sg.iloc[0]["complement"])
        return ProgrammeBlock(
            slug=prog.slug,
            name=prog.name,
            title=prog.title,
            legal_source=legal_words(prog.legal_source),
            patientele=patientele,
            reference_patientele=prog.reference_patientele,
            weight_txt=fr_number(Decimal(weight.numerator) / Decimal(weight.denominator), 4),
            points_txt=fr_number(p.points, 2),
            total_points=prog.total_points,
            euros=euros,
            euros_txt=fr_euros(euros),
            complement=complement,
            complement_txt=fr_euros(complement) if complement else "",
            after_safeguard_txt=fr_euros(euros + complement) if complement else "",
            lines=lines,
        )

    def _line(self, doctor_id, prog, r: dict, patientele: int, evidence) -> IndicatorLine:
        from rosp.report.charts import indicator_chart_svg, wilson_interval

        spec = prog.indicator(r["indicator_id"])
        unit = "boîtes" if spec.threshold_unit == "boites" else "patients"
        num, den = int(r["numerator"] or 0), int(r["denominator"] or 0)
        rate = to_fraction(r["rate"])
        start = to_fraction(r.get("start_rate"))
        declared = self._declared(spec, r)
        neutral = r["neutralised"] == "true"
        branch = r.get("branch", "") or ("neutralised" if neutral else "")
        label = BRANCHES.get(branch, branch)
        if declared and branch not in ("neutralised", "not_declared"):
            label = f"taux déclaré ; {label}"
        wilson = None if (declared or den == 0 or spec.declarative and declared) else wilson_interval(num, den)
        straddles = []
        if wilson is not None and not neutral:
            lo, hi = wilson
            for name, goal in (("l'objectif intermédiaire", spec.intermediate), ("l'objectif cible", spec.target)):
                if lo < float(goal) < hi:
                    straddles.append(name)
        steps = []
        if not declared and not spec.declarative and rate is not None and not neutral and branch != "not_payable":
            x = IndicatorInputs(
                numerator=num, denominator=den, start_rate=start,
                intermediate=Fraction(spec.intermediate), target=Fraction(spec.target),
                direction=spec.direction, threshold=spec.threshold, points_max=spec.points,
                patientele=patientele, reference_patientele=prog.reference_patientele,
            )
            for s in what_it_would_take(x, self.rules):
                steps.append({
                    "objective": "objectif intermédiaire" if s.objective == "intermediate" else "objectif cible",
                    "patients": s.patients,
                    "reachable": s.reachable,
                    "more": spec.direction == "higher",
                    "euros_txt": fr_euros(round_euros(s.euros)),  # half away from zero, negatives included
                    "numerator": s.numerator,
                })
        st = self._start_by_key.get((doctor_id, spec.id))
        period = _txt(getattr(st, "reference_period", "")) if st is not None else ""
        if not period and start is not None:
            period = f"année {self.year - 1}"
        chart = ""
        if self.charts:
            chart = indicator_chart_svg(
                rate=rate, intermediate=spec.intermediate, target=spec.target, direction=spec.direction,
                start_rate=start, ci=wilson,
            )
        patients = []
        if evidence is not None and not evidence.empty:
            from rosp.report.evidence import reason_fr

            ev = evidence[evidence["indicator_id"] == spec.id]
            for e in ev.itertuples(index=False):
                patients.append(PatientLine(
                    patient_id=str(e.patient_id),
                    in_denominator=bool(e.in_denominator),
                    in_numerator=bool(e.in_numerator),
                    units=f"{int(e.num_units)}/{int(e.den_units)}",
                    reason=reason_fr(str(e.reason)),
                    claim_table=_txt(e.claim_table) if e.claim_table == e.claim_table else "",
                    claim_date=_date(e.claim_date),
                    claim_code=_txt(e.claim_code) if e.claim_code == e.claim_code else "",
                ))
        return IndicatorLine(
            id=spec.id, label=spec.label, theme=spec.theme, sub_theme=spec.sub_theme,
            engagement=CATEGORIES[spec.category], declarative=spec.declarative, unit=unit,
            direction=spec.direction, numerator=num, denominator=den, rate=rate,
            rate_txt=fr_percent(r["rate"]), declared=declared, start_rate=start,
            start_txt=fr_percent(r.get("start_rate")), start_period=period,
            intermediate=Fraction(spec.intermediate), target=Fraction(spec.target),
            printed_intermediate=_printed(spec.printed_intermediate, spec.direction),
            printed_target=spec.printed_target, threshold=spec.threshold, neutralised=neutral,
            realisation_txt="—" if neutral else fr_percent(r["realisation"]),
            points_max=spec.points, points_txt=fr_number(r["points"], 2),
            euros_txt=fr_euros(Decimal(r["euros"]).quantize(CENT)), branch=branch, branch_label=label,
            wilson=wilson,
            wilson_txt=f"{fr_percent(wilson[0])} – {fr_percent(wilson[1])}" if wilson else "",
            straddles=straddles, steps=steps, source=legal_words(spec.source), chart_svg=chart,
            patients=patients,
        )

    def _declared(self, spec, r: dict) -> bool:
        src = r.get("rate_source")
        if src:
            return src == "declaration"
        from rosp.report.statement import _is_declared

        return _is_declared(spec, r)

    def _evidence(self, doctor_id: str) -> pd.DataFrame:
        import duckdb

        files = sorted((self.run_dir / "evidence").glob("*.parquet"))
        if not files:
            return pd.DataFrame()
        lst = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con = duckdb.connect()
        try:
            return con.execute(
                f"SELECT * FROM read_parquet([{lst}]) WHERE doctor_id = ? "
                "ORDER BY indicator_id, in_numerator DESC, in_denominator DESC, patient_id",
                [doctor_id],
            ).df()
        finally:
            con.close()


def _printed(text: str, direction: str) -> str:
    """The intermediate objective with its comparison sign (the tables print it bare)."""
    if text.startswith(("≥", "≤")):
        return text
    return ("≥ " if direction == "higher" else "≤ ") + text
