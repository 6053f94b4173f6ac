"""Individual statements: PDF text, charts in the HTML, first page as a picture, no remote fetch."""

from __future__ import annotations

import re
import struct
import subprocess
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.report.statement import fr_euros


def _norm(text: str) -> str:
    """Collapse whitespace (line breaks, no-break and thin spaces) for comparisons."""
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text).strip()


@pytest.fixture(scope="module")
def pdf_statement(run_data, busiest_doctor, tmp_path_factory):
    from rosp.report.statements import write_statement

    out = tmp_path_factory.mktemp("pdf") / "releve.pdf"
    write_statement(run_data, busiest_doctor, "pdf", out)
    return out


def test_pdf_text_has_every_label_and_the_total(pdf_statement, demo_run, busiest_doctor, need):
    text = _norm(subprocess.run([need("pdftotext"), "-layout", str(pdf_statement), "-"],
                                capture_output=True, text=True, check=True).stdout)
    flat = _norm(subprocess.run([need("pdftotext"), str(pdf_statement), "-"],
                                capture_output=True, text=True, check=True).stdout)
    pay = pd.read_csv(demo_run / "payments.csv", dtype=str, keep_default_na=False)
    mine = pay[pay["doctor_id"] == busiest_doctor]
    cat = load_catalogue(2018)
    for slug in mine["programme"]:
        for ind in cat.programme(slug).indicators:
            assert _norm(ind.label) in flat, f"{ind.id} label missing from the PDF"
    total = sum((Decimal(e) for e in mine["euros"]), Decimal(0))
    assert _norm(f"Total ROSP 2018 : {fr_euros(total)}") in text
    assert "\u202f" in fr_euros(Decimal("1234.5"))  # the French format has a thin space


def test_pdf_first_page_picture(pdf_statement, tmp_path, need):
    subprocess.run([need("pdftoppm"), "-r", "40", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf_statement), str(tmp_path / "page")], check=True)
    png = (tmp_path / "page.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (331, 468)  # A4 at 40 dpi
    assert len(png) > 8000  # not a blank page


def test_html_has_one_chart_per_scored_indicator(run_data, demo_run):
    from rosp.report.statements import statement_html

    ind = pd.read_csv(demo_run / "indicators.csv", dtype=str, keep_default_na=False)
    for doctor in run_data.doctor_ids[:4]:
        html = statement_html(run_data.statement(doctor))
        n = int((ind["doctor_id"] == doctor).sum())
        assert html.count('<div class="chart"><svg') == n, doctor
        assert html.count("<svg") == n
        for iid in ind.loc[ind["doctor_id"] == doctor, "indicator_id"]:
            assert f'id="{iid}"' in html


def test_html_is_offline_and_has_no_internal_tags(run_data, busiest_doctor):
    from rosp.report.statements import statement_html

    html = statement_html(run_data.statement(busiest_doctor))
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "http://" not in html.replace("http://www.w3.org", "")
    for tag in ("[V]", "[INF]", "[V-sec]", "method.md", "seed 0"):
        assert tag not in html, tag
    assert "Convention médicale 2016, art. 27.2.4" in html
    assert "Comment contester" in html


def test_weasyprint_fetches_file_and_data_only(tmp_path):
    from rosp.report.html import RenderError, safe_url_fetcher

    with pytest.raises(RenderError, match="only file: and data:"):
        safe_url_fetcher("https://cdn.example.org/x.css")
    png = tmp_path / "x.txt"
    png.write_text("ok")
    assert safe_url_fetcher(png.as_uri())


def test_remote_image_is_not_fetched(tmp_path):
    """A remote URL in the HTML is refused (WeasyPrint logs and skips it): the PDF still renders."""
    from rosp.report.html import html_to_pdf

    out = html_to_pdf('<p>x</p><img src="http://127.0.0.1:9/x.png">', tmp_path / "x.pdf")
    assert out.read_bytes()[:4] == b"%PDF"


def test_patient_annex_is_optional(run_data, busiest_doctor):
    from rosp.report.statements import statement_html

    without = statement_html(run_data.statement(busiest_doctor))
    with_ = statement_html(run_data.statement(busiest_doctor, with_patients=True))
    assert "Annexe" not in without and "Annexe" in with_
    ev = run_data._evidence(busiest_doctor)
    some = ev[ev["in_numerator"]].iloc[0]
    assert str(some["patient_id"]) in with_ and str(some["patient_id"]) not in without
    assert "au numérateur" in with_


def test_wilson_interval_and_straddle(run_data):
    from rosp.report.charts import wilson_interval

    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 5)[0] == 0.0
    lines = [ln for d in run_data.doctor_ids for p in run_data.statement(d).programmes for ln in p.lines]
    straddling = [ln for ln in lines if ln.straddles]
    assert straddling, "a small synthetic run has small denominators"
    for ln in straddling:
        lo, hi = ln.wilson
        assert any(lo < float(g) < hi for g in (ln.intermediate, ln.target))


def test_cli_statement_and_errors(cli, demo_run, busiest_doctor, tmp_path):
    out = tmp_path / "r.html"
    r = cli("statement", "--run", str(demo_run), "--doctor", busiest_doctor, "--format", "html", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    r = cli("statement", "--run", str(demo_run), "--doctor", "nobody", "--format", "html", "--out", str(out))
    assert r.returncode == 2 and "nobody" in r.stderr
    r = cli("statement", "--run", str(demo_run), "--doctor", busiest_doctor, "--format", "docx", "--out", str(out))
    assert r.returncode == 2 and "html ou pdf" in r.stderr


def test_statements_batch_parallel_equals_serial(demo_run, tmp_path):
    from rosp.report.statements import write_statements

    a = write_statements(demo_run, tmp_path / "a", "html", jobs=1)
    b = write_statements(demo_run, tmp_path / "b", "html", jobs=2)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_failed_statement_render_leaves_no_file_and_keeps_the_old_one(demo_run, busiest_doctor, tmp_path,
                                                                      monkeypatch):
    """reason: a half-written PDF, or a new name on an old statement, would look like a result."""
    import rosp.report.statements as st
    from rosp.report.model import RunData

    out = tmp_path / "r.pdf"
    out.write_bytes(b"old statement")

    def broken(html, target, base_url=None):
        Path(target).write_bytes(b"%PDF-1.7 half")
        raise OSError("disque plein")

    monkeypatch.setattr(st, "html_to_pdf", broken)
    with pytest.raises(OSError):
        st.write_statement(RunData(demo_run, None), busiest_doctor, "pdf", out, False)
    assert out.read_bytes() == b"old statement"
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]


def test_cli_statements_folder_is_refused_when_full_and_replaced_with_overwrite(cli, demo_run, tmp_path):
    out = tmp_path / "releves"
    out.mkdir()
    (out / "stale.html").write_text("x")
    r = cli("statements", "--run", str(demo_run), "--out", str(out))
    assert r.returncode == 2 and "--overwrite" in r.stderr
    r = cli("statements", "--run", str(demo_run), "--out", str(out), "--overwrite")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "stale.html" not in names and names and all(n.startswith("releve_") for n in names)
