"""The JSON API: catalogue, simulate, reform, doctor results, evidence under the access rule."""

from __future__ import annotations

from pathlib import Path

import pytest

TOKEN = "jeton-de-test-0123456789"  # as in conftest.py

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
SIM = {"programme": "mt-enfant", "year": 2018, "patientele": 600,
       "indicators": [{"indicator_id": "ENF-01", "numerator": 20, "denominator": 37, "start_rate": 0.4}]}


def test_programmes_and_indicators(client):
    r = client.get("/api/programmes", params={"year": 2018})
    assert r.status_code == 200
    slugs = [p["slug"] for p in r.json()]
    assert slugs == ["cardiologie", "endocrinologie", "gastro-enterologie", "mt-enfant"]
    r = client.get("/api/programmes/mt-enfant/indicators", params={"year": 2018})
    assert r.status_code == 200 and r.json()[0]["id"].startswith("ENF-")
    # 2017: no conventional table is sourced, so the year is unknown (not 2018's tables reused)
    r = client.get("/api/programmes?year=2017")
    assert r.status_code == 404 and "Aucun tableau" in r.json()["message"]


def test_unknown_programme_is_404(client):
    r = client.get("/api/programmes/pediatrie/indicators")
    assert r.status_code == 404 and "inconnu" in r.json()["message"]


def test_simulate_returns_the_score_columns_branch_and_what_it_would_take(client):
    r = client.post("/api/simulate", json=SIM)
    assert r.status_code == 200, r.text
    body = r.json()
    row = body["indicators"][0]
    assert row["indicator_id"] == "ENF-01" and row["rate"] == "0.540541"
    assert row["branch"] == "above_intermediate"
    assert "26/37" in row["ce_qu_il_faudrait"]["text"]  # ceil(0.70 × 37) = 26 for the target
    assert body["payment"]["euros"] == "143.71"
    assert [i["indicator_id"] for i in body["indicators"]][:2] == ["ENF-01", "ENF-02"]


@pytest.mark.parametrize(
    "patch, field, words",
    [
        ({"patientele": False}, "patientele", "entier"),  # reason: strict, false is not a number
        ({"patientele": "600"}, "patientele", "entier"),  # reason: strict, a string is not a number
        ({"patientele": -1}, "patientele", "≥ 0"),
        ({"year": 1999}, "year", "≥ 2017"),
        ({"programme": "MT enfant"}, "programme", "format"),
        ({"indicators": [{"indicator_id": "ENF-01", "numerator": 1.5, "denominator": 3}]}, "indicators.0.numerator", "entier"),
        ({"indicators": [{"indicator_id": "ENF-01", "numerator": 1, "denominator": 3, "start_rate": 2}]}, "indicators.0.start_rate", "≤ 1"),
        ({"indicators": [{"indicator_id": "ENF-01", "numerator": 5, "denominator": 3}]}, "indicators.0.numerator", "dépasse"),
        ({"indicators": [{"indicator_id": "CAR-01", "numerator": 1, "denominator": 3}]}, "indicators.0.indicator_id", "inconnu"),
        ({"extra": 1}, "extra", "inconnu"),
    ],
)
def test_invalid_input_is_422_in_french_naming_the_field(client, patch, field, words):
    r = client.post("/api/simulate", json={**SIM, **patch})
    assert r.status_code == 422, r.text
    body = r.json()
    assert any(e["champ"] == field and words in e["message"] for e in body["erreurs"]), body
    assert field in body["message"]


def test_malformed_json_is_a_documented_400(client):
    r = client.post("/api/simulate", content=b'{"programme": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON mal formé" in r.json()["message"]
    spec = client.get("/openapi.json").json()
    assert "400" in spec["paths"]["/api/simulate"]["post"]["responses"]
    assert "400" in spec["paths"]["/api/reform"]["post"]["responses"]


def test_errors_never_echo_the_input(client, patient_ids):
    pid = sorted(patient_ids)[0]
    r = client.post("/api/simulate", json={**SIM, "programme": pid})
    assert r.status_code in (404, 422) and pid not in r.text
    r = client.get(f"/api/runs/current/doctors/{pid}")
    assert r.status_code == 404 and pid not in r.text


def test_doctor_results_and_unknown_doctor(client, a_doctor):
    r = client.get(f"/api/runs/current/doctors/{a_doctor}")
    assert r.status_code == 200
    body = r.json()
    assert body["doctor_id"] == a_doctor and body["payments"] and body["indicators"]
    assert client.get("/api/runs/current/doctors/000000000").status_code == 404


def test_evidence_needs_a_token_at_start_and_in_the_request(client, token_client, a_doctor):
    url = f"/api/runs/current/doctors/{a_doctor}/evidence"
    # server started without a token: always 401, even with a header
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    # server with a token: 401 without it or with a wrong one, 200 with it
    assert token_client.get(url).status_code == 401
    assert token_client.get(url, headers={"Authorization": "Bearer faux"}).status_code == 401
    r = token_client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["rows"] and r.json()["rows"][0]["patient_id"]


def test_reform_api_matches_the_cli_engine(client, web_run):
    from rosp.reform.engine import compute, load_run
    from rosp.reform.model import load_reform

    r = client.post("/api/reform", json={"reform": {"title": "point"}, "parameters": {"point_value": "7.50"}})
    assert r.status_code == 200, r.text
    expected = compute(load_run(web_run), load_reform(REFORMS / "point-750.toml")).summary
    assert r.json()["total"] == expected["total"]
    assert r.json()["budget"] == expected["budget"]


def test_reform_api_impossible_value_is_422(client):
    r = client.post("/api/reform", json={"reform": {"title": "x"}, "parameters": {"point_value": "-1"}})
    assert r.status_code == 422 and "impossible" in r.json()["message"]
    r = client.post("/api/reform", json={"reform": {"title": "x"}, "indicators": [{"id": "ENF-01", "target": "0.01"}]})
    assert r.status_code == 422 and "impossible" in r.json()["message"]
    r = client.post("/api/reform", json={"reform": {"title": "x"}, "parameters": {"valeur_point": "7"}})
    assert r.status_code == 422 and "inconnu" in r.json()["message"]


def test_pages_render(client, a_doctor):
    assert "Simulateur" in client.get("/").text
    assert "Réforme" in client.get("/reforme").text
    page = client.get(f"/medecins/{a_doctor}")
    assert page.status_code == 200 and a_doctor in page.text
    assert client.get("/medecins/000000000").status_code == 404


def test_reform_page_form_upload_and_downloads(client):
    r = client.post("/reforme", data={"title": "t", "point_value": "7.50"})
    assert r.status_code == 200 and 'id="budget-after"' in r.text
    toml = (REFORMS / "point-750.toml").read_bytes()
    r2 = client.post("/reforme", files={"fichier": ("point-750.toml", toml, "application/toml")})
    assert r2.status_code == 200 and "Valeur du point à 7,50 €" in r2.text
    import re

    links = re.findall(r'href="(/reforme/[0-9a-f]{64}/[a-z.]+)"', r2.text)
    assert len(links) == 2
    assert client.get(links[0]).text == toml.decode()
    assert client.get(links[1]).text.startswith("doctor_id,programme,patientele")
    bad = client.post("/reforme", files={"fichier": ("bad.toml", b'[reform]\ntitle = "x"\n[parameters]\npoint_value = "-2"\n', "application/toml")})
    # the page speaks French, location included (it once printed "bad.toml, line 4, key point_value")
    assert "fichier bad.toml, ligne 4, clé point_value :" in bad.text
    assert "line 4" not in bad.text and "key " not in bad.text


def test_no_cdn_and_served_on_localhost_by_default():
    import inspect

    from rosp.web import command

    assert '"127.0.0.1"' in inspect.getsource(command.serve_command)
    here = Path(__file__).resolve().parents[2] / "rosp" / "web"
    for f in (here / "templates").glob("*.html"):
        text = f.read_text()
        assert "http://" not in text and "https://" not in text, f


def test_doctor_page_shows_the_statement_charts(client, a_doctor):
    page = client.get(f"/medecins/{a_doctor}").text
    import re

    srcs = re.findall(r'src="(/medecins/[^"]+\.svg)"', page)
    assert srcs, "the doctor page should embed the per-indicator charts"
    r = client.get(srcs[0])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and "<svg" in r.text


def test_serve_workers_build_their_app_from_the_environment(web_run, monkeypatch):
    """`rosp serve --workers N`: each uvicorn worker builds the application of the run named in ROSP_SERVE_RUN."""
    from fastapi.testclient import TestClient

    from rosp.web.command import RUN_ENV, app_from_env

    monkeypatch.setenv(RUN_ENV, str(web_run))
    monkeypatch.delenv("ROSP_API_TOKEN", raising=False)
    r = TestClient(app_from_env()).get("/api/programmes", params={"year": 2018})
    assert r.status_code == 200 and r.json()


def test_simulator_chart_fragment_has_one_statement_chart_per_indicator(client):
    """The htmx fragment of the simulator: the statements' chart (SVG) for every indicator of the programme."""
    import base64
    import json
    import re

    body = {"programme": "mt-enfant", "year": 2018, "patientele": 640,
            "indicators": [{"indicator_id": "ENF-01", "numerator": 21, "denominator": 37, "start_rate": 0.4}]}
    r = client.post("/simulateur/graphiques", data={"payload": json.dumps(body)})
    assert r.status_code == 200
    figures = re.findall(r'<figure class="chart" data-indicator="([A-Z]+-\d+)"', r.text)
    from rosp.catalogue import load_catalogue

    assert figures == [i.id for i in load_catalogue(2018).programme("mt-enfant").indicators]
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', r.text)
    assert len(uris) == len(figures)
    assert base64.b64decode(uris[0]).startswith(b"<svg")
    assert "entre l&#39;objectif intermédiaire et l&#39;objectif cible" in r.text.split("ENF-02")[0]
    # an unreadable payload leaves the charts as they were, with a note
    bad = client.post("/simulateur/graphiques", data={"payload": "{"})
    assert bad.status_code == 200 and "<figure" not in bad.text


def test_simulate_gives_the_rules_as_decimal_text(client):
    """The page prints « part à l'objectif intermédiaire 30 % »: the share is '0.3', not the fraction '3/10'."""
    body = {"programme": "mt-enfant", "year": 2018, "patientele": 600, "indicators": []}
    out = client.post("/api/simulate", json=body).json()
    assert out["intermediate_share"] == "0.3" and out["point_value"] == "7"
