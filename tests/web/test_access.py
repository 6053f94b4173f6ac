"""Who may see what: no page or endpoint shows a patient id without the token."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

TOKEN = "jeton-de-test-0123456789"  # as in conftest.py
REFORMS = Path(__file__).resolve().parents[2] / "reforms"


def _responses(c, run_dir: Path, headers=None) -> dict[str, str]:
    """Every page and endpoint response of the served run, by URL."""
    out: dict[str, str] = {}

    def get(url):
        out["GET " + url] = c.get(url, headers=headers).text

    for url in ("/", "/reforme", "/openapi.json", "/api/programmes", "/static/simulateur.js", "/static/app.css"):
        get(url)
    for slug in [p["slug"] for p in c.get("/api/programmes").json()]:
        get(f"/api/programmes/{slug}/indicators")
    doctors = sorted(set(pd.read_csv(run_dir / "payments.csv", dtype=str)["doctor_id"]))
    for d in doctors:
        get(f"/medecins/{d}")
        get(f"/api/runs/current/doctors/{d}")
        get(f"/api/runs/current/doctors/{d}/prefill")
        get(f"/api/runs/current/doctors/{d}/evidence")
    for f in sorted(REFORMS.glob("*.toml")):
        page = c.post("/reforme", files={"fichier": (f.name, f.read_bytes(), "application/toml")}, headers=headers).text
        out["POST /reforme " + f.name] = page
        for link in re.findall(r'href="(/reforme/[0-9a-f]{64}/[a-z.]+)"', page):
            get(link)
        out["POST /api/reform " + f.name] = c.post(
            "/api/reform", json={"reform": {"title": f.stem}, "parameters": {"point_value": "7.50"}}, headers=headers).text
    out["POST /api/simulate"] = c.post("/api/simulate", json={"programme": "mt-enfant", "year": 2018, "patientele": 600,
                                                               "indicators": []}, headers=headers).text
    return out


def _leaks(responses: dict[str, str], patient_ids: set[str]) -> list[tuple[str, str]]:
    pattern = re.compile("|".join(re.escape(p) for p in sorted(patient_ids)))
    return [(url, m.group(0)[:4] + "…") for url, text in responses.items() if (m := pattern.search(text))]


def test_no_patient_id_anywhere_without_the_token(client, token_client, web_run, patient_ids):
    for c in (client, token_client):  # started without a token; started with one, request without it
        responses = _responses(c, web_run)
        assert len(responses) > 50
        assert _leaks(responses, patient_ids) == []


def test_the_scan_can_fail_with_the_token_the_explorer_shows_patients(token_client, web_run, patient_ids, a_doctor):
    page = token_client.get(f"/medecins/{a_doctor}", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert _leaks({"page": page}, patient_ids), "the doctor page with the token should list the evidence"
    # and the same page without the header shows none
    assert _leaks({"page": token_client.get(f"/medecins/{a_doctor}").text}, patient_ids) == []
