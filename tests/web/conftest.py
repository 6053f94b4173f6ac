"""A small demo-like run served by the web application (TestClient, in-process)."""

import pytest

TOKEN = "jeton-de-test-0123456789"


@pytest.fixture(scope="session")
def web_run(tmp_path_factory):
    from rosp.engine.run import run
    from rosp.synth import generate

    root = tmp_path_factory.mktemp("web_run")
    generate(20_000, 7, 2018, root / "data")
    run(root / "data", 2018, root / "run")
    return root / "run"


@pytest.fixture(scope="session")
def client(web_run):
    from fastapi.testclient import TestClient

    from rosp.web.app import create_app

    return TestClient(create_app(web_run, token=""))


@pytest.fixture(scope="session")
def token_client(web_run):
    from fastapi.testclient import TestClient

    from rosp.web.app import create_app

    return TestClient(create_app(web_run, token=TOKEN))


@pytest.fixture(scope="session")
def patient_ids(web_run):
    import duckdb

    files = sorted((web_run / "evidence").glob("*.parquet"))
    lst = ", ".join(f"'{f}'" for f in files)
    ids = {r[0] for r in duckdb.execute(f"SELECT DISTINCT patient_id FROM read_parquet([{lst}], union_by_name=true)").fetchall()}
    assert len(ids) > 100
    return ids


@pytest.fixture(scope="session")
def a_doctor(web_run):
    import pandas as pd

    pay = pd.read_csv(web_run / "payments.csv", dtype=str)
    return pay.sort_values("euros", key=lambda s: s.astype(float), ascending=False).iloc[0]["doctor_id"]
