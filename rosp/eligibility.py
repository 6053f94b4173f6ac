"""Who is paid under which ROSP programme, for a given ROSP year.

Legal basis: L.162-5 21° CSS (individual commitments of conventioned doctors,
LFSS 2010 amendment n° 363, seed 000), convention 2016 art. 27 (opt-out,
method.md §1.11), CAPI superseded by the conventional commitments (seed 000).

Every legal value comes from the dated parameters (`rosp/catalogue/parameters.toml`):
``eligibility.specialty_programmes``, ``eligibility.convention_entry_into_force``,
``eligibility.convention_duration_years``, ``eligibility.opt_out_window_months``,
``eligibility.capi_superseded``, ``eligibility.opt_out_opening.<programme>``,
``eligibility.capi_end``, ``eligibility.capi_identical_programmes``.

Per programme (fidelity review L-07, L-30): each programme has its own opt-out
window, opening on the programme's opening date (``eligibility.opt_out_opening.<slug>``:
24 Oct 2016 for cardiologie and gastro-entérologie, 2 May 2017 for the enfant ROSP,
avenant 1, 10 March 2018 for endocrinologie, avenant 4; the convention's entry into
force when a programme has none) or the installation, whichever is later; the
opt-out date of the register is read against the window of each of the doctor's
programmes. A CAPI is active for N only if signed on or before 31 Dec N and N is
not after ``eligibility.capi_end`` (the 2011 ROSP replaced it from 2012); it plays a
part only for the programmes of ``eligibility.capi_identical_programmes`` (the
« engagements identiques »), elsewhere it is ignored.

Decision order, per doctor (first match wins; one row per doctor x programme):

1. specialty without ROSP programme -> one row, programme "", ``no_programme_for_specialty``
2. not conventioned                  -> ``not_conventioned``
3. installed after 31 Dec of year N  -> ``not_installed_in_year``
4. CAPI active and *not* superseded (reform ``eligibility.capi_superseded = false``)
                                     -> ``capi_not_superseded`` (the CAPI is paid, not the ROSP)
5. valid opt-out covering year N     -> ``opted_out`` (``opted_out_capi_superseded`` with a CAPI)
6. eligible, with the most informative reason:
   ``eligible_capi_superseded`` > ``eligible_opt_out_invalid_late`` >
   ``eligible_opt_out_invalid_early`` > ``eligible_opt_out_expired`` > ``eligible``

Inferred rules (no source states them in these words; [INF]):

* **Opt-out window.** The window opens on the later of the convention's entry
  into force and the installation date (an empty installation date means
  "installed before the entry into force"). It closes ``opt_out_window_months``
  calendar months later, on the day bearing the same number as the opening day
  (the last day of the month when that day does not exist: 30 Nov + 3 months =
  28/29 Feb), which is the French civil computation of a délai in months (art. 641
  CPC). The closing day is **included** (24 Oct 2016 -> last valid day 24 Jan 2017;
  25 Jan 2017 is late). The edge is parameterised: ``evaluate(...,
  opt_out_end_inclusive=False)`` or, if the catalogue ever defines it, the
  boolean parameter ``eligibility.opt_out_window_end_inclusive``. The
  extension of a délai ending on a Saturday, Sunday or bank holiday (art. 642 CPC)
  is *not* applied.
* **Early opt-out.** An opt-out dated before the window opens (before the entry
  into force, e.g. a refusal under the 2011 rules, or before the doctor's
  installation) is not a refusal of the 2016 ROSP: it is invalid and the doctor stays
  eligible (``eligible_opt_out_invalid_early``). Refusals under the 2011 rules could
  be withdrawn at any time (method.md §1.11), so they are not carried over.
* **Late opt-out.** An opt-out after the window closes is invalid; the doctor stays
  eligible (``eligible_opt_out_invalid_late``).
* **Duration.** A valid opt-out is "définitif pour toute la durée de la Convention":
  it covers every ROSP year that overlaps [entry into force, entry into force +
  ``convention_duration_years``), including the year in which it was notified, even
  when it was notified after 31 Dec N within the window (e.g. installed Nov N,
  opted out Jan N+1). For a later year the opt-out has expired
  (``eligible_opt_out_expired``).
* **CAPI.** A CAPI is active for year N when it was signed on or before 31 Dec N.
  With ``capi_superseded`` the conventional commitments replace it: the doctor is
  eligible to the ROSP and the CAPI is not paid (``eligible_capi_superseded``). The
  amendment keeps the CAPI only "si la convention ne prévoit pas des engagements
  identiques"; a doctor who validly opted out of the ROSP still falls under a
  convention that provides those commitments, so the CAPI cannot be revived either:
  nothing is paid (``opted_out_capi_superseded``). No doctor is ever paid twice.
* **Installation.** A doctor installed on or before 31 Dec N is eligible for N (no
  prorata: method.md §1.10, it happens through the patientèle).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from rosp.catalogue.parameters import ParameterError, Parameters, load_parameters
from rosp.errors import RospError
from rosp.textcsv import read_text_csv

COLUMNS = (
    "doctor_id",
    "specialty",
    "conventioned",
    "installed_on",
    "opted_out_on",
    "capi_signed_on",
)
DATE_COLUMNS = ("installed_on", "opted_out_on", "capi_signed_on")
OUTPUT_COLUMNS = ["doctor_id", "programme", "eligible", "reason"]

# Inferred default of the window's closing day ([INF], see module docstring).
OPT_OUT_END_INCLUSIVE_DEFAULT = True
OPT_OUT_END_INCLUSIVE_PARAMETER = "eligibility.opt_out_window_end_inclusive"

REASON_LABELS_FR: dict[str, str] = {
    "eligible": "Éligible",
    "eligible_capi_superseded": (
        "Éligible ; le contrat CAPI est remplacé par les engagements conventionnels "
        "et n'est pas rémunéré"
    ),
    "eligible_opt_out_invalid_late": (
        "Éligible ; refus de la ROSP non valable (notifié après le délai de 3 mois)"
    ),
    "eligible_opt_out_invalid_early": (
        "Éligible ; refus de la ROSP non valable (antérieur à l'ouverture du délai : "
        "entrée en vigueur du programme ou installation)"
    ),
    "eligible_opt_out_expired": (
        "Éligible ; le refus de la ROSP ne vaut que pour la durée de la convention"
    ),
    "opted_out": "Non éligible : refus de la ROSP notifié dans le délai, définitif pour la durée de la convention",
    "opted_out_capi_superseded": (
        "Non éligible : refus de la ROSP notifié dans le délai ; le contrat CAPI, "
        "remplacé par les engagements conventionnels, n'est pas rémunéré"
    ),
    "capi_not_superseded": "Non éligible à la ROSP : le contrat CAPI reste rémunéré",
    "not_conventioned": "Non éligible : médecin non conventionné",
    "not_installed_in_year": "Non éligible : installation postérieure à l'année de référence",
    "no_programme_for_specialty": "Aucune ROSP de la pratique clinique pour cette spécialité",
}

ELIGIBLE_REASONS = frozenset(
    {
        "eligible",
        "eligible_capi_superseded",
        "eligible_opt_out_invalid_late",
        "eligible_opt_out_invalid_early",
        "eligible_opt_out_expired",
    }
)

_TRUE = {"1", "true", "t", "yes", "oui", "vrai"}
_FALSE = {"0", "false", "f", "no", "non", "faux"}
_SPECIALTY = re.compile(r"^\d+(\.0+)?$")


class EligibilityInputError(RospError):
    """The doctor register is malformed (message names file, row, column, reason)."""


def reason_label_fr(code: str) -> str:
    """French label of a reason code, for statements."""
    return REASON_LABELS_FR[code]


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` + `months` calendar months, clamped to the last day of the month.

    Same quantième as the starting day; if that day does not exist in the target
    month, the last day of that month (art. 641 CPC).
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def opt_out_window(
    installed_on: dt.date | None, entry_into_force: dt.date, months: int
) -> tuple[dt.date, dt.date]:
    """(opening day, closing day) of the opt-out window."""
    start = max(entry_into_force, installed_on) if installed_on else entry_into_force
    return start, add_months(start, months)


def classify_opt_out(
    opted_out_on: dt.date | None,
    installed_on: dt.date | None,
    entry_into_force: dt.date,
    months: int,
    end_inclusive: bool = OPT_OUT_END_INCLUSIVE_DEFAULT,
) -> str | None:
    """None (no opt-out), 'valid', 'early' or 'late'."""
    if opted_out_on is None:
        return None
    start, end = opt_out_window(installed_on, entry_into_force, months)
    if opted_out_on < start:
        return "early"
    if opted_out_on < end or (end_inclusive and opted_out_on == end):
        return "valid"
    return "late"


# --------------------------------------------------------------------------- parsing


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _parse_date(value: Any) -> dt.date | None:
    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"invalid date {text!r} (expected yyyy-mm-dd)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"invalid date {text!r} ({exc})") from None


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if _is_missing(value):
        raise ValueError("empty value (expected 1/0 or true/false)")
    text = str(value).strip().lower()
    if text.endswith(".0"):
        text = text[:-2]
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"invalid boolean {value!r} (expected 1/0 or true/false)")


def normalise_specialty(value: Any) -> str:
    """SNDS specialty code without leading zeros: '01' -> '1', 3 -> '3', '42' -> '42'."""
    if _is_missing(value):
        raise ValueError("empty specialty")
    text = str(value).strip()
    if not _SPECIALTY.fullmatch(text):
        raise ValueError(f"invalid specialty code {text!r} (expected a numeric SNDS code)")
    return str(int(text.split(".")[0]))


def _doctor_id(value: Any) -> str:
    if _is_missing(value):
        raise ValueError("empty doctor_id")
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text


def validate_doctors(doctors: pd.DataFrame, source: str = "<doctors>") -> list[dict[str, Any]]:
    """Check and normalise the register; one dict per doctor.

    Raises EligibilityInputError naming `source`, the 1-based data row, the column
    and the reason.
    """
    missing = [c for c in COLUMNS if c not in doctors.columns]
    if missing:
        raise EligibilityInputError(
            f"{source}: missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})"
        )
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    parsers = {
        "doctor_id": _doctor_id,
        "specialty": normalise_specialty,
        "conventioned": _parse_bool,
        **{c: _parse_date for c in DATE_COLUMNS},
    }
    for row_number, row in enumerate(doctors[list(COLUMNS)].itertuples(index=False), start=1):
        record: dict[str, Any] = {}
        for column, value in zip(COLUMNS, row, strict=True):
            try:
                record[column] = parsers[column](value)
            except ValueError as exc:
                raise EligibilityInputError(
                    f"{source}: row {row_number}, column {column}: {exc}"
                ) from None
        doctor = record["doctor_id"]
        if doctor in seen:
            raise EligibilityInputError(
                f"{source}: row {row_number}, column doctor_id: duplicate doctor "
                f"{doctor!r} (first seen at row {seen[doctor]})"
            )
        seen[doctor] = row_number
        records.append(record)
    return records


def read_doctors_csv(path: Path | str) -> pd.DataFrame:
    """Read and validate a doctor register CSV (all columns kept as text)."""
    path = Path(path)
    frame = read_text_csv(path, EligibilityInputError)
    validate_doctors(frame, source=str(path))
    return frame


# --------------------------------------------------------------------------- rules


def _optional(params: Parameters, name: str, year: int):
    """A parameter value, or None when the parameter is absent or not in force for `year`."""
    if name not in params.names:
        return None
    try:
        return params.get(name, year)
    except ParameterError:
        return None


def _end_inclusive(params: Parameters, year: int, override: bool | None) -> bool:
    if override is not None:
        return override
    try:
        return params.get(OPT_OUT_END_INCLUSIVE_PARAMETER, year).boolean
    except ParameterError:
        return OPT_OUT_END_INCLUSIVE_DEFAULT


def _decide(
    record: dict[str, Any],
    year: int,
    entry: dt.date,
    convention_end: dt.date,
    months: int,
    capi_superseded: bool,
    end_inclusive: bool,
    *,
    opening: dt.date | None = None,
    capi_end: dt.date | None = None,
    capi_applies: bool = True,
) -> str:
    """Reason code for one doctor × programme; `opening` opens the programme's window."""
    if not record["conventioned"]:
        return "not_conventioned"
    if record["installed_on"] is not None and record["installed_on"] > dt.date(year, 12, 31):
        return "not_installed_in_year"
    capi = (
        capi_applies
        and record["capi_signed_on"] is not None
        and record["capi_signed_on"] <= dt.date(year, 12, 31)
        and (capi_end is None or dt.date(year, 1, 1) <= capi_end)
    )
    if capi and not capi_superseded:
        return "capi_not_superseded"
    opt_out = classify_opt_out(
        record["opted_out_on"], record["installed_on"], opening or entry, months, end_inclusive
    )
    # Year N is covered by the convention if it overlaps [entry, convention_end).
    covered = dt.date(year, 1, 1) < convention_end and dt.date(year, 12, 31) >= entry
    if opt_out == "valid" and covered:
        return "opted_out_capi_superseded" if capi else "opted_out"
    if capi:
        return "eligible_capi_superseded"
    if opt_out == "late":
        return "eligible_opt_out_invalid_late"
    if opt_out == "early":
        return "eligible_opt_out_invalid_early"
    if opt_out == "valid":
        return "eligible_opt_out_expired"
    return "eligible"


def evaluate(
    doctors: pd.DataFrame,
    year: int,
    params: Parameters | None = None,
    *,
    opt_out_end_inclusive: bool | None = None,
) -> pd.DataFrame:
    """Eligibility of each doctor for each ROSP programme of `year`.

    Returns columns doctor_id, programme, eligible (bool), reason (code of
    REASON_LABELS_FR), one row per doctor x programme, sorted by doctor_id, programme.
    """
    params = params or load_parameters()
    mapping = {
        normalise_specialty(k): v.strip()
        for k, v in params.get("eligibility.specialty_programmes", year).as_mapping().items()
    }
    programmes_of: dict[str, list[str]] = {}
    for spec, programme in mapping.items():
        programmes_of.setdefault(spec, []).append(programme)
    entry = params.get("eligibility.convention_entry_into_force", year).date
    duration = params.get("eligibility.convention_duration_years", year).integer
    convention_end = add_months(entry, 12 * duration)
    months = params.get("eligibility.opt_out_window_months", year).integer
    capi_superseded = params.get("eligibility.capi_superseded", year).boolean
    end_inclusive = _end_inclusive(params, year, opt_out_end_inclusive)
    capi_end = _optional(params, "eligibility.capi_end", year)
    capi_end_date = capi_end.date if capi_end is not None else None
    identical = _optional(params, "eligibility.capi_identical_programmes", year)
    identical_set = set(identical.as_list()) if identical is not None else None  # None: every programme
    openings: dict[str, dt.date] = {}
    for programme in sorted(set(mapping.values())):
        opening = _optional(params, f"eligibility.opt_out_opening.{programme}", year)
        openings[programme] = opening.date if opening is not None else entry

    rows: list[tuple[str, str, bool, str]] = []
    for record in validate_doctors(doctors):
        programmes = programmes_of.get(record["specialty"])
        if not programmes:
            rows.append((record["doctor_id"], "", False, "no_programme_for_specialty"))
            continue
        for programme in programmes:
            reason = _decide(
                record, year, entry, convention_end, months, capi_superseded, end_inclusive,
                opening=openings[programme],
                capi_end=capi_end_date,
                capi_applies=identical_set is None or programme in identical_set,
            )
            rows.append((record["doctor_id"], programme, reason in ELIGIBLE_REASONS, reason))
    out = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    out["doctor_id"] = out["doctor_id"].astype(object)
    out["programme"] = out["programme"].astype(object)
    out["eligible"] = out["eligible"].astype(bool)
    out["reason"] = out["reason"].astype(object)
    return out.sort_values(["doctor_id", "programme"], kind="stable").reset_index(drop=True)


def write_eligibility_csv(result: pd.DataFrame, out: Path | str) -> None:
    """Write the eligibility table (eligible as true/false)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = result[OUTPUT_COLUMNS].copy()
    frame["eligible"] = frame["eligible"].map({True: "true", False: "false"})
    frame.to_csv(out, index=False)


def run_eligibility(doctors_csv: Path, year: int, out: Path) -> pd.DataFrame:
    """Read the register, evaluate year `year`, write `out` (CSV) and return the table."""
    doctors = read_doctors_csv(doctors_csv)
    result = evaluate(doctors, year)
    write_eligibility_csv(result, out)
    return result
