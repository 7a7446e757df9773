"""The weekly report: numbers equal the registry's, HTML makes no external requests, the PDF
(printed by Debian's chromium) has the expected sections, the command line writes both."""

from __future__ import annotations

import argparse
import re
import subprocess
import unicodedata

import pandas as pd
import pypdf
import pytest

from o2o_ops import db, metrics, report, weekly
from o2o_ops.cli import report_cmd
from o2o_ops.filters import Filters
from o2o_ops.weekly import Week
from tests.tiny import build_tiny

W44, W45 = Week.parse("2026-W44"), Week.parse("2026-W45")
SECTIONS = ("Headline KPIs", "Summary", "13-week trends", "Best and worst stores of the week",
            "Symmetry attention list", "Appendix A — KPI definitions", "Appendix B — Data freshness")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("report") / "tiny.duckdb")


@pytest.fixture(scope="module")
def con(warehouse):
    connection = db.connect(warehouse)
    yield connection
    connection.close()


@pytest.mark.parametrize("flt", [Filters(), Filters(cities=("Shanghai",)), Filters(channels=("wechat",))])
def test_report_numbers_equal_the_registry(con, flt):
    html = report.build_html(con, flt, W45)
    total = metrics.compute(con, W45.filters(flt), "total", metrics.HEADLINE).iloc[0]
    cards = re.findall(r'<div class="l">([^<]+)</div><div class="v">([^<]+)</div>', html)
    assert cards == [(metrics.KPIS[n].label, metrics.KPIS[n].format(total[n])) for n in metrics.HEADLINE]
    assert f"<b>Filters:</b> {flt.describe()}" in html


def test_report_hand_values_and_contents(con):
    html = report.build_html(con, Filters(), W45)
    assert '<div class="v">¥580</div>' in html and '<div class="v">4</div>' in html  # O1+O2+O3; O1..O4
    assert "<b>Week:</b> 2026-W45 (2 Nov – 8 Nov 2026), compared with 2026-W44" in html
    for section in SECTIONS:
        assert section in html
    for label in metrics.definitions_frame()["KPI"]:
        assert f"<td>{label}</td>" in html
    assert "2026-11-10 09:00" in html  # freshness: the latest order
    assert html.count("<svg") == len(metrics.HEADLINE)


def test_html_is_self_contained(con):
    html = report.build_html(con, Filters(cities=("Shanghai",)), W45)
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_week_without_data_says_so(con):
    html = report.build_html(con, Filters(), W44)
    assert "No data for this week." in html and "No orders in 2026-W44" in html
    assert "Headline KPIs" not in html and '<div class="v">' not in html
    assert "Appendix A — KPI definitions" in html


@pytest.mark.parametrize("n", [0, 1, 2])
def test_svg_line_chart_builder(n):
    svg = report.svg_line_chart([f"W{i}" for i in range(n)], [float(i) for i in range(n)], "orders", highlight=n - 1 if n else None)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert ("No data" in svg) == (n == 0)
    assert svg.count("<polyline") == (1 if n == 2 else 0)
    assert svg.count('r="4.5"') == (1 if n else 0)  # the highlighted week


def test_svg_line_chart_of_a_kpi_never_provided_says_why():
    """No value in any week and the card's note: the chart says the note, in lines that fit its
    320 px, where it said "No data"; a chart with values ignores the note."""
    why = "not provided: no costs imported; no platform fees imported; no refunds imported"
    svg = report.svg_line_chart(list("ab"), [None, None], "roi", why=why)
    lines = re.findall(r'<tspan x="160.0" y="([\d.]+)">([^<]*)</tspan>', svg)
    assert " ".join(text for _, text in lines) == "Not provided: no costs imported; no platform fees imported; no refunds imported"
    assert [float(y) for y, _ in lines] == [61.0, 75.0, 89.0]   # three lines of 296 px, centred on 75
    assert "No data" not in svg
    assert "Not provided" not in report.svg_line_chart(list("ab"), [1.0, None], "roi", why=why)
    assert "未提供：未导入评价" in report.svg_line_chart(list("ab"), [None, None], "avg_rating", why="未提供：未导入评价")


def test_svg_line_chart_leaves_gaps_for_missing_weeks():
    svg = report.svg_line_chart(list("abcde"), [1.0, 2.0, None, 3.0, 4.0], "orders")
    assert svg.count("<polyline") == 2


def _cli(argv):
    parser = argparse.ArgumentParser()
    report_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def test_cli_html_and_pdf(warehouse, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert _cli(["--warehouse", str(warehouse), "--week", "2026-W45", "--city", "Shanghai", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert '<div class="v">¥400</div>' in html and "<b>Filters:</b> Shanghai" in html  # O3 only (O4 cancelled)
    assert _cli(["--warehouse", str(warehouse), "--week", "2026-W99"]) == 2
    assert "not an ISO week" in capsys.readouterr().err

    pdf = tmp_path / "r.pdf"
    assert _cli(["--warehouse", str(warehouse), "--format", "pdf", "--out", str(pdf)]) == 0  # default week W45
    reader = pypdf.PdfReader(str(pdf))
    # NFKC: the PDF's text uses ligatures ("ﬁ")
    text = unicodedata.normalize("NFKC", "\n".join(page.extract_text() for page in reader.pages))
    for section in ("Weekly operations report", "2026-W45", *SECTIONS):
        assert section.replace("—", "").split()[0] in text
        assert re.sub(r"\s+", "", section) in re.sub(r"\s+", "", text), section
    assert len(reader.pages) >= 2
    assert abs(float(reader.pages[0].mediabox.width) - 595) < 2  # A4: 210 mm = 595 pt
    # the appendix starts a page
    appendix_pages = [i for i, page in enumerate(reader.pages) if "Appendix A" in page.extract_text()]
    assert appendix_pages and reader.pages[appendix_pages[0]].extract_text().lstrip().startswith("Appendix A")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 1000


@pytest.mark.parametrize("lang, value, change, exact", [
    ("en", "¥269.4M", "+¥12.3M", "Exact value: ¥269,394,118.52; change +¥12,345,678.00."),
    ("zh", "¥2.69亿", "+¥1235万", "精确值：¥269,394,118.52；变化 +¥12,345,678.00。"),
])
def test_cards_show_large_amounts_short_and_their_digits_under_them(lang, value, change, exact):
    # ¥257,048,440.52 last week, ¥269,394,118.52 this week: +¥12,345,678.00; 4 orders after 3
    series = pd.DataFrame({"net_revenue": [257_048_440.52, 269_394_118.52], "orders": [3, 4]})
    cards = weekly.headline_cards(series, ("net_revenue", "orders"), lang=lang)
    html = report._cards_html(cards, "2026-W44", lang=lang)
    assert f'<div class="v">{value}</div><div class="d good">{change} ' in html.replace("\u2060", "")
    assert f'<div class="x">{exact}</div>' in html.replace("\u2060", "")   # a word joiner after the sign
    assert "+\u2060¥12,345,678.00" in html                                   # keeps it on the amount's line
    assert f"{change[0]}\u2060{change[1:]} " in html
    assert '<div class="v">4</div><div class="d good">+1 ' in html and html.count('class="x"') == 1


@pytest.mark.parametrize("lang, revenue, orders, driver, against", [
    ("en", "\u2212\u2060¥520", "\u22123", "Shanghai (\u2212\u2060¥340, 65% of the change)", "vs 2026-W45"),
    ("zh", "\u2212\u2060¥520", "\u22123", "Shanghai（\u2212\u2060¥340，占变化的 65%）", "对比 2026-W45"),
])
def test_falls_read_with_the_minus_sign(con, lang, revenue, orders, driver, against):
    """W46 against W45 on the tiny warehouse: revenue ¥580 -> ¥60.00, orders 4 -> 1. A printed card
    is text, not st.metric's delta: its fall and the summary's read with the minus sign (U+2212),
    and so do the charts' ticks (the ROI chart's "-14%" before); no hyphen is left as a sign. A word
    joiner (U+2060) after a sign before "¥" keeps a line from ending on the sign ("(−" / "¥16.18)")."""
    html = report.build_html(con, Filters(), Week.parse("2026-W46"), lang=lang)
    assert (f'<div class="v">¥60.00</div><div class="d bad">{revenue} <span class="neutral">{against}</span>'
            in html)
    assert f'<div class="v">1</div><div class="d bad">{orders} <span class="neutral">{against}</span>' in html
    assert driver in html
    assert re.search(r'class="ax">\u221214%</text>', html)
    assert not re.search(r"(?<!\w)-[¥\d]", html), re.findall(r".{20}(?<!\w)-[¥\d].{10}", html)
