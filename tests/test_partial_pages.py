"""Every page on every partial warehouse (tests/partial_shapes.py): no exception, no error box,
no traceback, and no nan / None / NaT / inf / +nan% in anything rendered."""

from __future__ import annotations

import html
import json
import re

import pytest

from apptest_util import LEAKS, leaks, open_link, open_page, rendered_texts, texts
from o2o_ops import db, maps, report, weekly
from o2o_ops.filters import Filters
from o2o_ops.weekly import Week
from partial_shapes import SHAPES, shape_rows

PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_page_works_on_every_partial_warehouse(shape, page, partial_warehouse):
    at = open_page(page, partial_warehouse(shape))
    assert not at.exception, at.exception[0].message if at.exception else ""
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert not leaks(at), leaks(at)
    assert rendered_texts(at)
    # a missing cell reads "—" (Streamlit's grid would draw "None"); a file preview shows it blank
    assert all(d.proto.placeholder in ("—", "") for d in at.dataframe), [d.proto.placeholder for d in at.dataframe]


@pytest.mark.parametrize("page", PAGES)
def test_stores_only_says_there_are_no_orders_yet(page, partial_warehouse):
    at = open_link(page, partial_warehouse("stores_only"))
    assert not at.exception and not at.error
    assert "No orders yet, so no dates to pick: import orders on the Data page." in [c.value for c in at.sidebar.caption]
    assert not at.metric
    if page not in ("pages/data.py", "pages/definitions.py", "pages/map.py"):
        assert "This warehouse has no orders yet, so there is nothing to show here." in texts(at)
    if page == "pages/data.py":  # the warehouse table counts what was imported: 5 stores, nothing else
        tables = at.dataframe[0].value.set_index(at.dataframe[0].value.columns[0])
        assert tables.iloc[:, 0].to_dict() == {**{t: 0 for t in db.CONTRACT_TABLES}, "stores": 5}


def csv_orders(shape: str, first: str, last: str) -> list[dict]:
    return [o for o in shape_rows(SHAPES[shape])["orders"][1] if first <= o["ordered_at"][:10] <= last]


def test_orders_only_values_by_hand(partial_warehouse):
    wh = partial_warehouse("orders_only")
    week = csv_orders("orders_only", "2026-10-26", "2026-11-01")   # 2026-W44, the default week
    before = csv_orders("orders_only", "2026-10-19", "2026-10-25")
    at = open_link("pages/overview.py", wh)
    cards = {m.label: m for m in at.metric}
    assert cards["Orders"].value == f"{len(week)}"
    assert cards["Orders"].proto.delta == f"{len(week) - len(before):+d}"
    paid = [o for o in week if o["status"] != "cancelled"]
    assert cards["Revenue"].value == f"¥{sum(float(o['paid_amount']) for o in paid):,.0f}"
    # no reviews, redemptions, refunds or costs were imported: those KPIs say so, never 0 or a prior
    for label in ("Average rating", "Symmetry index", "Redemption rate", "Refund rate", "Cost per redemption", "ROI"):
        assert cards[label].value == "—" and cards[label].proto.delta == "Not provided", (label, cards[label].value)
    assert cards["Average rating"].proto.delta_description == "no reviews imported"
    assert "Not provided: no reviews imported." in cards["Average rating"].proto.help.replace("\\", "")  # md-escaped

    at = open_link("pages/cost.py", wh)
    cost = {m.label: m.value for m in at.metric}
    paid_all = [o for o in csv_orders("orders_only", "2026-10-05", "2026-11-01") if o["status"] != "cancelled"]
    assert cost["Discount cost"] == f"¥{sum(float(o['discount_amount'] or 0) for o in paid_all):,.0f}"
    deltas = {m.label: m.proto.delta for m in at.metric}
    for label in ("Marketing spend", "Staff cost", "Other costs", "ROI", "Cost per redemption", "Customer acquisition cost"):
        assert cost[label] == "—" and deltas[label] == "Not provided", (label, cost[label])
    assert "Not in the chart: Marketing, Staff, Other — no costs imported." in texts(at)

    # the discounts and platform fees are drawn; the charts of what needs costs say why they are empty
    assert empty_charts(at) == {
        "cost_group_kpis": "Not provided: no costs imported; no redemptions imported",
        "cost_group_roi": "Not provided: no costs imported; no in-store extra spend imported; no refunds imported",
        "cost_store_margin": "No margin: it needs what this warehouse was not given (no in-store extra spend "
                             "imported; no refunds imported; no costs imported)."}

    at = open_link("pages/efficiency.py", wh)
    everything = csv_orders("orders_only", "2026-10-05", "2026-11-01")
    assert {m.label: m.value for m in at.metric}["Paid orders"] == \
        f"{sum(o['status'] != 'cancelled' for o in everything):,}"
    assert empty_charts(at) == {"eff_time_to_redeem": "Not provided: no redemptions imported",
                                "eff_redemption_trend": "Not provided: no redemptions imported"}


def empty_charts(at) -> dict[str, str]:
    """The page's charts that drew nothing, by key: what each says in place of a chart."""
    import json
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if not spec.get("data") and len(spec["layout"].get("annotations", ())) == 1:
            # its lines (say_why_empty wraps a long reason) read as one text
            out[chart.proto.id.rsplit("-", 1)[-1]] = spec["layout"]["annotations"][0]["text"].replace("<br>", " ")
    return out


@pytest.mark.parametrize("lang, says", [
    ("en", {"q_rating_distribution": "Not provided: no reviews imported",
            "q_rating_trend": "Not provided: no reviews imported",
            "q_complaints": "Not provided: no redemptions imported; no complaint categories imported",
            "q_refund_reasons": "Not provided: no refunds imported",
            "q_refund_trend": "Not provided: no refunds imported",
            "q_sla": "Not provided: no wait times imported",
            "q_peers": "Not provided: no reviews imported"}),
    ("zh", {"q_rating_distribution": "未提供：未导入评价", "q_rating_trend": "未提供：未导入评价",
            "q_complaints": "未提供：未导入核销；未导入投诉类别", "q_refund_reasons": "未提供：未导入退款",
            "q_refund_trend": "未提供：未导入退款", "q_sla": "未提供：未导入等待时间", "q_peers": "未提供：未导入评价"}),
])
def test_quality_charts_of_data_never_imported_say_so(partial_warehouse, lang, says):
    """Stores, customers and orders only: each quality chart drawn from reviews, redemptions or
    refunds says which was never imported, as its card does, not "No reviews for these filters"."""
    at = open_link("pages/quality.py", partial_warehouse("orders_only"), {"lang": lang})
    assert not at.exception and not at.error
    assert empty_charts(at) == says
    # no empty refund-reasons table (and its CSV) under the charts that say why
    assert not [d for d in at.dataframe if "reason" in d.value.columns]
    assert len(at.get("download_button")) == len(at.dataframe)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_report_reads_cleanly_on_every_partial_warehouse(shape, partial_warehouse):
    con = db.connect(partial_warehouse(shape))
    try:
        week = weekly.default_week(con) or Week.parse("2026-W44")
        page = report.build_html(con, Filters(), week)
    finally:
        con.close()
    words = html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.S))
    assert not LEAKS.search(words), LEAKS.search(words)


@pytest.mark.parametrize("shape", ["orders_only", "no_costs_no_campaigns"])
def test_campaigns_page_without_campaigns_says_so(shape, partial_warehouse):
    at = open_link("pages/campaigns.py", partial_warehouse(shape))
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [
        "This warehouse has no campaigns yet. Import a campaigns file, with the campaign_id of each campaign order "
        "in the orders file, on the Data page to see what each campaign brings."]


def test_the_map_draws_the_stores_grey_before_any_order_is_imported(partial_warehouse):
    """Stores imported first: the map places them where their coordinates say, grey (no KPI yet),
    so an operator can check the positions; it says why they are grey."""
    import json
    from o2o_ops import maps
    at = open_link("pages/map.py", partial_warehouse("stores_only"))
    assert not at.exception and not at.error
    assert any(i.value.startswith("This warehouse has no orders yet: its 5 stores are drawn in grey") for i in at.info)
    # no layer but the stores can draw anything yet: each is marked, the load ahead too
    assert [o.content for o in at.pills(key="map_layers").proto.options] == [
        "Stores", "Redemption activity (not provided)", "Attention list (not provided)", "Load ahead (not provided)"]
    assert at.pills(key="map_layers").value == ["Stores"]
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    placed = next(layer for layer in deck["layers"] if layer["id"] == maps.STORES_LAYER)["data"]
    stores = {s["store_id"]: s for s in shape_rows(SHAPES["stores_only"])["stores"][1]}
    assert sorted(p["store_id"] for p in placed) == sorted(stores)
    for point in placed:     # at the file's coordinates, grey, its KPI "—" and no orders
        assert (point["lat"], point["lon"]) == (float(stores[point["store_id"]]["lat"]),
                                                float(stores[point["store_id"]]["lon"]))
        assert point["color"] == list(maps.MISSING_RGBA) and point["kpi_text"] == "—"
        assert point["orders_text"] == "0"
    assert not leaks(at), leaks(at)
    # a city filter narrows them; nothing is drawn for a city without stores
    at = open_link("pages/map.py", partial_warehouse("stores_only"), {"city": "Hangzhou"})
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    placed = next(layer for layer in deck["layers"] if layer["id"] == maps.STORES_LAYER)["data"]
    assert sorted(p["store_id"] for p in placed) == sorted(k for k, v in stores.items() if v["city"] == "Hangzhou")


def test_the_cost_chart_says_no_cost_of_any_kind_was_provided(tmp_path):
    """Orders without discounts or platform fees, and no costs file: every component of the cost
    chart is missing, and it says so (the caption under it says why), not "No costs for these filters"."""
    from partial_shapes import Shape, WITHOUT_CAMPAIGNS, build_shape
    shape = Shape("orders_without_costs", ("stores", "customers", "orders"),
                  drop={"orders": (*WITHOUT_CAMPAIGNS["orders"], "discount_amount", "platform_fee")})
    at = open_link("pages/cost.py", build_shape(shape, tmp_path / "files", tmp_path / "w.duckdb"))
    assert not at.exception and not at.error
    assert empty_charts(at)["cost_breakdown"] == "No cost of any kind was provided: see below"
    assert ("Not in the chart: Discounts, Platform fees, Marketing, Staff, Other — no discount amounts imported; "
            "no platform fees imported; no costs imported.") in texts(at)


@pytest.mark.parametrize("shape, stages, caption", [
    ("orders_only", ["Ordered", "Paid"],
     "Not in the funnel: Redeemed, Reviewed — no redemptions imported; no reviews imported."),
    ("no_reviews", ["Ordered", "Paid", "Redeemed"], "Not in the funnel: Reviewed — no reviews imported."),
    ("no_promises", ["Ordered", "Paid", "Redeemed", "Reviewed"], None),
])
def test_the_funnel_draws_no_stage_of_data_never_imported(partial_warehouse, shape, stages, caption):
    """A stage whose table was never imported is left out of the funnel, and the caption says why,
    where it had read 0 redeemed or 0 reviewed."""
    import json
    at = open_link("pages/efficiency.py", partial_warehouse(shape))
    assert not at.exception and not at.error
    funnel = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith("eff_funnel"))
    assert funnel["data"][0]["y"] == stages
    captions = [c for c in texts(at).splitlines() if c.startswith("Not in the funnel")]
    assert captions == ([caption] if caption else [])


@pytest.mark.parametrize("shape, says", [
    ("orders_only", {"sym_scatter": "Not provided: no reviews imported",
                     "sym_deal_store": "Not provided: no campaigns imported; no reviews imported",
                     "sym_deal_week": "Not provided: no campaigns imported; no reviews imported"}),
    ("no_promises", {"sym_scatter": "Not provided: no listed ratings imported"}),
    ("no_reviews", {"sym_scatter": "Not provided: no reviews imported",
                    "sym_deal_store": "Not provided: no reviews imported",
                    "sym_deal_week": "Not provided: no reviews imported"}),
])
def test_symmetry_charts_of_data_never_imported_say_so(partial_warehouse, shape, says):
    """The listed-against-actual scatter and the deal-customer charts say which data was never
    imported (as the rating-gap and deal-gap cards do), not that no store has both."""
    at = open_link("pages/symmetry.py", partial_warehouse(shape))
    assert not at.exception and not at.error
    got = empty_charts(at)
    assert {k: v for k, v in got.items() if k.startswith(("sym_scatter", "sym_deal"))} == says


@pytest.mark.parametrize("lang, words", [
    ("en", "No store could be judged for attention this week: no reviews imported."),
    ("zh", "本周无法判断是否有门店需要关注：未导入评价。"),
])
def test_no_all_clear_where_no_store_could_be_judged(partial_warehouse, lang, words):
    """Reviews never imported: the overview's attention section, its summary and the report do
    not say "No store needs attention this week" (a green all-clear nobody could give); they say
    no store could be judged, and why."""
    wh = partial_warehouse("orders_only")
    at = open_link("pages/overview.py", wh, {"lang": lang})
    assert not at.exception and not at.error
    assert [i.value for i in at.info if i.value == words] == [words]
    assert not [s.value for s in at.success if "关注" in s.value or "attention" in s.value]
    # nor four empty rankings: they need the same reviews
    ranked = {"en": "No store could be ranked this week: no reviews imported.", "zh": "本周无法为门店排名：未导入评价。"}[lang]
    assert [i.value for i in at.info if i.value == ranked] == [ranked]
    assert not at.tabs and not at.dataframe
    con = db.connect(wh)
    try:
        week = weekly.default_week(con)
        ov = weekly.build(con, Filters(), week, lang=lang)
        page = report.build_html(con, Filters(), week, lang=lang)
    finally:
        con.close()
    assert any(s.startswith(words) for s in ov.summary), ov.summary
    assert words in html.unescape(page) and ranked in html.unescape(page)
    assert "No store needs attention" not in " ".join(ov.summary) + page
    assert "No store has enough reviews" not in page and "没有门店有足够的评价" not in page


def test_stores_below_the_review_floor_get_no_all_clear_either(partial_warehouse, monkeypatch):
    """Reviews imported, but no store has the floor's count in the week: the same, with that reason;
    with a floor of 1 the stores are judged and the all-clear (or a list) comes back."""
    wh = partial_warehouse("no_promises")
    con = db.connect(wh)
    try:
        week = weekly.default_week(con)
        monkeypatch.setenv("O2O_MIN_REVIEWS", "1000")
        ov = weekly.build(con, Filters(), week)
        assert ov.unjudged == "every store had fewer than 1000 reviews"
        assert any(s.startswith("No store could be judged for attention this week: every store had fewer than "
                                "1000 reviews.") for s in ov.summary), ov.summary
        monkeypatch.setenv("O2O_MIN_REVIEWS", "1")
        ov = weekly.build(con, Filters(), week)
        assert ov.unjudged is None
        assert not any("could be judged" in s for s in ov.summary)
    finally:
        con.close()


def test_the_map_starts_on_a_kpi_the_warehouse_provides(partial_warehouse):
    """Orders without reviews or redemptions: the symmetry index (the map's first KPI) would colour
    every store grey. The map starts on the listed rating, the first it can provide, marks the
    others "(not provided)", and the legend of one picked anyway says why."""
    wh = partial_warehouse("orders_only")
    at = open_link("pages/map.py", wh)
    assert not at.exception and not at.error
    pick = at.selectbox(key="map_kpi")
    assert pick.value == "online_rating"
    assert pick.options == ["Symmetry index (not provided)", "Average rating (not provided)", "Listed (online) rating",
                            "Inspection pass rate (not provided)", "Redemption rate (not provided)",
                            "SLA attainment (not provided)", "Capacity utilisation (not provided)"]
    legends = [h.proto.body for h in at.get("html") if "(colour)" in h.proto.body]
    assert len(legends) == 1 and "<b>Listed (online) rating</b> (colour)" in legends[0]
    pick.set_value("symmetry_index").run()
    assert not at.exception
    assert "<div><b>Symmetry index</b>: not provided: no redemptions imported; no reviews imported</div>" in \
        [h.proto.body for h in at.get("html")]
    # where everything is provided the map starts on the symmetry index, as before
    full = open_link("pages/map.py", partial_warehouse("no_coordinates"))
    assert full.selectbox(key="map_kpi").value == "symmetry_index"
    assert [o for o in full.selectbox(key="map_kpi").options if "not provided" in o] == \
        ["Inspection pass rate (not provided)"]   # the base data has no inspections file


def test_the_map_marks_the_layers_it_cannot_draw_and_gives_no_all_clear(partial_warehouse):
    """Orders without reviews or redemptions: the redemption glow, the attention rings and the load
    ahead can draw nothing. They are marked "(not provided)" and start switched off; the caption
    says no store was judged (not "0 need attention now") and, for a layer switched on anyway, why
    it draws nothing."""
    at = open_link("pages/map.py", partial_warehouse("orders_only"))
    assert not at.exception and not at.error
    pills = at.pills(key="map_layers")
    assert [o.content for o in pills.proto.options] == [
        "Stores", "Redemption activity (not provided)", "Attention list (not provided)", "Load ahead (not provided)"]
    assert pills.value == ["Stores"]
    captions = [c.value for c in at.caption]
    caption = next(c for c in captions if "no store judged for attention" in c)
    assert "need attention now" not in caption and "forecast over capacity" not in caption
    assert "no store judged for attention (no reviews imported)" in caption
    assert not [c for c in captions if "draws nothing" in c]
    pills.set_value(["Stores", "Redemption activity", "Attention list", "Load ahead"]).run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert [c for c in captions if "draws nothing" in c] == [
        "Redemption activity draws nothing: no redemptions imported.",
        "Attention list draws nothing: no reviews imported.",
        "Load ahead draws nothing: no redemptions imported."]
    layer_ids = {layer["id"] for layer in json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]}
    assert not layer_ids & {maps.REDEMPTIONS_LAYER, maps.ATTENTION_LAYER, maps.LOAD_AHEAD_LAYER}, layer_ids
    # where reviews and redemptions were imported every layer starts on, and none is marked
    full = open_link("pages/map.py", partial_warehouse("no_coordinates"))
    assert [o.content for o in full.pills(key="map_layers").proto.options] == [
        "Stores", "Redemption activity", "Attention list", "Load ahead"]
    assert full.pills(key="map_layers").value == ["Stores", "Redemption activity", "Attention list", "Load ahead"]
    # ... and with reviews imported but fewer than the rule's 5 in that week at every store, the
    # caption says so rather than "0 need attention now"
    assert any("no store judged for attention (every store had fewer than 5 reviews)" in c.value
               for c in full.caption), [c.value for c in full.caption]
    assert not any("need attention now" in c.value for c in full.caption)


@pytest.mark.parametrize("lang, said", [
    ("en", "Nothing to hold against the promise: no reviews imported; no wait times imported."),
    ("zh", "无法与承诺对照：未导入评价；未导入等待时间。"),
])
def test_the_store_drill_gives_no_all_clear_where_no_gap_could_be_measured(partial_warehouse, lang, said):
    """Without reviews or wait times neither the rating nor the wait can be held against what the
    store listed: the drill said "No gap between promise and delivery worth a mention", and now
    says why nothing could be compared. Where they were imported it still names the gap or says
    there is none worth a mention."""
    at = open_link("pages/symmetry.py", partial_warehouse("orders_only"), {"lang": lang})
    assert not at.exception and not at.error
    assert said in [i.value.replace("\\", "") for i in at.info]
    assert not [m.value for m in at.markdown if m.value.startswith(("No gap between", "承诺与交付之间没有"))]
    full = open_link("pages/symmetry.py", partial_warehouse("no_coordinates"))
    assert not [i.value for i in full.info if "Nothing to hold against" in i.value]


@pytest.mark.parametrize("lang, quality, efficiency", [
    ("en", "No store-week in this scope could be judged: average wait (no wait times imported); average rating "
           "(no reviews imported); refund rate (no refunds imported).",
     "No store-week in this scope could be judged: orders (no store had a whole week with 10 orders); average wait "
     "(no wait times imported)."),
    ("zh", "此范围内没有可判断的门店周：平均等待（未导入等待时间）；平均评分（未导入评价）；退款率（未导入退款）。",
     "此范围内没有可判断的门店周：订单数（没有门店在完整的一周内有 10 笔订单）；平均等待（未导入等待时间）。"),
])
def test_unusual_store_weeks_give_no_all_clear_where_none_was_judged(partial_warehouse, lang, quality, efficiency):
    """Orders without reviews, redemptions or refunds, and no store with 10 orders in a whole week:
    the pages' lists of unusual store-weeks said "No store-week in this scope is unusual" (a green
    all-clear) where no store-week could be judged. They now say why none was; the refund rate,
    scored at 0 in every week without refunds, is among them."""
    wh = partial_warehouse("orders_only")
    for page, said in (("pages/quality.py", quality), ("pages/efficiency.py", efficiency)):
        at = open_link(page, wh, {"lang": lang})
        assert not at.exception and not at.error
        assert said in [i.value.replace("\\", "") for i in at.info], [i.value for i in at.info]
        assert not at.success


@pytest.mark.parametrize("shape, trend, low_rated", [
    ("orders_only", "Not provided: no redemptions imported; no reviews imported", "Not provided: no reviews imported"),
    ("no_promises", "Fewer than 5 reviews in every week: no weekly index", None),
])
def test_the_store_drill_says_why_its_trend_and_reviews_are_empty(partial_warehouse, shape, trend, low_rated):
    """The store drill's weekly index says why it is empty (the data was never imported, or no week
    alone has the five reviews the index needs), and with no reviews imported the low-rated list
    says so instead of a thumbs-up for having none."""
    at = open_link("pages/symmetry.py", partial_warehouse(shape))
    assert not at.exception and not at.error
    assert empty_charts(at)["sym_drill_trend"] == trend
    said = [i.value.replace("\\", "") for i in at.info]
    if low_rated:
        assert low_rated in said and "No low-rated reviews for this store in the period." not in said
    else:
        assert not [s for s in said if s.startswith("Not provided")]


@pytest.mark.parametrize("lang, words", [("en", "No store can be judged for attention: no reviews imported."),
                                         ("zh", "无法判断是否有门店需要关注：未导入评价。")])
def test_the_attention_tab_says_reviews_were_never_imported(partial_warehouse, lang, words):
    at = open_link("pages/symmetry.py", partial_warehouse("orders_only"), {"lang": lang})
    assert not at.exception and not at.error
    assert words in [i.value.replace("\\", "") for i in at.info]   # markdown-escaped on the page


def test_no_load_ahead_is_forecast_without_redemptions(partial_warehouse):
    """Orders without redemptions: every voucher looks open and none is ever redeemed, so the
    forecast read "0 redemptions expected, 0.0 % of capacity" for every store: an all-clear nobody
    measured. The page, the command line and the map's risk layer say what it lacks instead."""
    import subprocess
    import sys
    from o2o_ops import forecast
    wh = partial_warehouse("orders_only")
    con = db.connect(wh)
    try:
        ahead = forecast.load_ahead(con)
        assert ahead["why"] == "not provided: no redemptions imported" and ahead["cut"] is None
        assert ahead["stores"].empty and forecast.store_risk(con).empty
    finally:
        con.close()
    at = open_link("pages/efficiency.py", wh)
    assert not at.exception and not at.error
    assert "The load ahead cannot be forecast: no redemptions imported." in [i.value.replace("\\", "") for i in at.info]
    out = subprocess.run([sys.executable, "-m", "o2o_ops", "forecast", "--warehouse", str(wh)],
                         capture_output=True, text=True, check=True).stdout
    assert out == "The load ahead cannot be forecast: no redemptions imported.\n"
    # with redemptions it forecasts as before
    con = db.connect(partial_warehouse("no_reviews"))
    try:
        assert forecast.load_ahead(con)["why"] is None
    finally:
        con.close()


def test_the_alerts_page_says_what_a_rule_cannot_see(partial_warehouse, tmp_path, monkeypatch):
    """A rule on the average rating, over a warehouse without reviews, can never fire: the rules
    table says what it cannot see, and a warning under it that its silence is no all-clear."""
    from o2o_ops.alerts import rules, store
    monkeypatch.setenv("O2O_ALERTS_DB", str(tmp_path / "alerts.sqlite"))
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "none.toml"))
    with store.connect(tmp_path / "alerts.sqlite") as state:
        rules.save(state, rules.clean("Ratings under 4", "threshold", {"kpi": "avg_rating", "op": "below", "value": 4}))
        rules.save(state, rules.clean("Fewer orders", "threshold", {"kpi": "orders", "op": "below", "value": 1}))
    at = open_link("pages/alerts.py", partial_warehouse("orders_only"))
    assert not at.exception and not at.error
    [table] = [d.value for d in at.dataframe if "blind to" in d.value.columns]
    assert dict(zip(table["name"], table["blind to"])) == {
        "Ratings under 4": "average rating (no reviews imported)", "Fewer orders": ""}
    [warning] = [w.value.replace("\\", "") for w in at.warning if "cannot fire" in w.value]
    assert warning.endswith("so their silence is no all-clear:\n\n- **Ratings under 4** cannot see average rating "
                            "(no reviews imported).")
