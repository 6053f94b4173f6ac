"""A real browser (Debian's chromium, driven by Playwright) on the live server.

Never `playwright install`: the browser is the system one, at CHROMIUM. A machine
without it FAILS with what to install (no silent skip). Screenshots are kept as
test artefacts in out/test-artefacts/browser/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ROSP_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "out" / "test-artefacts" / "browser"
INSTALL = ("the browser test needs Debian's chromium and the Playwright Python package: "
           "run `make system-deps` (apt-get install -y chromium) and `.venv/bin/pip install -e '.[dev]'`")


def _norm(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() or ch in ",-")


@pytest.fixture(scope="module")
def server(web_run):
    import uvicorn

    from rosp.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(web_run, token=""), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(timeout=10)


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not found — {INSTALL}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"playwright is not installed — {INSTALL}")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - report what to install
            pytest.fail(f"cannot start {CHROMIUM} ({exc.__class__.__name__}: {str(exc)[:200]}) — {INSTALL}")
        pg = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        yield pg
        browser.close()


def test_typing_a_numerator_shows_the_engine_euros(server, page):
    from rosp.catalogue import load_catalogue
    from rosp.report.statement import fr_euros
    from rosp.web.simulate import Entry, simulate

    page.goto(server + "/")
    page.select_option("#programme", "mt-enfant")
    page.fill("#patientele", "640")
    row = page.locator('tr[data-id="ENF-01"]')
    row.locator('[data-f="denominator"]').fill("37")
    row.locator('[data-f="start_rate"]').fill("40")
    row.locator('[data-f="numerator"]').press_sequentially("21", delay=30)
    expected = simulate(load_catalogue(2018), "mt-enfant", 2018, 640, [Entry("ENF-01", 21, 37, 0.4)])
    euros = expected["payment"]["euros"]
    assert euros != "0.00"
    want = _norm(fr_euros(euros))
    page.wait_for_function(
        "want => { const t = document.getElementById('total-euros').textContent;"
        " return t.replace(/[^0-9,-]/g, '') === want; }", arg=want, timeout=15_000)
    branch = row.locator('[data-o="branch_label"]').inner_text()
    assert branch == "entre l'objectif intermédiaire et l'objectif cible"
    # the charts of the statements, one per indicator, re-rendered server-side (htmx fragment)
    n = page.locator("#indicators tbody tr").count()
    page.wait_for_function(
        "n => document.querySelectorAll('#sim-charts figure img[src^=\"data:image/svg+xml\"]').length === n"
        " && document.querySelector('#sim-charts figure[data-indicator=\"ENF-01\"]').textContent"
        ".includes(\"entre l'objectif intermédiaire\")", arg=n, timeout=30_000)
    assert page.locator('#sim-charts figure[data-indicator="ENF-01"] img').evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=str(ARTEFACTS / "simulateur.png"), full_page=True)


def test_reform_page_shows_the_expected_budget(server, page, web_run):
    from rosp.reform.engine import compute, load_run
    from rosp.reform.model import load_reform
    from rosp.report.statement import fr_euros

    reform_file = ROOT / "reforms" / "point-750.toml"
    expected = compute(load_run(web_run), load_reform(reform_file)).summary["total"]["after"]
    page.goto(server + "/reforme")
    page.set_input_files("#fichier", str(reform_file))
    page.click("#compute")
    page.wait_for_selector("#budget-after", timeout=20_000)
    assert _norm(page.inner_text("#budget-after")) == _norm(fr_euros(expected))
    assert page.locator("#deciles tbody tr").count() == 10
    page.screenshot(path=str(ARTEFACTS / "reforme.png"), full_page=True)
