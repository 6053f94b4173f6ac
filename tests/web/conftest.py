"""The web application on the session's shared small run (TestClient, in-process)."""

import pytest

TOKEN = "jeton-de-test-0123456789"


@pytest.fixture(scope="session")
def web_run(demo_like_run):
    """The session's shared small run (tests/conftest.py), served read-only."""
    return demo_like_run


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
