"""`rosp serve`: the FastAPI application (JSON API + server-rendered pages).

Access rule (docs/web.md): patient-level evidence is served only when the
server was started with `ROSP_API_TOKEN` set, and only to requests carrying
`Authorization: Bearer <token>`; otherwise the evidence endpoint answers 401
and no page or other response contains a patient identifier.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections import OrderedDict
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from rosp.catalogue import Catalogue, load_catalogue
from rosp.catalogue.model import NoTableInForce
from rosp.errors import RospError
from rosp.reform.engine import Run, compute, doctors_csv, load_run
from rosp.reform.model import Reform, parse_reform
from rosp.report.statement import fr_euros, fr_number, fr_percent
from rosp.scoring.rules import BRANCHES
from rosp.web.simulate import Entry, simulate

HERE = Path(__file__).resolve().parent
YEAR_MIN, YEAR_MAX = 2017, 2100
ID_PATTERN = r"^[0-9A-Za-z]{1,32}$"
INDICATOR_PATTERN = r"^[A-Z]{3}-[0-9]{2}$"
SLUG_PATTERN = r"^[a-z-]{1,40}$"
MAX_COUNT = 10_000_000


# --------------------------------------------------------------------------- models

Year = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX, description="année ROSP (défaut : celle du run)")]
DoctorId = Annotated[str, PathParam(pattern=ID_PATTERN, description="identifiant du médecin (STA_PFS_NUM)")]
Slug = Annotated[str, PathParam(pattern=SLUG_PATTERN)]
Sha = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")]
IndicatorQuery = Annotated[str | None, Query(pattern=INDICATOR_PATTERN)]

Strict = ConfigDict(strict=True, extra="forbid")
Rate = Annotated[float, Field(ge=0, le=1, strict=True, description="taux, fraction dans [0, 1]")]


class IndicatorIn(BaseModel):
    model_config = Strict
    indicator_id: str = Field(pattern=INDICATOR_PATTERN, description="identifiant du catalogue, ex. ENF-01")
    numerator: int = Field(ge=0, le=MAX_COUNT, strict=True)
    denominator: int = Field(ge=0, le=MAX_COUNT, strict=True)
    start_rate: Rate | None = None
    declared_rate: Rate | None = None


class SimulateIn(BaseModel):
    model_config = Strict
    programme: str = Field(pattern=SLUG_PATTERN, description="programme, ex. mt-enfant")
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX, strict=True)
    patientele: int = Field(ge=0, le=MAX_COUNT, strict=True)
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=100)


class Step(BaseModel):
    objective: Literal["intermediate", "target"]
    numerator: int | None
    change: int | None
    declared_rate: str | None
    euros: str


class Needed(BaseModel):
    text: str
    steps: list[Step]


class IndicatorOut(BaseModel):
    doctor_id: str
    programme: str
    indicator_id: str
    label: str
    numerator: int
    denominator: int
    rate: str
    start_rate: str
    neutralised: Literal["true", "false"]
    realisation: str
    branch: str
    branch_label: str
    points_max: int
    points: str
    euros: str
    ce_qu_il_faudrait: Needed


class PaymentOut(BaseModel):
    doctor_id: str
    programme: str
    patientele: int
    points: str
    euros: str


class SimulateOut(BaseModel):
    programme: str
    year: int
    indicators: list[IndicatorOut]
    payment: PaymentOut
    point_value: str
    intermediate_share: str


class ProgrammeOut(BaseModel):
    slug: str
    name: str
    title: str
    reference_patientele: int
    total_points: int
    point_value: str
    legal_source: str


class CatalogueIndicatorOut(BaseModel):
    id: str
    label: str
    theme: str
    intermediate: str
    target: str
    printed_intermediate: str
    printed_target: str
    direction: Literal["higher", "lower"]
    threshold: int
    threshold_unit: str
    points: int
    declarative: bool


class FieldError(BaseModel):
    champ: str
    message: str


class ErrorOut(BaseModel):
    message: str
    erreurs: list[FieldError] = Field(default_factory=list)


class ReformHead(BaseModel):
    model_config = Strict
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    year: int | None = Field(default=None, ge=YEAR_MIN, le=YEAR_MAX, strict=True)


class ReformIndicator(BaseModel):
    model_config = Strict
    id: str = Field(pattern=INDICATOR_PATTERN)
    intermediate: str | None = Field(default=None, pattern=r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$")
    target: str | None = Field(default=None, pattern=r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$")
    points: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    threshold: int | None = Field(default=None, ge=0, le=MAX_COUNT, strict=True)


class ReformObjectives(BaseModel):
    model_config = Strict
    method: Literal["percentiles"] = "percentiles"
    intermediate: int = Field(ge=0, le=100, strict=True)
    target: int = Field(ge=0, le=100, strict=True)
    precision: str = Field(default="0.001", pattern=r"^0\.0{0,5}1$")
    programmes: list[Annotated[str, Field(pattern=SLUG_PATTERN)]] | None = Field(default=None, max_length=10)


class ReformSafeguard(BaseModel):
    model_config = Strict
    previous_total: str | None = Field(default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    baseline_total: str | None = Field(default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


class ReformIn(BaseModel):
    """A reform as JSON: the same tables as the TOML file (see reforms/)."""

    model_config = Strict
    reform: ReformHead
    parameters: dict[Annotated[str, Field(pattern=r"^[a-z_.\-]{1,80}$")],
                     Annotated[str, Field(pattern=r"^[0-9A-Za-z_.,:\-]{1,200}$")]] = Field(
        default_factory=dict, max_length=50)
    indicators: list[ReformIndicator] = Field(default_factory=list, max_length=200)
    objectives: ReformObjectives | None = None
    safeguard: ReformSafeguard | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ReformIn:
        if self.objectives is not None and not self.objectives.intermediate < self.objectives.target:
            raise ValueError("objectives : le centile intermédiaire doit être inférieur au centile cible")
        return self


class BudgetRow(BaseModel):
    programme: str
    name: str
    doctors: int
    before: str
    after: str
    delta: str
    delta_pct: str | None


class _GroupMoves(BaseModel):
    """Money of a group of doctors before and after the reform (euros as "1234.56" strings)."""

    doctors: int
    before: str
    after: str
    delta: str
    mean_delta: str
    delta_pct: str | None
    winners: int
    losers: int


class DecileRow(_GroupMoves):
    decile: int
    baseline_min: str
    baseline_max: str


class SpecialtyRow(_GroupMoves):
    """One doctor specialty (SNDS code, e.g. "03"; "" when unknown): each doctor once, total across programmes."""

    specialty: str
    label: str
    programmes: list[str]
    unchanged: int
    losing_more_than_10_percent: int


class Losers(BaseModel):
    more_than_10_percent: int
    more_than_100_euros: int
    winners: int
    losers: int
    unchanged: int


class Total(BaseModel):
    before: str
    after: str
    delta: str
    delta_pct: str | None


class SafeguardOut(BaseModel):
    applies: bool
    triggered: bool
    total_before: str | None
    previous_total: str | None
    baseline_total: str | None
    drop: str | None
    threshold: str | None
    coefficient: str | None
    complement_total: str | None
    total_after: str | None
    note: str | None
    reference: str


class ReformInfo(BaseModel):
    title: str
    description: str
    sha256: str
    source: str


class ReformOut(BaseModel):
    reform: ReformInfo
    year: int
    doctors: int
    rows: int
    budget: list[BudgetRow]
    deciles: list[DecileRow]
    losers: Losers
    specialties: list[SpecialtyRow]
    specialty_source: str
    safeguard: SafeguardOut
    total: Total


class DoctorIndicator(BaseModel):
    programme: str
    indicator_id: str
    numerator: int
    denominator: int
    rate: str
    start_rate: str
    neutralised: str
    realisation: str
    branch: str
    points_max: int
    points: str
    euros: str


class DoctorOut(BaseModel):
    doctor_id: str
    year: int
    payments: list[PaymentOut]
    indicators: list[DoctorIndicator]


class EvidenceRow(BaseModel):
    indicator_id: str
    patient_id: str
    in_denominator: bool
    in_numerator: bool
    reason: str
    claim_table: str
    claim_date: str
    claim_code: str


class EvidenceOut(BaseModel):
    doctor_id: str
    rows: list[EvidenceRow]


# --------------------------------------------------------------------------- errors

_FR = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "string_type": "texte attendu",
    "bool_type": "booléen attendu",
    "list_type": "liste attendue",
    "dict_type": "objet attendu",
    "model_type": "objet attendu",
    "model_attributes_type": "objet attendu",
    "string_pattern_mismatch": "format invalide",
    "string_too_short": "texte trop court",
    "string_too_long": "texte trop long",
    "too_long": "trop d'éléments",
    "too_short": "pas assez d'éléments",
    "literal_error": "valeur non autorisée",
    "value_error": "valeur invalide",
    "dict_attributes_type": "objet attendu",
}


def _fr_message(e: dict[str, Any]) -> str:
    t = e.get("type", "")
    ctx = e.get("ctx") or {}
    if t == "greater_than_equal":
        return f"doit être ≥ {ctx.get('ge')}"
    if t == "greater_than":
        return f"doit être > {ctx.get('gt')}"
    if t == "less_than_equal":
        return f"doit être ≤ {ctx.get('le')}"
    if t == "less_than":
        return f"doit être < {ctx.get('lt')}"
    if t == "value_error":
        return str(ctx.get("error", "valeur invalide"))
    return _FR.get(t, "valeur invalide")


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "corps"


def error_response(status: int, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "erreurs": errors or []}, status_code=status)


ERRORS = {
    400: {"model": ErrorOut, "description": "JSON mal formé (corps illisible)"},
    404: {"model": ErrorOut, "description": "identifiant inconnu"},
    422: {"model": ErrorOut, "description": "donnée invalide ; le message nomme le champ"},
}


# --------------------------------------------------------------------------- state


class State:
    """The run being served, its catalogues and a small cache of reform results."""

    def __init__(self, run_dir: Path, token: str | None):
        self.run_dir = Path(run_dir)
        self.token = token or None
        self.run: Run = load_run(self.run_dir)
        self.year = self.run.year
        ind_path = self.run_dir / "indicators.csv"
        self.indicators = (
            pd.read_csv(ind_path, dtype=str, keep_default_na=False) if ind_path.exists() else pd.DataFrame()
        )
        self.payments = pd.read_csv(self.run_dir / "payments.csv", dtype=str, keep_default_na=False)
        self.doctor_ids = sorted(set(self.payments["doctor_id"]))
        self._catalogues: dict[int, Catalogue] = {}
        self.reforms: OrderedDict[str, tuple[Reform, Any]] = OrderedDict()
        self._report = None

    def report_data(self):
        """The run as the statements read it (rosp.report.model.RunData), built on first use."""
        if self._report is None:
            from rosp.report.model import RunData

            self._report = RunData(self.run_dir)
        return self._report

    def catalogue(self, year: int) -> Catalogue:
        if year not in self._catalogues:
            self._catalogues[year] = load_catalogue(year)
        return self._catalogues[year]

    def reform(self, reform: Reform):
        key = reform.sha256
        if key not in self.reforms:
            self.reforms[key] = (reform, compute(self.run, reform))
            while len(self.reforms) > 16:
                self.reforms.popitem(last=False)
        return self.reforms[key][1]


def reform_toml(r: Reform) -> str:
    return r.text


def mapping_to_toml(data: dict[str, Any]) -> str:
    """A reform mapping written as TOML (the file the negotiator downloads)."""
    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{s}"'

    out = ["[reform]"]
    for k, v in data.get("reform", {}).items():
        if v is not None:
            out.append(f"{k} = {val(v)}")
    if data.get("parameters"):
        out += ["", "[parameters]"] + [f'"{k}" = {val(v)}' for k, v in data["parameters"].items()]
    for row in data.get("indicators") or []:
        out += ["", "[[indicators]]"] + [f"{k} = {val(v)}" for k, v in row.items() if v is not None]
    for table in ("objectives", "safeguard"):
        t = data.get(table)
        if t:
            out += ["", f"[{table}]"] + [f"{k} = {val(v)}" for k, v in t.items() if v is not None]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- app


def create_app(run_dir: Path | str, token: str | None = None) -> FastAPI:
    """The application for one run. `token` defaults to ROSP_API_TOKEN at start."""
    if token is None:
        token = os.environ.get("ROSP_API_TOKEN") or None
    state = State(Path(run_dir), token)
    app = FastAPI(
        title="ROSP — simulateur, réformes et API",
        version="1",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: not served here
        redoc_url=None,
        description=(
            "API du moteur ROSP ouvert. Les taux sont des fractions dans [0, 1] ; les montants "
            "sont des textes décimaux exacts. Les pièces patient ne sont servies qu'avec le jeton "
            "ROSP_API_TOKEN (en-tête Authorization: Bearer)."
        ),
    )
    app.state.rosp = state
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(euros=_safe(fr_euros), number=_safe(fr_number), percent=fr_percent)
    templates.env.globals["branches"] = BRANCHES
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            return error_response(400, "JSON mal formé : le corps de la requête n'est pas un JSON valide.")
        items = [{"champ": _field(e.get("loc", ())), "message": _fr_message(e)} for e in errs]
        first = items[0] if items else {"champ": "corps", "message": "invalide"}
        return error_response(422, f"Donnée invalide : {first['champ']} : {first['message']}", items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        msg = exc.detail if isinstance(exc.detail, str) else "erreur"
        if exc.status_code == 404 and msg == "Not Found":
            msg = "Page ou ressource inconnue."
        if exc.status_code == 405:
            msg = "Méthode non autorisée."
        return JSONResponse({"message": msg, "erreurs": []}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    def not_found(what: str) -> JSONResponse:
        return error_response(404, what)

    # ------------------------------------------------------------------ API

    @app.exception_handler(NoTableInForce)
    async def _no_table(request: Request, exc: NoTableInForce) -> JSONResponse:
        # a year with no conventional table in force is an unknown resource, not a bug
        return error_response(404, f"Aucun tableau conventionnel en vigueur pour {exc.year}.")

    @app.get("/api/programmes", response_model=list[ProgrammeOut], responses={404: ERRORS[404], 422: ERRORS[422]})
    def programmes(year: Year = None) -> list[dict[str, Any]]:
        """Les programmes en vigueur pour une année."""
        cat = state.catalogue(year or state.year)
        return [
            {"slug": p.slug, "name": p.name, "title": p.title, "reference_patientele": p.reference_patientele,
             "total_points": p.total_points, "point_value": str(p.point_value), "legal_source": p.legal_source}
            for p in cat.programmes
        ]

    @app.get("/api/programmes/{slug}/indicators", response_model=list[CatalogueIndicatorOut],
             responses={404: ERRORS[404], 422: ERRORS[422]})
    def programme_indicators(
        slug: Slug, year: Year = None
    ) -> Any:
        """Les indicateurs d'un programme (objectifs, seuil, points)."""
        cat = state.catalogue(year or state.year)
        try:
            prog = cat.programme(slug)
        except KeyError:
            return not_found(f"Programme inconnu pour {year or state.year}.")
        return [
            {"id": i.id, "label": i.label, "theme": i.theme, "intermediate": str(i.intermediate),
             "target": str(i.target), "printed_intermediate": i.printed_intermediate,
             "printed_target": i.printed_target, "direction": i.direction, "threshold": i.threshold,
             "threshold_unit": i.threshold_unit, "points": i.points, "declarative": i.declarative}
            for i in prog.indicators
        ]

    @app.post("/api/simulate", response_model=SimulateOut, responses=ERRORS)
    async def api_simulate(body: SimulateIn) -> Any:  # async: pure CPU work of ~0.5 ms, no thread hop
        """Simule la ROSP d'un médecin (règle exacte) : colonnes de `rosp score`, branche, « ce qu'il faudrait »."""
        cat = state.catalogue(body.year)
        try:
            prog = cat.programme(body.programme)
        except KeyError:
            return not_found(f"Programme inconnu pour {body.year}.")
        known = {i.id for i in prog.indicators}
        errs = []
        seen: set[str] = set()
        for k, e in enumerate(body.indicators):
            if e.indicator_id not in known:
                errs.append({"champ": f"indicators.{k}.indicator_id",
                             "message": f"indicateur inconnu du programme {body.programme}"})
            elif e.indicator_id in seen:
                errs.append({"champ": f"indicators.{k}.indicator_id", "message": "indicateur en double"})
            seen.add(e.indicator_id)
            if e.numerator > e.denominator and e.declared_rate is None:
                errs.append({"champ": f"indicators.{k}.numerator",
                             "message": "le numérateur dépasse le dénominateur"})
        if errs:
            return error_response(422, f"Donnée invalide : {errs[0]['champ']} : {errs[0]['message']}", errs)
        entries = [Entry(e.indicator_id, e.numerator, e.denominator, e.start_rate, e.declared_rate)
                   for e in body.indicators]
        # returned as a response: the payload already has the documented shape (checked by
        # schemathesis), so FastAPI's second validation of the output is skipped (speed)
        return JSONResponse(simulate(cat, body.programme, body.year, body.patientele, entries))

    def _reform_from_json(body: ReformIn) -> Reform:
        data = body.model_dump(exclude_none=True)
        data["indicators"] = [{k: v for k, v in row.items() if v is not None} for row in data.get("indicators", [])]
        text = mapping_to_toml(data)
        return parse_reform(text, source="reforme.json")

    @app.post("/api/reform", response_model=ReformOut, responses=ERRORS)
    def api_reform(body: ReformIn) -> Any:
        """Applique une réforme au run servi : budget, déciles, perdants, clause de sauvegarde."""
        try:
            res = state.reform(_reform_from_json(body))
        except RospError as exc:
            return error_response(422, f"Réforme invalide : {exc.reason}",
                                  [{"champ": exc.column or "reform", "message": exc.reason}])
        return res.summary

    @app.get("/api/runs/current/doctors/{doctor_id}", response_model=DoctorOut,
             responses={404: ERRORS[404], 422: ERRORS[422]})
    def api_doctor(doctor_id: DoctorId) -> Any:
        """Les résultats d'un médecin du run (sans aucun patient)."""
        found = doctor_payload(doctor_id)
        return found if found is not None else not_found("Médecin inconnu dans ce run.")

    def doctor_payload(doctor_id: str) -> dict[str, Any] | None:
        pay = state.payments[state.payments["doctor_id"] == doctor_id]
        if pay.empty:
            return None
        ind = state.indicators
        ind = ind[ind["doctor_id"] == doctor_id] if not ind.empty else ind
        return {
            "doctor_id": doctor_id,
            "year": state.year,
            "payments": [{"doctor_id": r.doctor_id, "programme": r.programme, "patientele": int(r.patientele),
                          "points": r.points, "euros": r.euros} for r in pay.itertuples()],
            "indicators": [
                {"programme": r.programme, "indicator_id": r.indicator_id, "numerator": int(r.numerator),
                 "denominator": int(r.denominator), "rate": r.rate, "start_rate": r.start_rate,
                 "neutralised": r.neutralised, "realisation": r.realisation, "branch": r.branch,
                 "points_max": int(r.points_max), "points": r.points, "euros": r.euros}
                for r in ind.itertuples()
            ],
        }

    def authorised(request: Request) -> bool:
        if not state.token:
            return False
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(value.strip().encode(), state.token.encode())

    @app.get(
        "/api/runs/current/doctors/{doctor_id}/evidence",
        response_model=EvidenceOut,
        responses={401: {"model": ErrorOut, "description": "jeton absent ou invalide (ou serveur démarré sans jeton)"},
                   404: ERRORS[404], 422: ERRORS[422]},
        openapi_extra={"security": [{"bearer": []}]},
    )
    def api_evidence(
        request: Request,
        doctor_id: DoctorId,
        indicator_id: IndicatorQuery = None,
    ) -> Any:
        """Pièces patient d'un médecin (identifiants pseudonymisés) — seulement avec le jeton."""
        if not authorised(request):
            return JSONResponse(
                {"message": "Accès aux pièces patient refusé : jeton absent ou invalide.", "erreurs": []},
                status_code=401, headers={"WWW-Authenticate": "Bearer"},
            )
        if doctor_id not in set(state.doctor_ids):
            return not_found("Médecin inconnu dans ce run.")
        return {"doctor_id": doctor_id, "rows": evidence_rows(doctor_id, indicator_id)}

    def evidence_rows(doctor_id: str, indicator_id: str | None) -> list[dict[str, Any]]:
        import duckdb

        files = sorted((state.run_dir / "evidence").glob("*.parquet"))
        if not files:
            return []
        lst = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        sql = f"SELECT * FROM read_parquet([{lst}], union_by_name=true) WHERE doctor_id = ?"
        args = [doctor_id]
        if indicator_id:
            sql += " AND indicator_id = ?"
            args.append(indicator_id)
        df = duckdb.execute(sql + " ORDER BY indicator_id, patient_id", args).df()
        out = []
        for r in df.to_dict("records"):
            out.append({
                "indicator_id": str(r.get("indicator_id", "")), "patient_id": str(r.get("patient_id", "")),
                "in_denominator": bool(r.get("in_denominator", False)),
                "in_numerator": bool(r.get("in_numerator", False)),
                "reason": "" if pd.isna(r.get("reason")) else str(r.get("reason")),
                "claim_table": "" if pd.isna(r.get("claim_table")) else str(r.get("claim_table")),
                "claim_date": "" if pd.isna(r.get("claim_date")) else str(r.get("claim_date"))[:10],
                "claim_code": "" if pd.isna(r.get("claim_code")) else str(r.get("claim_code")),
            })
        return out

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer"}
        for path in schema.get("paths", {}).values():
            for op in path.values():
                if "requestBody" in op:
                    op["responses"].setdefault("400", {
                        "description": "JSON mal formé (corps illisible)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}})
        app.openapi_schema = schema
        return schema

    app.openapi = _openapi  # type: ignore[method-assign]

    # ------------------------------------------------------------------ pages

    def page(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"year": state.year, **ctx})

    def programmes_ctx(year: int) -> list[dict[str, Any]]:
        cat = state.catalogue(year)
        return [{"slug": p.slug, "name": p.name, "reference_patientele": p.reference_patientele,
                 "indicators": [{"id": i.id, "label": i.label, "declarative": i.declarative,
                                 "printed_intermediate": i.printed_intermediate, "printed_target": i.printed_target,
                                 "threshold": i.threshold, "points": i.points,
                                 "intermediate": str(i.intermediate), "target": str(i.target)}
                                for i in p.indicators]}
                for p in cat.programmes]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "simulateur.html", programmes=programmes_ctx(state.year),
                    doctors=doctor_choices(), statement_available=False)

    def doctor_choices() -> list[dict[str, str]]:
        return [{"doctor_id": r.doctor_id, "programme": r.programme, "patientele": r.patientele,
                 "euros": r.euros} for r in state.payments.itertuples()]

    @app.get("/api/runs/current/doctors/{doctor_id}/prefill", include_in_schema=False)
    def prefill(doctor_id: DoctorId) -> Any:
        found = doctor_payload(doctor_id)
        return found if found is not None else not_found("Médecin inconnu dans ce run.")

    @app.get("/reforme", response_class=HTMLResponse, include_in_schema=False)
    def reform_page(request: Request) -> HTMLResponse:
        cat = state.catalogue(state.year)
        return page(request, "reforme.html", programmes=programmes_ctx(state.year),
                    point_value=str(cat.params.get("point_value", state.year).value),
                    share=str(cat.params.get("scoring.intermediate_share", state.year).value),
                    result=None, error=None, toml_text="")

    @app.post("/reforme", response_class=HTMLResponse, include_in_schema=False)
    async def reform_submit(request: Request, fichier: UploadFile | None = File(None)) -> HTMLResponse:
        form = await request.form()
        text = ""
        if fichier is not None and fichier.filename:
            raw = await fichier.read()
            text = raw[:200_000].decode("utf-8", errors="replace")
        elif form.get("toml"):
            text = str(form.get("toml"))
        else:
            text = form_to_toml(form)
        error = None
        res = None
        try:
            reform = parse_reform(text, source=fichier.filename if fichier is not None and fichier.filename else "réforme")
            res = state.reform(reform)
        except RospError as exc:
            error = exc.french()
        cat = state.catalogue(state.year)
        return page(request, "reforme.html", programmes=programmes_ctx(state.year),
                    point_value=str(cat.params.get("point_value", state.year).value),
                    share=str(cat.params.get("scoring.intermediate_share", state.year).value),
                    result=res.summary if res else None, error=error, toml_text=text,
                    key=res.reform.sha256 if res else None, fragment=form.get("fragment") == "1")

    def form_to_toml(form: Any) -> str:
        data: dict[str, Any] = {"reform": {"title": str(form.get("title") or "Réforme sans titre"),
                                           "description": str(form.get("description") or "")},
                                "parameters": {}, "indicators": []}
        cat = state.catalogue(state.year)
        pv = str(form.get("point_value") or "").strip().replace(",", ".")
        if pv and pv != str(cat.params.get("point_value", state.year).value):
            data["parameters"]["point_value"] = pv
        sh = str(form.get("intermediate_share") or "").strip().replace(",", ".")
        if sh and sh != str(cat.params.get("scoring.intermediate_share", state.year).value):
            data["parameters"]["scoring.intermediate_share"] = sh
        for p in cat.programmes:
            v = str(form.get(f"ref_{p.slug}") or "").strip()
            if v and v != str(p.reference_patientele):
                data["parameters"][f"reference_patientele.{p.slug}"] = v
            for i in p.indicators:
                row: dict[str, Any] = {}
                for key, cur in (("intermediate", str(i.intermediate)), ("target", str(i.target))):
                    v = str(form.get(f"{i.id}_{key}") or "").strip().replace(",", ".")
                    if v and Decimal_or_none(v) != Decimal_or_none(cur):
                        row[key] = v
                v = str(form.get(f"{i.id}_points") or "").strip()
                if v and v != str(i.points):
                    row["points"] = int(v) if v.isdigit() else v
                if row:
                    data["indicators"].append({"id": i.id, **row})
        return mapping_to_toml(data)

    @app.get("/reforme/{key}/reforme.toml", include_in_schema=False)
    def reform_download(key: Sha) -> Response:
        if key not in state.reforms:
            return not_found("Réforme inconnue (relancer le calcul).")
        return PlainTextResponse(state.reforms[key][0].text, media_type="application/toml",
                                 headers={"Content-Disposition": 'attachment; filename="reforme.toml"'})

    @app.get("/reforme/{key}/medecins.csv", include_in_schema=False)
    def reform_csv(key: Sha) -> Response:
        if key not in state.reforms:
            return not_found("Réforme inconnue (relancer le calcul).")
        return PlainTextResponse(doctors_csv(state.reforms[key][1].doctors), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="medecins.csv"'})

    @app.get("/medecins/{doctor_id}", response_class=HTMLResponse, include_in_schema=False)
    def doctor_page(request: Request, doctor_id: DoctorId) -> Response:
        found = doctor_payload(doctor_id)
        if found is None:
            return HTMLResponse(templates.get_template("404.html").render(year=state.year), status_code=404)
        cat = state.catalogue(state.year)
        labels = {i.id: i for i in cat.indicators.values()}
        names = {p.slug: p.name for p in cat.programmes}
        evidence = None
        if authorised(request):
            evidence = evidence_rows(doctor_id, None)
        return page(request, "medecin.html", doctor=found, labels=labels, names=names, evidence=evidence,
                    token_configured=bool(state.token), charts=charts_available(),
                    pdf=pdf_link(doctor_id))

    def charts_available() -> bool:
        try:
            from rosp.report.charts import font_dir

            font_dir()
        except Exception:  # noqa: BLE001 - module or font missing: the page says so
            return False
        return True

    @app.get("/medecins/{doctor_id}/graphiques/{indicator_id}.svg", include_in_schema=False)
    def doctor_chart(doctor_id: DoctorId, indicator_id: Annotated[str, PathParam(pattern=INDICATOR_PATTERN)]) -> Response:
        """One indicator's chart, the same as on the statements (rosp.report.charts), cached."""
        key = (doctor_id, indicator_id)
        if key not in chart_cache:
            svg = render_chart(doctor_id, indicator_id)
            if svg is None:
                return not_found("Graphique indisponible.")
            chart_cache[key] = svg
        return Response(chart_cache[key], media_type="image/svg+xml")

    chart_cache: dict[tuple[str, str], str] = {}

    def render_chart(doctor_id: str, indicator_id: str) -> str | None:
        try:
            from rosp.report.charts import ChartError, indicator_chart_svg, wilson_interval
        except ImportError:
            return None
        ind = state.indicators
        rows = ind[(ind["doctor_id"] == doctor_id) & (ind["indicator_id"] == indicator_id)] if not ind.empty else ind
        spec = state.catalogue(state.year).indicators.get(indicator_id)
        if rows.empty or spec is None:
            return None
        r = rows.iloc[0]
        neutral = r["neutralised"] == "true" or r["rate"] == ""
        num, den = int(r["numerator"]), int(r["denominator"])
        try:
            return indicator_chart_svg(
                rate=None if neutral else Decimal(r["rate"]),
                intermediate=spec.intermediate, target=spec.target, direction=spec.direction,
                start_rate=Decimal(r["start_rate"]) if r["start_rate"] else None,
                ci=wilson_interval(num, den) if den > 0 and not neutral and not spec.declarative else None,
            )
        except ChartError:
            return None

    @app.post("/simulateur/graphiques", response_class=HTMLResponse, include_in_schema=False)
    async def simulator_charts(request: Request) -> HTMLResponse:
        """htmx fragment: the simulation's charts, the same as on the statements (one per indicator).

        Form field `payload`: the JSON body of POST /api/simulate."""
        from pydantic import ValidationError
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        try:
            body = SimulateIn.model_validate_json(str(form.get("payload") or ""))
        except ValidationError:
            return HTMLResponse('<p class="muted">Saisie incomplète : graphiques non mis à jour.</p>')
        return HTMLResponse(await run_in_threadpool(simulator_charts_html, body))

    def simulator_charts_html(body: SimulateIn) -> str:
        cat = state.catalogue(body.year)
        try:
            prog = cat.programme(body.programme)
        except KeyError:
            return '<p class="muted">Programme inconnu pour cette année.</p>'
        known = {i.id for i in prog.indicators}
        entries = [Entry(e.indicator_id, e.numerator, e.denominator, e.start_rate, e.declared_rate)
                   for e in body.indicators if e.indicator_id in known]
        if len({e.indicator_id for e in entries}) != len(entries):
            return '<p class="muted">Indicateur en double : graphiques non mis à jour.</p>'
        sim = simulate(cat, body.programme, body.year, body.patientele, entries)
        charts = []
        ok = charts_available()
        for ind, row in zip(prog.indicators, sim["indicators"], strict=True):
            neutral = row["neutralised"] == "true" or row["rate"] == ""
            num, den = int(row["numerator"]), int(row["denominator"])
            ci = None
            if den > 0 and not neutral and not ind.declarative:
                from rosp.report.charts import wilson_interval

                ci = wilson_interval(num, den)
            svg = simulator_svg(ind.direction, str(ind.intermediate), str(ind.target),
                                None if neutral else row["rate"], row["start_rate"] or None,
                                None if ci is None else (round(ci[0], 6), round(ci[1], 6))) if ok else None
            charts.append({"id": ind.id, "label": ind.label, "branch": row["branch_label"],
                           "euros": row["euros"], "svg": svg})
        return templates.get_template("_graphiques.html").render(charts=charts, available=ok)

    def pdf_link(doctor_id: str) -> str | None:
        from urllib.parse import quote

        return f"/medecins/{quote(doctor_id, safe='')}/releve.pdf"

    pdf_cache: OrderedDict[tuple[str, bool], bytes] = OrderedDict()

    @app.get("/medecins/{doctor_id}/releve.pdf", include_in_schema=False)
    def doctor_pdf(request: Request, doctor_id: DoctorId) -> Response:
        """The doctor's statement as PDF (rosp.report, WeasyPrint): the patient annex only with the token."""
        import tempfile

        from rosp.report.charts import ChartError
        from rosp.report.statements import write_statement

        if doctor_payload(doctor_id) is None:
            return not_found("Médecin inconnu dans ce run.")
        with_patients = authorised(request)
        key = (doctor_id, with_patients)
        if key not in pdf_cache:
            try:
                data = state.report_data()
                with tempfile.TemporaryDirectory(prefix="rosp-pdf-") as tmp:
                    out = write_statement(data, doctor_id, "pdf", Path(tmp) / "releve.pdf", with_patients=with_patients)
                    pdf_cache[key] = out.read_bytes()
            except (RospError, ChartError) as exc:
                return error_response(503, f"Relevé PDF indisponible : {getattr(exc, 'reason', exc)}")
            while len(pdf_cache) > 32:
                pdf_cache.popitem(last=False)
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in doctor_id)
        return Response(pdf_cache[key], media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="releve_{name}.pdf"',
                                 "Cache-Control": "private, no-store" if with_patients else "private"})

    return app


@lru_cache(maxsize=4096)
def simulator_svg(direction: str, intermediate: str, target: str, rate: str | None, start: str | None,
                  ci: tuple[float, float] | None) -> str | None:
    """One indicator's chart as a data URI (rosp.report.charts), cached: typing in one
    row re-renders that row's chart only."""
    import base64

    from rosp.report.charts import ChartError, indicator_chart_svg

    try:
        svg = indicator_chart_svg(
            rate=None if rate is None else Decimal(rate), intermediate=Decimal(intermediate), target=Decimal(target),
            direction=direction, start_rate=None if start is None else Decimal(start), ci=ci,
        )
    except ChartError:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _safe(fn):
    def wrapped(v: Any, *a: Any) -> str:
        if v is None or v == "":
            return "—"
        return fn(v, *a)
    return wrapped


def Decimal_or_none(v: str) -> Decimal | None:  # noqa: N802 - tiny helper
    try:
        return Decimal(v)
    except Exception:  # noqa: BLE001
        return None


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
