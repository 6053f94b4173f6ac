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


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    import shutil
    import subprocess

    tool = shutil.which("pdftotext")
    assert tool, "pdftotext not found: apt-get install -y poppler-utils (make system-deps)"
    f = tmp_path / "releve.pdf"
    f.write_bytes(pdf)
    return subprocess.run([tool, str(f), "-"], capture_output=True, text=True, check=True).stdout


def test_explorer_links_the_statement_pdf_without_patients(client, web_run, patient_ids, a_doctor, tmp_path):
    """/medecins/{id} links its statement PDF (rosp.report, WeasyPrint); without the token it names no
    patient. (The doctor id in the text shows the extraction works; the annex with the token is the
    statements' own path, tested in tests/report, and too slow to render here for the busiest doctor.)"""
    page = client.get(f"/medecins/{a_doctor}").text
    link = re.search(r'href="(/medecins/[^"]+\.pdf)"', page)
    assert link, "no PDF link on the run explorer"
    r = client.get(link.group(1))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content[:4] == b"%PDF"
    text = _pdf_text(r.content, tmp_path)
    assert a_doctor in text
    assert not [p for p in patient_ids if p in text]
    assert client.get("/medecins/000000000/releve.pdf").status_code == 404
