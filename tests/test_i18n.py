"""The catalogue of the interface's words (o2o_ops.i18n): complete in both languages, every key the
code uses exists, locale formats per unit with hand-written expected strings, the reasons and the
weekly summary in Chinese, the report's language."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from pathlib import Path

import pytest

from o2o_ops import attention, comparisons, config, coverage, i18n, units, weekly, words
from o2o_ops.i18n import catalogue, figures
from o2o_ops.kpis import symmetry_index
from o2o_ops.kpis.catalog import AREA_LABELS, KPI_LIST

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# ------------------------------------------------------------------------------------------
# Completeness
# ------------------------------------------------------------------------------------------

def test_every_key_has_both_languages_with_the_same_fields():
    assert len(catalogue.WORDS) > 300
    for key, pair in catalogue.WORDS.items():
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", key), key
        assert len(pair) == 2, key
        english, chinese = pair
        assert english and chinese, key
        assert _fields(english) == _fields(chinese), key
        # a Chinese entry is written in Chinese (symbols, codes and "min"-free units aside)
        prose = re.sub(r"\{[^}]*\}|`[^`]*`", "", english)
        if re.search(r"[A-Za-z]{3,}", prose):
            assert CJK.search(chinese), (key, chinese)


def test_every_registry_entry_has_its_chinese():
    assert set(catalogue.KPIS_ZH) == {k.name for k in KPI_LIST}
    assert all(label and CJK.search(label) and CJK.search(text) for label, text in catalogue.KPIS_ZH.values())
    assert set(catalogue.COLUMNS_ZH) == set(words.COLUMNS)
    assert set(catalogue.VALUES_ZH) == set(words.VALUE_GROUPS)
    for group, values in words.VALUE_GROUPS.items():
        assert set(catalogue.VALUES_ZH[group]) == set(values), group
    assert set(catalogue.UNITS_ZH) == set(units.UNITS)
    inputs = {alt for k in KPI_LIST for i in k.inputs for alt in i.split("|")}
    assert set(coverage.WORDS) | inputs == set(catalogue.COVERAGE_ZH)
    assert set(catalogue.AREAS_ZH) == set(AREA_LABELS)


# files whose local t("key") helpers add a prefix
_LOCAL_PREFIX = {"o2o_ops/attention.py": "attention", "o2o_ops/weekly.py": "weekly", "o2o_ops/anomalies.py": "anomaly",
                 "o2o_ops/report.py": "report", "o2o_ops/alerts/subscriptions.py": "alerts",
                 "o2o_ops/alerts/rules.py": "alerts"}
_KEY = re.compile(r"[a-z]+\.[a-z0-9_]+")


def _sources() -> list[Path]:
    return [ROOT / "dashboard.py", *sorted((ROOT / "o2o_ops").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]


def _keys_in(path: Path) -> tuple[set[str], set[str]]:
    """(keys, dynamic prefixes) a source file passes to a ``t(...)`` helper: every text constant
    in the first argument (both branches of a conditional, a dict's values), prefixed in the
    files whose helper adds one; plus dotted catalogue keys held in constants (``{"x": "map.y"}``).
    F-strings give their literal head as a dynamic prefix."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prefix = _LOCAL_PREFIX.get(str(path.relative_to(ROOT)))
    sections = {k.split(".")[0] for k in catalogue.WORDS}
    keys, dynamic = set(), set()
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEY.fullmatch(node.value) \
                and id(node) not in pieces \
                and node.value.split(".")[0] in sections:
            keys.add(node.value)
        if not (isinstance(node, ast.Call) and node.args and
                ((isinstance(node.func, ast.Name) and node.func.id == "t") or
                 (isinstance(node.func, ast.Attribute) and node.func.attr == "t"))):
            continue
        for sub in _key_nodes(node.args[0]):
            if isinstance(sub, ast.JoinedStr):
                head = sub.values[0].value if sub.values and isinstance(sub.values[0], ast.Constant) else ""
                dynamic.add(head if "." in head else f"{prefix}.{head}")
            elif _KEY.fullmatch(sub.value):
                keys.add(sub.value)
            elif prefix and re.fullmatch(r"[a-z0-9_]+", sub.value):
                keys.add(f"{prefix}.{sub.value}")
    return keys - {k for k in keys if k.rsplit(".", 1)[1] in _FILE_TYPES}, dynamic


_FILE_TYPES = {"html", "csv", "pdf", "py", "toml", "yaml", "json", "md", "txt", "sqlite", "duckdb", "png"}


def _key_nodes(node: ast.AST):
    """The text constants and f-strings that can be the key in a ``t(...)`` argument: the argument
    itself, both branches of a conditional, a dict's values; not what indexes a lookup
    (``top["is_good"]``) nor the pieces of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, ast.JoinedStr):
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _key_nodes(node.body)
        yield from _key_nodes(node.orelse)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _key_nodes(value)
    elif isinstance(node, ast.Subscript):
        yield from _key_nodes(node.value)


def test_every_key_the_code_uses_exists():
    used: set[str] = set()
    dynamic: set[str] = set()
    for path in _sources():
        keys, heads = _keys_in(path)
        used |= keys
        dynamic |= heads
    # f-strings inside a t(...) argument that are not keys (the dynamic part) are not keys either
    missing = sorted(k for k in used if k not in catalogue.WORDS)
    assert not missing, missing
    assert len(used) > 300
    # keys built at run time: each family is complete
    assert {d.split(".")[0] for d in dynamic} <= {"compare", "weekly", "filters", "targets", "attention",
                                                  "anomaly", "report", "definitions", "auth", "alerts", "data",
                                                  "datacheck"}, dynamic
    for mode in comparisons.MODES:
        assert f"compare.{mode}" in catalogue.WORDS
    for grain, _, _ in weekly.DRIVER_DIMS:
        assert f"weekly.dim_{grain}" in catalogue.WORDS
    for field in ("cities", "districts", "regions", "categories", "stores", "channels", "campaign_kinds", "campaigns"):
        assert f"filters.many_{field}" in catalogue.WORDS
    for kind in ("business", "store", "region"):
        assert f"targets.scope_{kind}" in catalogue.WORDS
    for kind in ("sum", "ratio", "difference", "median", "index"):
        assert f"definitions.kind_{kind}" in catalogue.WORDS
    from o2o_ops import anomalies, auth
    for kpi in anomalies.KPIS:
        assert f"anomaly.kpi_{kpi.name}" in catalogue.WORDS
        assert f"anomaly.unit_{anomalies._UNIT_KEYS[kpi.unit]}" in catalogue.WORDS
    for role in auth.ROLES:
        assert f"auth.role_{role}" in catalogue.WORDS
    from o2o_ops import data_checks
    from o2o_ops.alerts import people, rules, subscriptions
    for name in data_checks.CHECKS:
        assert f"datacheck.{name}" in catalogue.WORDS
    from o2o_ops import ingest
    for table in ingest.IMPORT_ORDER:
        assert f"data.table_{table}" in catalogue.WORDS
    for column in ("file", "row", "column", "value", "message"):
        assert f"data.problem_{column}" in catalogue.WORDS
    families = {"kind": rules.KINDS, "kind_short": rules.KINDS, "mode": subscriptions.ALERT_MODES,
                "format": people.WEBHOOK_FORMATS, "day": range(7), "op": ("above", "below"),
                "grain": ("store", "total")}
    for family, codes in families.items():
        for code in codes:
            assert f"alerts.{family}_{code}" in catalogue.WORDS, (family, code)
    for code, english in {**rules.KINDS, **people.WEBHOOK_FORMATS}.items():   # the English is the core's own
        assert english in (catalogue.WORDS.get(f"alerts.kind_{code}", ("",))[0],
                           catalogue.WORDS.get(f"alerts.format_{code}", ("",))[0]), code


def test_an_unknown_key_fails_loudly_and_an_unknown_language_reads_english():
    with pytest.raises(KeyError):
        i18n.t("no.such_key", "zh")
    assert i18n.t("nav.overview", "fr") == "Weekly overview"
    assert i18n.t("nav.overview", "zh") == "每周概览"
    assert i18n.t("note.too_few_reviews", "zh", count=2) == "评价太少（2 条）"


# ------------------------------------------------------------------------------------------
# Choosing the language
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, lang", [("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"), ("ZH", "zh"),
                                       ("en-GB", "en"), ("en", "en"), ("fr", None), ("", None), (None, None),
                                       ("<script>", None)])
def test_normalise(raw, lang):
    assert i18n.normalise(raw) == lang


@pytest.mark.parametrize("header, lang", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.4", "zh"),       # the first language we speak, by preference
    ("fr-FR;q=1, en;q=0.2, zh;q=0.7", "zh"),           # by q, not by position
    ("zh;q=0, en", "en"),                              # q=0 means "not this one"
    ("de, fr", None), ("", None), (None, None), ("zh;q=abc", None),
])
def test_accept_language(header, lang):
    assert i18n.from_accept_language(header) == lang


def test_the_setting_is_in_the_table():
    assert config.get("O2O_LANG") in ("auto", "en", "zh")
    assert any(s.name == "O2O_LANG" and s.default == "auto" for s in config.SETTINGS)


# ------------------------------------------------------------------------------------------
# Formats per unit, written out by hand
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, unit, en, zh", [
    (477_000, "currency", "¥477,000", "¥47.7万"),
    (123_456_789, "currency", "¥123,456,789", "¥1.23亿"),
    (1_813_124, "currency", "¥1,813,124", "¥181.3万"),
    (9_876, "currency", "¥9,876", "¥9,876"),
    (12.5, "currency", "¥12.50", "¥12.50"),
    (-25_000, "currency", "−¥25,000", "−¥2.5万"),
    (117_396, "count", "117,396", "11.7万"),
    (123_000_000, "count", "123,000,000", "1.23亿"),
    (470_000, "count", "470,000", "47万"),
    (9_999, "count", "9,999", "9,999"),
    (0.842, "percent", "84.2%", "84.2%"),
    (12.5, "hours", "12.5 h", "12.5 小时"),
    (-3.25, "minutes", "−3.2 min", "−3.2 分钟"),
    (4.312, "stars", "4.31 ★", "4.31 ★"),
    (None, "currency", "—", "—"),
    (float("nan"), "count", "—", "—"),
])
def test_format_value(value, unit, en, zh):
    assert units.format_value(value, unit) == en
    assert units.format_value(value, unit, lang="en") == en
    assert units.format_value(value, unit, lang="zh") == zh


@pytest.mark.parametrize("change, unit, en, zh", [
    (0.031, "percent", "+3.1 pp", "+3.1 个百分点"),
    (-12_000, "currency", "\u2212¥12,000", "\u2212¥1.2万"),
    (15_000, "count", "+15,000", "+1.5万"),
    (-2.0, "hours", "\u22122.0 h", "\u22122.0 小时"),
    (0.1, "stars", "+0.10 ★", "+0.10 ★"),
    (None, "count", "—", "—"),
])
def test_format_change(change, unit, en, zh):
    assert units.format_change(change, unit) == en
    assert units.format_change(change, unit, lang="zh") == zh


# ------------------------------------------------------------------------------------------
# The core's words in Chinese
# ------------------------------------------------------------------------------------------

def test_reasons_for_a_blank_value():
    assert i18n.note("too few reviews (2)", "zh") == "评价太少（2 条）"
    assert i18n.note("not provided: no costs imported", "zh") == "未提供：未导入成本"
    # the card and the cost page cut a note at its colon, in either language
    assert i18n.split_note("未提供：未导入成本；未导入核销") == ("未提供", "未导入成本；未导入核销")
    assert i18n.split_note("not provided: no costs imported") == ("not provided", "no costs imported")
    assert i18n.split_note("未提供") == ("未提供", "")
    assert (i18n.note("not provided: no listed ratings for the filtered stores; reviews cover 3 Nov 2026 – 9 Nov 2026 "
                      "only", "zh") == "未提供：所筛选门店没有展示评分；评价只覆盖 2026年11月3日 – 2026年11月9日")
    assert i18n.note("not provided: no costs imported", "en") == "not provided: no costs imported"
    assert i18n.note(None, "zh") is None


def test_attention_reason_and_rule():
    row = {"listed_rating": 4.8, "avg_rating": 3.9, "wait_gap_minutes": 14.0, "listed_wait_minutes": 10.0,
           "as_described_rate": 0.5, "is_falling": True, "index_drop": 12.0, "index_before": 80.0, "index_recent": 68.0}
    assert attention.reason(row) == ("listed 4.8, customers give 3.9; waits 14 min over the promised 10; only 50% say "
                                      "it was as described; symmetry index fell 12 points in 4 weeks (80 → 68)")
    assert attention.reason(row, "zh") == ("标示 4.8 分，顾客实际 3.9 分，等待比承诺的 10 分钟多 14 分钟，只有 50% 认为与描述相符，"
                                           "一致性指数 4 周内下降 12 分（80 → 68）")
    rule = attention.Rule(rating_gap=0.5, wait_gap=10, index_drop=5, min_reviews=5)
    assert "0.5 ★" in rule.describe("zh") and "至少有 5 条评价" in rule.describe("zh")
    assert attention.left_out_words(3, rule, "zh") == "3 家门店未参与评判：评价少于 5 条，证据不足。"


def test_filters_describe_in_chinese():
    import datetime as dt
    from o2o_ops.filters import Filters
    flt = Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 28), cities=["Hangzhou"], categories=["hotel"],
                  stores=["S1", "S2", "S3", "S4"])
    assert flt.describe() == "Hangzhou · hotel · 4 stores · 2026-10-01 → 2026-10-28"
    assert flt.describe("zh") == "Hangzhou · 酒店 · 4 家门店 · 2026-10-01 → 2026-10-28"
    assert Filters().describe("zh") == "全部数据"
    assert Filters(scope_regions=["East"]).describe("zh") == "范围：East 大区"


def test_comparison_in_chinese():
    import datetime as dt
    cmp = comparisons.compare("previous", dt.date(2026, 11, 2), dt.date(2026, 11, 15))
    assert cmp.describe("zh") == "2026-11-02 → 2026-11-15 对比 2026-10-19 → 2026-11-01（紧接其前的等长时段）"
    assert comparisons.label(comparisons.compare("yoy", dt.date(2026, 11, 2), dt.date(2026, 11, 15)), "zh") \
        .startswith("去年同期（2025年11月3日 → ")


def test_symmetry_doc_in_both_languages_has_the_same_numbers():
    en, zh = symmetry_index.describe(), symmetry_index.describe(lang="zh")
    assert en.startswith("Symmetry index (0-100 per store") and zh.startswith("一致性指数")
    # every weight and constant of the scoring appears in both
    ix = symmetry_index.INDEX
    for number in (ix.w_rating, ix.w_wait, ix.w_described, ix.w_complaints, ix.k_reviews, ix.k_waits,
                   ix.k_redemptions, ix.complaints_ceiling):
        assert str(number) in en and str(number) in zh, number


def test_chart_words():
    import plotly.graph_objects as go
    from o2o_ops.charts import kpi_line
    import pandas as pd
    weekly = pd.DataFrame({"week_start": pd.to_datetime(["2026-11-02", "2026-11-09"]), "refund_rate": [0.1, 0.2]})
    fig = figures.localise(kpi_line(weekly, "week_start", "refund_rate", title="Refund rate by week"), "zh")
    assert fig.layout.title.text == "每周退款率"
    assert fig.data[0].name == "退款率"
    bars = go.Figure(go.Bar(x=[1, 2], y=["Long wait", "Hygiene"]))
    bars.update_layout(title="Complaint rate by complaint category")
    out = figures.localise(bars, "zh")
    assert list(out.data[0].y) == ["等待太久", "卫生"] and out.layout.title.text == "各投诉类别的投诉率"
    assert figures.text("Lakeside Noodles", "zh") == "Lakeside Noodles"          # data stays as it is
    assert figures.text("Orders: stores against their peers", "zh") == "订单数：门店与同类对比"


def test_the_report_command_writes_chinese(tmp_path):
    from o2o_ops.__main__ import main
    from tests.tiny import build_tiny

    warehouse = build_tiny(tmp_path / "tiny.duckdb")
    out = tmp_path / "r.html"
    assert main(["report", "--warehouse", str(warehouse), "--week", "2026-W45", "--lang", "zh", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page and "2026-W45（11月2日 – 2026年11月8日）" in page


def test_target_attainment_in_chinese():
    from o2o_ops import targets
    # lower is better: the target is a ceiling ("102% of the 4.3% target" read as a rate over it)
    assert targets.words("refund_rate", 0.042, 0.043) == "target ≤ 4.3% (met)"
    assert targets.words("refund_rate", 0.042, 0.043, "zh") == "目标 ≤ 4.3%（达成）"
    assert targets.words("refund_rate", 0.05, 0.043, "zh") == "目标 ≤ 4.3%（未达成）"
    assert targets.words("orders", 1237, 1608, "zh") == "为目标 1,608 的 77%（未达成）"
    assert targets.words("revenue", 576_000, 600_000, "zh") == "为目标 ¥60万 的 96%（未达成）"


def test_date_axes_read_in_chinese():
    import pandas as pd
    from o2o_ops.charts import kpi_line
    weekly = pd.DataFrame({"week_start": pd.to_datetime(["2026-11-02", "2026-11-09"]), "refund_rate": [0.1, 0.2]})
    assert kpi_line(weekly, "week_start", "refund_rate").layout.xaxis.tickformat is None     # English: plotly's months
    assert figures.localise(kpi_line(weekly, "week_start", "refund_rate"), "zh").layout.xaxis.tickformat == "%-m月%-d日"


def test_a_card_label_breaks_between_its_chinese_words_only():
    """A narrow card broke '平均评 / 分': the browser breaks Chinese between any two characters, so a
    card's Chinese label carries a zero-width break between its words and its CSS breaks nowhere
    else (keep-all). English unchanged."""
    zw = i18n.WORD_BREAK
    assert zw == "\u200b"
    assert i18n.card_label("平均评分", "zh") == f"平均{zw}评分"
    assert i18n.card_label("线上线下一致性指数", "zh") == f"线上{zw}线下{zw}一致性{zw}指数"
    assert i18n.card_label("过期未核销（金额）", "zh") == f"过期{zw}未核销{zw}（金额）"
    assert i18n.card_label("订单数", "zh") == "订单数"                      # one word
    assert i18n.card_label("领券 → 下单", "zh") == "领券 → 下单"            # breaks at its spaces
    assert i18n.card_label("平均X评分", "zh") == "平均X评分"                # a character of no word joins its neighbours
    assert i18n.card_label("Average rating", "en") == "Average rating"


def test_every_chinese_kpi_label_is_made_of_catalogue_words():
    """A new KPI's Chinese label has its words in catalogue.LABEL_WORDS_ZH, so a card can break it
    between them (a label of no known word would not break at all)."""
    for name, (label, _) in catalogue.KPIS_ZH.items():
        words = [w for part in label.split(" ") for w in i18n.card_label(part, "zh").split(i18n.WORD_BREAK)]
        assert all(w in catalogue.LABEL_WORDS_ZH or not re.search(r"[\u4e00-\u9fff]", w) for w in words), (name, words)


def test_whole_dates_joins_each_chinese_date_and_nothing_else():
    joined = i18n.whole_dates("核心指标 —— 2026-W47（11月16日 – 2026年11月22日）")
    wj = "\u2060"
    assert joined == ("核心指标 —— 2026-W47（" + wj.join("11月16日") + " – " + wj.join("2026年11月22日") + "）")
    assert joined.replace(wj, "") == "核心指标 —— 2026-W47（11月16日 – 2026年11月22日）"   # reads the same
    # by hand: 2026年11月22日 is 11 characters, so 10 joiners; 11月16日 6 and 5; the week none
    assert joined.count(wj) == 10 + 5
    # a date as format_day writes it; a text without dates unchanged
    assert i18n.whole_dates(i18n.format_day(weekly.Week.parse("2026-W47").end, "zh")) == wj.join("2026年11月22日")
    assert i18n.whole_dates("核心指标") == "核心指标"


def test_whole_amounts_keeps_a_sign_and_a_unit_on_their_amount():
    """A word joiner after a sign before a currency symbol ("(−" / "¥16.18)" broke on a phone), a
    no-break space between a number and its unit ("(+5.7" / "pp)"); nothing else changes."""
    wj, nbsp = "\u2060", "\u00a0"
    shown = ("cost per redemption (\u2212¥16.18), revenue (+¥11.00), orders (\u2212154), redemption rate "
             "(+5.7 pp), waits 13 min over the promised 19, 4 hotels, 3.29 ★ from 7 reviews")
    assert i18n.whole_amounts(shown) == (
        f"cost per redemption (\u2212{wj}¥16.18), revenue (+{wj}¥11.00), orders (\u2212154), redemption rate "
        f"(+5.7{nbsp}pp), waits 13{nbsp}min over the promised 19, 4 hotels, 3.29{nbsp}★ from 7 reviews")
    assert i18n.whole_amounts(shown).replace(wj, "").replace(nbsp, " ") == shown      # reads the same
    assert i18n.whole_amounts("单次核销成本（\u2212¥16.18）和退款率（+0.5 个百分点）") == (
        f"单次核销成本（\u2212{wj}¥16.18）和退款率（+0.5{nbsp}个百分点）")
    assert i18n.whole_amounts("week-to-week, 2026-W47, 2 hours") == "week-to-week, 2026-W47, 2 hours"


def test_whole_dates_keeps_each_english_date_on_one_line():
    """An English date's spaces are no-break spaces (U+00A0): a 390 px phone could break "24 / Nov";
    the range's dash, the week and the words around them may still break."""
    nbsp = "\u00a0"
    heading = i18n.t("overview.headline", "en", week=weekly.Week.parse("2026-W48").label_in("en"))
    assert heading == "Headline KPIs — 2026-W48 (23 Nov – 29 Nov 2026)"
    assert i18n.whole_dates(heading) == f"Headline KPIs — 2026-W48 (23{nbsp}Nov – 29{nbsp}Nov{nbsp}2026)"
    assert i18n.whole_dates(heading).replace(nbsp, " ") == heading                  # reads the same
    # a range across years, a day alone as format_day writes it; no joiner in English, no week touched
    assert i18n.whole_dates(weekly.Week.parse("2026-W53").label) == f"2026-W53 (28{nbsp}Dec – 3{nbsp}Jan{nbsp}2027)"
    assert i18n.whole_dates(i18n.format_day(dt.date(2026, 11, 24))) == f"24{nbsp}Nov{nbsp}2026"
    assert "\u2060" not in i18n.whole_dates(heading)
    # numbers that are not dates keep their spaces ("12 orders", "3 Novices")
    assert i18n.whole_dates("12 orders in 3 Novices") == "12 orders in 3 Novices"
    # Chinese headings are as before: joiners, no no-break space
    zh = i18n.whole_dates(i18n.t("overview.headline", "zh", week=weekly.Week.parse("2026-W48").label_in("zh")))
    assert nbsp not in zh and zh.replace("\u2060", "") == "核心指标 —— 2026-W48（11月23日 – 2026年11月29日）"


def test_note_detail_is_the_reason_after_the_head_or_the_whole_note():
    assert i18n.note_detail("not provided: no reviews imported; no costs imported") == \
        "no reviews imported; no costs imported"
    assert i18n.note_detail("未提供：未导入评价") == "未导入评价"
    assert i18n.note_detail(i18n.note("not provided: no reviews imported", "zh")) == "未导入评价"
    assert i18n.note_detail("too few reviews (2)") == "too few reviews (2)"
