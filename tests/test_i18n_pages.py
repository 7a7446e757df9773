"""Every translated page in Chinese (``?lang=zh``) on the tiny warehouse: no English word left in
what a reader sees — titles, text, cards, widget labels and options, tab and expander labels,
table headings and cells, chart titles, axes, legends and notes — except what is data (store,
city, campaign names and ids from the warehouse), codes (setting names, column names in
`code`), ISO week numbers and the language switch's own "English". The language survives page
navigation and can be switched back."""

from __future__ import annotations

import json
import re

import pytest

from tests.apptest_util import open_link, open_page, shown
from o2o_ops.kpis.catalog import KPI_LIST
from tests import tiny
from tests.tiny import build_tiny

#: pages whose every visible text is translated (the Data and Alerts pages: see their own tests below)
PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/definitions.py", "pages/campaigns.py")

#: words that are not English prose: the switch's own name for English, file formats and acronyms
#: read the same in Chinese, the README's name and the Shift key
ALLOWED = {"English", "App", "ISO", "CSV", "HTML", "README", "o2o", "ops", "Shift",
           # file formats, products and a unit that Chinese interfaces write as they are
           "JSON", "Parquet", "TOML", "YAML", "SQL", "DuckDB", "Markdown", "Slack", "Webhook", "webhook", "MiB", "KiB",
           # the KPI codes (the definitions page's "代码" column: the names links and files use)
           *(k.name for k in KPI_LIST)}
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_./:-]*")


def _data_words() -> set[str]:
    """Every word in the tiny warehouse's text values (names, ids, free text): data, shown as is."""
    out: set[str] = set()
    for rows in tiny.TABLE_ROWS.values():
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    out |= set(re.findall(r"[A-Za-z][A-Za-z0-9]*", value))
    return out


DATA = _data_words()


def english_words(text: str) -> list[str]:
    """The English words of ``text``: letters that are not data, codes (``O2O_MIN_REVIEWS``,
    ``orders.promised_at``, ``2026-W45``), markdown icons (``:material/download:``) or allowed."""
    text = re.sub(r"`[^`]*`", " ", text)                     # code in backticks: commands and names
    text = re.sub(r"<br\s*/?>", " ", text)                   # a chart text's line break (plotly markup)
    text = re.sub(r":material/[a-z_]+:", " ", text)          # Streamlit's icon names
    text = re.sub(r"\b(min|max|clamp)\(", "(", text)         # formula notation (the symmetry index's scoring)
    found = []
    for token in _TOKEN.findall(text):
        if re.search(r"[_\d./:]", token) or token in ALLOWED:
            continue                                          # codes, ids, weeks, settings, file names
        word = token.strip("-")
        if len(word) < 2 or word in DATA or word.isupper() and word in DATA:
            continue
        found.append(word)
    return found


def _figure_texts(spec: dict) -> list[str]:
    layout = spec.get("layout", {})
    out = []
    title = layout.get("title")
    out.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict):
            axis_title = axis.get("title")
            out.append(axis_title.get("text", "") if isinstance(axis_title, dict) else str(axis_title or ""))
    out += [str(a.get("text", "")) for a in layout.get("annotations", [])]
    for trace in spec.get("data", []):
        out.append(str(trace.get("name", "") or ""))
        for axis in ("x", "y"):
            values = trace.get(axis)
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values) \
                    and not all(re.match(r"\d{4}-\d\d-\d\d", v) for v in values):
                out += values
    return out


def visible_texts(at) -> list[str]:
    """Everything a reader sees as text on the page and in the sidebar."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success",
                 "exception", "text", "toast"):
        out += [shown(str(el.value)) for el in getattr(at, kind)]
    for block in at.code:      # a code sample: its comments are words, the rest is code
        out += [line.split("#", 1)[1] for line in str(block.value).splitlines() if "#" in line]
    for m in at.metric:
        out += [shown(str(x)) for x in (m.label, m.value, m.proto.delta, m.help, m.proto.delta_description) if x]
    out += [str(e.label) for e in at.expander] + [str(t.label) for t in at.tabs]
    for kind in ("selectbox", "multiselect", "radio", "slider", "toggle", "number_input", "date_input", "button",
                 "download_button"):
        for w in getattr(at, kind):
            out += [str(x) for x in (getattr(w, "label", None), getattr(w, "help", None),
                                     getattr(w, "placeholder", None)) if x]
            out += [str(o) for o in getattr(w, "options", []) or []]
    for group in at.get("button_group"):   # pills and segmented controls
        out += [o.content for o in group.proto.options] + [group.proto.label, group.proto.help]
    for df in at.dataframe:
        frame = df.value
        config = json.loads(df.proto.columns or "{}")
        for column in frame.columns:
            entry = config.get(str(column), {})
            out += [str(entry.get(k)) for k in ("label", "help") if entry.get(k)]
            if not entry.get("label") and not entry.get("hidden"):
                out.append(str(column))               # a column without a label is headed by its name
            link = (entry.get("type_config") or {}).get("display_text")
            if link:                                   # a link column shows its display text, not the URL
                out.append(str(link))
            elif frame[column].dtype == object:
                out += [v for v in frame[column] if isinstance(v, str)]
    for chart in at.get("plotly_chart"):
        out += _figure_texts(json.loads(chart.proto.spec))
    return [t for t in out if t]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The tiny warehouse with business targets for November (the cards' goal captions and the
    summary's target sentence are words too)."""
    import datetime as dt

    import pandas as pd

    from o2o_ops import targets

    path = build_tiny(tmp_path_factory.mktemp("i18n") / "tiny.duckdb")
    nov = dt.date(2026, 11, 1)
    rows = pd.DataFrame([("orders", "business", None, nov, 30.0), ("refund_rate", "business", None, nov, 0.2),
                         ("revenue", "business", None, nov, 3000.0), ("avg_rating", "business", None, nov, 4.0)],
                        columns=targets.COLUMNS)
    assert targets.save(rows, allowed=True, warehouse=path) == 4
    return path


@pytest.fixture(params=["5", "1"], ids=["floor5", "floor1"])
def review_floor(request, monkeypatch):
    """The default review floor (most KPIs withheld: "too few reviews") and a floor of one (every
    store judged: rankings, the attention list and its reasons)."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", request.param)
    return request.param


@pytest.mark.parametrize("page", PAGES)
def test_no_english_left_on_a_chinese_page(page, warehouse, review_floor):
    at = open_page(page, warehouse, {"lang": "zh"})
    assert not at.exception, at.exception[0].message if at.exception else ""
    assert not at.error, [e.value for e in at.error]
    texts = visible_texts(at)
    assert len(texts) > 20
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
    left = {t: english_words(t) for t in texts if english_words(t)}
    assert not left, left


def test_overview_in_chinese_shows_chinese_numbers_and_summary(warehouse):
    at = open_page("pages/overview.py", warehouse, {"lang": "zh"})
    cards = {m.label.replace("\u200b", ""): m for m in at.metric}   # a card's label breaks between its words
    assert cards["订单数"].value == "4" and cards["营收"].value == "¥580"
    assert cards["平均评分"].value == "—" and cards["平均评分"].proto.delta == "评价太少（2 条）"
    assert at.title[0].value == "每周概览"
    summary = "\n".join(shown(m.value) for m in at.markdown)
    assert "2026-W45（11月2日 – 2026年11月8日） 共有 4 笔订单" in summary
    assert "全公司在 2026-W45 的目标：" in summary
    goals = [shown(c.value) for c in at.caption if "🎯" in c.value]
    assert goals and all("目标" in g for g in goals), goals


def test_the_language_is_kept_in_the_url_and_switched_back(warehouse):
    at = open_page("pages/quality.py", warehouse, {"lang": "zh"})
    assert at.title[0].value == "服务质量"
    assert at.query_params["lang"] in ("zh", ["zh"])
    switch = at.sidebar.radio[0]
    assert switch.label == "语言" and switch.value == "zh"
    switch.set_value("en").run()
    assert at.title[0].value == "Service quality"
    assert at.query_params["lang"] in ("en", ["en"])
    at.switch_page("pages/cost.py").run()
    assert at.title[0].value == "Cost"


def test_an_unknown_language_in_the_link_is_explained(warehouse):
    at = open_link("pages/quality.py", warehouse, {"lang": "fr"})
    assert at.title[0].value == "Service quality"
    assert any("lang=fr" in shown(w.value) for w in at.warning)


def test_the_setting_chooses_the_default(warehouse, monkeypatch):
    monkeypatch.setenv("O2O_LANG", "zh")
    at = open_page("pages/quality.py", warehouse)
    assert at.title[0].value == "服务质量"
    at = open_page("pages/quality.py", warehouse, {"lang": "en"})
    assert at.title[0].value == "Service quality"


def test_the_report_in_chinese(warehouse, monkeypatch):
    import html as html_lib

    from o2o_ops import db, report
    from o2o_ops.filters import Filters
    from o2o_ops.weekly import Week

    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")
    con = db.connect(warehouse)
    try:
        page = report.build_html(con, Filters(), Week.parse("2026-W45"), lang="zh")
        english = report.build_html(con, Filters(), Week.parse("2026-W45"))
    finally:
        con.close()
    assert '<html lang="zh-Hans">' in page and '<html lang="en">' in english
    assert "<h1>每周运营报告 —— 2026-W45</h1>" in page and "<h2>附录 A —— 指标定义</h2>" in page
    assert "Weekly operations report — 2026-W45" in english
    body = re.sub(r"<style>.*?</style>|<[^>]+>", "\n", page, flags=re.S)
    # the definitions' "needs" column lists contract names (reviews, stores.listed_rating): codes, not prose
    needs = {w for k in __import__("o2o_ops.kpis.catalog", fromlist=["KPI_LIST"]).KPI_LIST for i in k.inputs
             for w in re.split(r"[.|]", i)}
    left = {line: words for line in html_lib.unescape(body).splitlines()
            if (words := [w for w in english_words(line) if w not in needs and w not in ("sum", "ratio", "difference",
                                                                                           "median", "index")])}
    assert not left, left


def _no_english_left(at) -> list[str]:
    assert not at.exception, at.exception[0].message if at.exception else ""
    texts = visible_texts(at)
    assert len(texts) > 20
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
    left = {t: english_words(t) for t in texts if english_words(t)}
    assert not left, left
    return texts


@pytest.fixture
def open_app(tmp_path, monkeypatch):
    """The open demo (no users file: everyone may import and manage rules), alerts state in tmp."""
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    monkeypatch.setenv("O2O_ALERTS_DB", str(tmp_path / "alerts.sqlite"))


def test_a_drilled_campaign_in_chinese(warehouse, review_floor, open_app):
    """Campaign K1 and its store S1 (the order rows): its cards, lift verdict, funnel, charts and
    tables; the verdict is the one hand-written below (K1 has no store without a campaign in
    its city and category to compare with)."""
    at = open_page("pages/campaigns.py", warehouse, {"lang": "zh", "campaign": "K1", "cstore": "S1"})
    texts = _no_english_left(at)
    assert any(h.value.endswith("Autumn group buy") for h in at.subheader)
    assert [w.value for w in at.warning] == ["数据太少无法判断：没有无活动门店能把它的城市和品类联系起来。"]
    assert any(t.startswith("第 1–") and "K1 在 S1" in t for t in texts)


def test_the_data_page_in_chinese_with_a_broken_upload(warehouse, open_app):
    """The Data page's four tabs, and a broken orders file's problems: the kinds, the messages
    with file, row, column and value unchanged (hand-written Chinese), headed in Chinese."""
    at = open_page("pages/data.py", warehouse, {"lang": "zh"})
    _no_english_left(at)
    assert [t.label for t in at.tabs] == ["导入文件", "导入日志", "质量检查", "目标"]
    assert at.file_uploader(key="data_files_0")
    broken = (b"order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
              b"O7,C1,S1,2026-11-12 10:00:00,100,abc\nO8,C1,S99,2026-11-12 11:00:00,100,-5\n")
    at.file_uploader(key="data_files_0").set_value(("orders_broken.csv", broken, "text/csv")).run()
    texts = _no_english_left(at)
    assert "共 3 个问题，3 类；请改正后重新上传文件。在此之前无法导入。" in texts
    assert [e.label for e in at.expander if "：" in e.label and "`" in e.label] == [
        "类型错误（`wrong_type`）：1", "负值（`negative_value`）：1", "键找不到对应记录（`unknown_reference`）：1"]
    messages = {m for df in at.dataframe if "message" in df.value.columns for m in df.value["message"]}
    assert messages == {"paid_amount：“abc”不是数字", "paid_amount 不能为负（金额），实际为 -5.0",
                        "store_id“S99”不在 stores 中（数据仓库和本批文件中都没有）"}


def test_the_data_page_in_chinese_with_an_amount_written_null(warehouse, open_app):
    """An orders file whose paid_amount is written NULL: a required value that is empty, said so
    with the text as written, headed as such; nothing can be imported."""
    at = open_page("pages/data.py", warehouse, {"lang": "zh"})
    upload = (b"order_id,customer_id,store_id,ordered_at,list_price,paid_amount\n"
              b"O7,C1,S1,2026-11-12 10:00:00,100,NULL\n")
    at.file_uploader(key="data_files_0").set_value(("orders_null.csv", upload, "text/csv")).run()
    _no_english_left(at)
    assert [e.label for e in at.expander if "：" in e.label and "`" in e.label] == ["必填值为空（`missing_value`）：1"]
    messages = {m for df in at.dataframe if "message" in df.value.columns for m in df.value["message"]}
    assert messages == {"paid_amount 是必填项，但为空：“NULL”是写成文字的空值"}


def test_the_alerts_page_in_chinese(warehouse, open_app):
    """The page, then a rule added through its form: the confirmation and the rules table (what it
    checks, its kind, who made it) in Chinese; the rule's name and city are data."""
    at = open_page("pages/alerts.py", warehouse, {"lang": "zh"})
    _no_english_left(at)
    assert at.selectbox(key="rule_kind").options[0] == "指标高于或低于某个值（按门店或整个范围）"
    at.text_input(key="rule_name").input("退款超过 8%")
    at.selectbox(key="rule_kpi").select("refund_rate")
    at.number_input(key="rule_value").set_value(0.08)
    at.multiselect(key="rule_cities").select("Shanghai")
    at.button(key="rule_add").click().run()
    _no_english_left(at)
    assert [s.value for s in at.success] == ["已添加规则 1：退款率高于 8.0%（按门店），最近 7 天 · Shanghai。"]
    (table,) = [df.value for df in at.dataframe if "checks" in df.value.columns]
    assert table[["name", "checks", "kind", "created by"]].values.tolist() == [
        ["退款超过 8%", "退款率高于 8.0%（按门店），最近 7 天 · Shanghai", "阈值", "开放演示"]]


def test_an_importer_problem_in_chinese_names_file_row_column_and_value():
    from o2o_ops import ingest

    problem = ingest.Problem("orders.csv", 3, "status", "done", "not_allowed",
                             "status must be one of paid, refunded, expired, cancelled, got 'done'")
    assert str(problem) == "orders.csv, row 3, column status: status must be one of paid, refunded, expired, " \
                           "cancelled, got 'done'"
    assert problem.text("zh") == "orders.csv，第 3 行，列 status：status 必须是 paid, refunded, expired, cancelled 之一，" \
                                 "实际为“done”"
    late = ingest.Problem("reviews.csv", 5, "posted_at", "2026-11-01 09:00:00", "invalid_row",
                          "posted_at 2026-11-01 09:00:00 is before its order was placed (ordered_at 2026-11-02 "
                          "10:00:00): a review cannot come before the order")
    assert late.words("zh") == ("posted_at 2026-11-01 09:00:00 早于订单的下单时间（ordered_at 2026-11-02 10:00:00）："
                                "评价不能早于订单")
    rejected = ingest.ImportRejected([problem], {"not_allowed": 7})
    assert rejected.report(first=1, lang="zh").splitlines() == [
        "导入被拒绝：7 个问题；没有写入任何数据。", "值不允许（7）：", "  " + problem.text("zh"), "  ……另有 6 个",
        "CSV 的行号与电子表格相同（表头是第 1 行）；Parquet 记录从 1 开始编号。"]
    assert rejected.report(first=1).splitlines()[:2] == ["Import refused: 7 problem(s); nothing was written.",
                                                         "not_allowed (7):"]


def test_a_lift_verdict_in_chinese():
    from o2o_ops import lift

    real = dict(stores=2, is_thin=False, lift=0.5, lift_low=0.2, lift_high=0.8, extra_orders=70.0,
                extra_net_revenue=123456.0)
    assert lift.verdict(real) == (
        "Real lift: +50% orders at its stores (95% interval +20% to +80%) against what stores without a campaign in "
        "the same city and category suggest, about 70 extra orders; net revenue +¥123,456.")
    assert lift.verdict(real, "zh") == (
        "确有提升：与同城市同品类无活动门店所预测的相比，活动门店的订单 +50%（95% 区间 +20% 至 +80%），"
        "约增加 70 笔订单；净营收 +¥12.3万。")
    thin = dict(stores=2, is_thin=True, lift_low=None,
                thin_reason="only 1 baseline week before it (need 3); only 1.0 comparable stores without a campaign "
                            "(same city or category; need 2)")
    assert lift.verdict(thin, "zh") == ("数据太少无法判断：活动前只有 1 个基线周（至少需要 3 个）；"
                                        "可比的无活动门店只有 1.0 家（同城市或同品类；至少需要 2 家）。")
    assert lift.verdict(dict(real, lift=0.05, lift_low=-0.1, lift_high=0.2), "zh") == \
        "效果不明显：变化（+5%）在各周的正常波动范围内（95% 区间 −10% 至 +20%）。"


def test_the_map_tooltip_legend_and_city_bubbles_in_chinese():
    import pandas as pd

    from o2o_ops import maps

    assert maps.tooltip("refund_rate", "zh")["html"] == ("<b>{store_name}</b><br/>{category_label} · {store_city}<br/>"
                                                          "退款率：<b>{kpi_text}</b><br/>订单数：{orders_text}")
    assert "Refund rate: <b>{kpi_text}</b><br/>Orders: {orders_text}" in maps.tooltip("refund_rate")["html"]
    legend = maps.legend_html("revenue", 0.0, 200000.0, lang="zh")
    assert "<b>营收</b>（颜色）" in legend and ">¥20万</span>" in legend and "· 大小 = 订单数 · 灰色 = 无数值" in legend
    assert maps.legend_html("revenue", None, None, lang="zh") == "<div><b>营收</b>：在这些筛选条件下没有数值</div>"
    assert maps.city_caption({"stores": 18, "attention": 3}, "zh") == "18 家门店 · 3 家现在需要关注"
    assert maps.city_caption({"stores": 1, "attention": 1}) == "1 store · 1 needs attention now"
    stores = pd.DataFrame({"store_id": ["S1"], "store_name": ["Lakeside Noodles"], "store_city": ["Hangzhou"],
                           "store_category": ["car_rental"], "lat": [30.25], "lon": [120.13], "orders": [12345],
                           "refund_rate": [0.125]})
    [point] = maps.store_points_layer(stores, "refund_rate", "zh").data
    assert (point["category_label"], point["kpi_text"], point["orders_text"]) == ("租车", "12.5%", "1.23万")
