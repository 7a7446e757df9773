"""AppTest of the campaigns page: campaign → store → orders by link and by widgets, paging,
comparison, empty state. Values shown are checked against the core functions / registry."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from o2o_ops import campaigns, metrics
from o2o_ops.filters import Filters
from apptest_util import open_page as _open_page, texts
from test_lift import CAMPAIGN_START, build_known
from tiny import build_tiny

PAGE = "pages/campaigns.py"
TINY_WINDOW = {"from": "2026-11-02", "to": "2026-11-10"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    """Store S1 runs campaign K with 70 campaign orders (two pages of 50) and a clear +50% lift
    against two control stores of its city and category (tests/test_lift.py)."""
    path = tmp_path_factory.mktemp("paged") / "paged.duckdb"
    return build_known(path, CAMPAIGN_START - dt.timedelta(days=28), lambda d: 15 if d >= CAMPAIGN_START else 10)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from o2o_ops import demo as demo_mod
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_mod.build_demo(path, orders=20_000, seed=3)
    return path


def open_page(page, warehouse, query):
    """Like apptest_util.open_page, but switches to this page even if the landing page failed on
    the first run (the landing page is another page's concern; this test is about campaigns)."""
    at = _open_page(None, warehouse, query)
    at.switch_page(page)
    at.run()
    return at


def _frame_with(at, column):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column} column"
    return frames[0]


def _qp(at, key):
    value = at.query_params.get(key)
    return value if isinstance(value, list) or value is None else [value]


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_link_opens_campaign_store_and_orders(tiny):
    at = open_page(PAGE, tiny, {**TINY_WINDOW, "campaign": "K1", "cstore": "S1"})
    assert not at.exception
    assert at.selectbox(key="cmp_campaign").value == "K1" and at.selectbox(key="cmp_store").value == "S1"
    con = duckdb.connect(str(tiny), read_only=True)
    window = Filters(start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 10))
    k1 = metrics.compute(con, window.replace(campaigns=("K1",)), "campaign", campaigns.TABLE_KPIS).iloc[0]
    con.close()
    assert _metric(at, "Orders") == metrics.format_value(k1["orders"], "count") == "2"
    assert _metric(at, "Redemption rate") == "50.0%"
    assert _metric(at, "Customer acquisition cost") == metrics.format_value(k1["cac"], "currency") == "¥300"
    assert _metric(at, "ROI") == metrics.format_value(k1["roi"], "ratio")
    assert "Too thin to judge" in texts(at)
    orders = _frame_with(at, "tracking_code")
    assert orders["order_id"].tolist() == ["O1"] and orders["tracking_code"].tolist() == ["T1"]
    table = _frame_with(at, "campaign_name")
    assert table["campaign_id"].tolist() == ["K1"] and table["orders"].tolist() == [2]


def test_widgets_drill_down_and_write_the_url(tiny):
    at = open_page(PAGE, tiny, TINY_WINDOW)
    assert not at.exception
    assert not [d for d in at.dataframe if "tracking_code" in d.value.columns]
    at.selectbox(key="cmp_campaign").select("K1").run()
    assert not at.exception and _qp(at, "campaign") == ["K1"]
    stores = _frame_with(at, "store_name")
    assert stores["store_id"].tolist() == ["S1", "S2"]
    at.selectbox(key="cmp_store").select("S2").run()
    assert not at.exception and _qp(at, "cstore") == ["S2"]
    orders = _frame_with(at, "tracking_code")
    assert orders["order_id"].tolist() == ["O3"]          # K1's only order at S2
    assert orders["paid_amount"].tolist() == [400]


def test_date_filter_changes_the_numbers(tiny):
    at = open_page(PAGE, tiny, {"from": "2026-11-03", "to": "2026-11-10", "campaign": "K1"})
    assert not at.exception
    assert _metric(at, "Orders") == "1"                   # O1 (11-02) is outside; O3 stays
    assert _metric(at, "Redemption rate") == "0.0%"


def test_no_campaign_orders_shows_the_empty_state(tiny):
    at = open_page(PAGE, tiny, {"from": "2026-10-20", "to": "2026-10-25"})
    assert not at.exception
    assert "No campaign orders match these filters" in texts(at)


def test_paging_by_link_and_by_widget(paged):
    at = open_page(PAGE, paged, {"campaign": "K", "cstore": "S1", "page_no": "2"})
    assert not at.exception
    con = duckdb.connect(str(paged), read_only=True)
    ids = [r[0] for r in con.execute("SELECT order_id FROM order_facts WHERE campaign_id = 'K' AND store_id = 'S1' "
                                     "ORDER BY ordered_at, order_id").fetchall()]
    con.close()
    assert len(ids) == 70
    orders = _frame_with(at, "tracking_code")
    assert orders["order_id"].tolist() == ids[50:]        # page 2: orders 51..70
    assert "Orders 51–70 of 70" in texts(at)
    assert "Real lift" in texts(at) and _metric(at, "Incremental lift") == "+50%"
    at.number_input(key="cmp_page").set_value(1).run()
    assert not at.exception
    assert _frame_with(at, "tracking_code")["order_id"].tolist() == ids[:50]
    assert "page_no" not in at.query_params


def test_compare_two_campaigns_from_the_link(demo):
    con = duckdb.connect(str(demo), read_only=True)
    at = open_page(PAGE, demo, {})
    assert not at.exception
    pair = _frame_with(at, "campaign_name")["campaign_id"].tolist()[:2]
    at = open_page(PAGE, demo, {"side": pair})
    assert not at.exception
    assert at.multiselect(key="cmp_compare").value == pair
    side = _frame_with(at, "KPI").set_index("KPI")
    # the page's filters: the default 13 weeks (as shown in the URL)
    flt = Filters(start=dt.date.fromisoformat(_qp(at, "from")[0]),
                  end=dt.date.fromisoformat(_qp(at, "to")[0]))
    expected = campaigns.compare_campaigns(con, flt, pair).set_index("label")
    con.close()
    for cid in pair:
        assert side.at["Orders", cid] == metrics.format_value(expected.at["Orders", cid], "count")
        assert side.at["Redemption rate", cid] == metrics.format_value(expected.at["Redemption rate", cid], "percent")


def test_demo_lift_verdicts_are_the_honest_labels(demo):
    """On the demo (each campaign with its own planted effect) the table says, per campaign, one of
    the four verdicts, and the drill-down shows the same verdict sentence as the core."""
    from o2o_ops import lift
    at = open_page(PAGE, demo, {})
    assert not at.exception
    table = _frame_with(at, "campaign_name")
    labels = set(table["verdict_short"])
    assert labels <= {lift.REAL_LIFT, lift.HURTS, lift.NO_CLEAR_EFFECT, lift.TOO_THIN, lift.NO_DATA}
    judged = table[table["verdict_short"].isin([lift.REAL_LIFT, lift.HURTS, lift.NO_CLEAR_EFFECT])]
    assert len(judged) >= 1
    cid = judged["campaign_id"].iloc[0]
    at = open_page(PAGE, demo, {"campaign": cid})
    assert not at.exception
    con = duckdb.connect(str(demo), read_only=True)
    want = lift.campaign_lift(con, Filters(), [cid]).iloc[0]
    con.close()
    assert want["verdict"] in texts(at)
    assert _metric(at, "Incremental lift") == metrics.format_value(want["lift"], "ratio")
