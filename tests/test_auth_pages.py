"""Sign-in in the app (AppTest on a small demo warehouse): the form, the open demo, a store
manager's session on every page, links naming another store, orders for analysts only, timeout,
sign-out.

The manager ``mgr`` runs S0007 and S0035 (Shanghai restaurants that ran campaigns); the demo has
40 stores in 6 cities.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from o2o_ops import auth, db, metrics
from o2o_ops.filters import Filters
from apptest_util import open_page, texts
from o2o_ops import demo

PAGES = ["pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py"]
MINE = ("S0007", "S0035")
MGR = {"o2o_user": {"name": "mgr"}}
ANALYST = {"o2o_user": {"name": "ana"}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small demo warehouse (named tiny so the tests read the same on any fixture)."""
    path = tmp_path_factory.mktemp("auth_demo") / "demo.duckdb"
    demo.build_demo(path, orders=20_000, seed=3)
    return path


@pytest.fixture(scope="module")
def stores(tiny) -> pd.DataFrame:
    con = db.connect(tiny)
    try:
        return db.run(con, "SELECT store_id, name, city FROM stores ORDER BY store_id")
    finally:
        con.close()


def assert_only_mine(shown: str, stores: pd.DataFrame, where: str) -> None:
    others = stores[~stores["store_id"].isin(MINE)]
    leaked = [sid for sid in re.findall(r"\bS\d{4}\b", shown) if sid not in MINE]
    assert not leaked, (where, leaked[:5])
    leaked_names = [name for name in others["name"] if name in shown]
    assert not leaked_names, (where, leaked_names[:5])


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    auth.add_user("mgr", "mgr-pass", "store_manager", stores=list(MINE), path=path)
    auth.add_user("ana", "ana-pass", "analyst", path=path)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    return path


def sidebar_text(at) -> str:
    return "\n".join(str(el.value) for kind in ("caption", "markdown", "info", "warning")
                     for el in getattr(at.sidebar, kind))


def everything_shown(at) -> str:
    """All text, metric values, widget options and dataframe cells of the page."""
    parts = [texts(at)]
    for df in (el.value for el in at.dataframe):
        if isinstance(df, pd.DataFrame):
            parts.append(df.to_csv(index=False))
    for widget in (*at.multiselect, *at.selectbox):
        parts.extend(str(option) for option in widget.options)
    return "\n".join(parts)


def store_options(stores: pd.DataFrame, ids) -> list[str]:
    names = dict(zip(stores["store_id"], stores["name"]))
    return [f"{names[sid]} ({sid})" for sid in ids]


def test_open_demo_says_so(tiny, stores, tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-such-users.toml"))
    at = open_page(None, tiny)
    assert not at.exception
    assert "Open demo: no sign-in configured" in sidebar_text(at)
    assert all(b.key != "o2o_sign_out" for b in at.sidebar.button)
    assert at.sidebar.multiselect(key="flt_store").options == store_options(stores, stores["store_id"])


def test_sign_in_form_gates_every_page(tiny, stores, users):
    at = open_page(None, tiny, query={"store": "S0007"})
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"]
    assert not at.metric and not at.dataframe
    assert "Open demo" not in sidebar_text(at)
    # a wrong password fails, and says nothing more
    at.text_input(key="signin_name").input("mgr")
    at.text_input(key="signin_password").input("not-it")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"] and not at.metric
    assert "o2o_user" not in at.session_state
    # the right one opens the app, scoped to the manager's stores; the link's store survives
    at.text_input(key="signin_name").input("mgr")
    at.text_input(key="signin_password").input("mgr-pass")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.session_state["o2o_scope"] == {"stores": list(MINE), "regions": None}
    assert "Signed in as **mgr** (store manager · 2 stores)" in sidebar_text(at)
    assert at.sidebar.multiselect(key="flt_store").options == store_options(stores, MINE)
    assert at.session_state["o2o_filters"].stores == ("S0007",)
    assert at.metric


def test_back_off_shows_in_the_form(tiny, users, monkeypatch):
    """After 3 wrong passwords the form says how long to wait; meanwhile even the right password
    is refused (AppTest has no client address: counted as "local"). The first wait is stretched
    to the 15-minute cap so that a slow machine cannot outlast it between two clicks."""
    monkeypatch.setattr(auth, "BACKOFF_START", dt.timedelta(hours=1))
    at = open_page(None, tiny)
    for _ in range(3):
        at.text_input(key="signin_name").input("mgr")
        at.text_input(key="signin_password").input("guess")
        at.button[0].click().run()
    assert "After 3 failures, wait 15 minutes before the next try." in at.error[0].value   # the cap
    at.text_input(key="signin_name").input("mgr")
    at.text_input(key="signin_password").input("mgr-pass")
    at.button[0].click().run()
    assert "Too many failed sign-ins for this name from here. Wait" in at.error[0].value
    assert "o2o_user" not in at.session_state and not at.metric
    # the administrator's `user unlock` lifts it at once
    auth.clear_failures("mgr", users)
    at.text_input(key="signin_name").input("mgr")
    at.text_input(key="signin_password").input("mgr-pass")
    at.button[0].click().run()
    assert at.session_state["o2o_user"]["name"] == "mgr" and at.metric


@pytest.mark.parametrize("page", PAGES)
def test_store_manager_sees_only_their_stores_on_every_page(tiny, stores, users, page):
    at = open_page(page, tiny, session=MGR)
    assert not at.exception, page
    assert_only_mine(everything_shown(at), stores, page)
    assert at.session_state["o2o_filters"].scope_stores == MINE


def test_store_manager_can_only_pick_their_stores(tiny, stores, users):
    # (AppTest shows the sidebar of the first page only, so this is checked on the landing page)
    at = open_page(None, tiny, session=MGR)
    assert not at.exception
    assert at.sidebar.multiselect(key="flt_store").options == store_options(stores, MINE)
    assert at.sidebar.multiselect(key="flt_city").options == ["Shanghai"]
    assert at.sidebar.multiselect(key="flt_category").options == ["Restaurant"]  # coded values read in words
    assert "Signed in as **mgr** (store manager · 2 stores)" in sidebar_text(at)


def test_store_manager_numbers_are_their_stores(tiny, users):
    at = open_page("pages/quality.py", tiny, session=MGR)
    assert not at.exception
    filters = at.session_state["o2o_filters"]
    assert filters.scope_stores == MINE and filters.start and filters.end
    con = db.connect(tiny)
    try:
        scoped = metrics.compute(con, Filters(start=filters.start, end=filters.end, stores=MINE), "total", None).iloc[0]
        everything = metrics.compute(con, filters.replace(scope_stores=None), "total", None).iloc[0]
    finally:
        con.close()
    shown = {m.label: m.value for m in at.metric}
    checked = 0
    for name in ("avg_rating", "positive_share", "complaint_rate", "refund_rate", "sla_attainment", "repeat_rate"):
        kpi = metrics.KPIS[name]
        if kpi.label in shown:
            assert shown[kpi.label] == kpi.format(scoped[name]), name
            checked += 1
    assert checked >= 4
    # and they are not everyone's numbers
    assert any(kpi.format(scoped[n]) != kpi.format(everything[n])
               for n, kpi in metrics.KPIS.items() if kpi.label in shown and n in scoped)


def test_a_link_to_another_store_shows_nothing_of_it(tiny, stores, users):
    at = open_page(None, tiny, query={"store": "S0001"}, session=MGR)
    assert not at.exception
    assert at.warning and "Ignored unknown store “S0001” from the link." in texts(at)
    assert at.session_state["o2o_filters"].stores == ()
    assert at.session_state["o2o_filters"].scope_stores == MINE
    shown = everything_shown(at).replace("Ignored unknown store “S0001”", "")
    assert_only_mine(shown, stores, "?store=S0001")
    # the symmetry page's store drill, opened by a link to another store, shows only theirs
    at = open_page("pages/symmetry.py", tiny, query={"store": "S0001"}, session=MGR)
    assert not at.exception
    assert_only_mine(everything_shown(at).replace("Ignored unknown store “S0001”", ""), stores, "symmetry")
    # a link naming their own store still narrows as usual
    at = open_page(None, tiny, query={"store": "S0035"}, session=MGR)
    assert at.session_state["o2o_filters"].stores == ("S0035",) and not at.warning


def _campaign_at(tiny, store_id: str, filters: Filters) -> str:
    con = db.connect(tiny)
    try:
        return db.scalar(con, f"""
            SELECT campaign_id FROM order_facts
            WHERE store_id = $store AND campaign_id IS NOT NULL AND {filters.where_sql("facts")}
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", {"store": store_id, **filters.params("facts")})
    finally:
        con.close()


def test_analyst_sees_orders_a_manager_does_not(tiny, users):
    at = open_page("pages/campaigns.py", tiny, session=ANALYST)
    campaign = _campaign_at(tiny, "S0035", at.session_state["o2o_filters"])
    query = {"campaign": campaign, "cstore": "S0035"}
    at = open_page("pages/campaigns.py", tiny, query=query, session=ANALYST)
    assert not at.exception
    order_tables = [el.value for el in at.dataframe if "order_id" in getattr(el.value, "columns", [])]
    assert order_tables and len(order_tables[0]) > 0
    at = open_page("pages/campaigns.py", tiny, query=query, session=MGR)
    assert not at.exception
    assert at.session_state["cmp_store"] == "S0035"      # the drill got as far as the store
    assert not [el for el in at.dataframe if "order_id" in getattr(el.value, "columns", [])]
    assert any("analysts" in i.value for i in at.info)


def test_session_times_out(tiny, users):
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    at = open_page(None, tiny, session={**MGR, "o2o_signed_in_at": long_ago, "o2o_seen_at": long_ago})
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"]
    assert "timed out" in at.info[0].value
    assert "o2o_scope" not in at.session_state and not at.metric


def test_sign_out_and_removed_users(tiny, users):
    at = open_page(None, tiny, session=MGR)
    assert at.metric
    at.sidebar.button(key="o2o_sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"] and not at.metric
    assert "You signed out." in at.info[0].value
    # a user removed from the file is out at their next click
    at = open_page("pages/quality.py", tiny, session=MGR)
    auth.remove_user("mgr", users)
    at.run()
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"]
    assert "No user named 'mgr'" in at.info[0].value


def test_an_empty_users_file_admits_nobody(tiny, tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    path.write_text("")
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    at = open_page(None, tiny, session={"o2o_user": {"name": "mgr"}})
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to o2o-ops"]
    assert "no users exist yet" in at.info[-1].value


def test_review_rows_with_their_orders_are_for_analysts_only(tiny, users):
    """The symmetry drill's low-rated reviews carry order ids and amounts: order-level rows."""
    query = {"store": "S0035", "from": "2026-01-05"}   # the whole span: S0035 has low-rated reviews in it
    at = open_page("pages/symmetry.py", tiny, query=query, session=ANALYST)
    assert not at.exception
    assert [el for el in at.dataframe if "order_id" in getattr(el.value, "columns", [])]
    at = open_page("pages/symmetry.py", tiny, query=query, session=MGR)
    assert not at.exception
    assert not [el for el in at.dataframe if "order_id" in getattr(el.value, "columns", [])]
    assert any("analysts only" in i.value for i in at.info)


def test_a_user_named_by_mail_address_is_shown_literally_in_the_sidebar(tiny, tmp_path, monkeypatch):
    """User names may be mail addresses (the name rule allows @ . + _); markdown would turn one
    into a mailto link and an underscore pair into italics."""
    path = tmp_path / "users.toml"
    auth.add_user("ann_li+ops@example.com", "pw-12345678", "analyst", path=path)
    monkeypatch.setenv("O2O_USERS_FILE", str(path))
    at = open_page(None, tiny)
    at.text_input(key="signin_name").input("ann_li+ops@example.com")
    at.text_input(key="signin_password").input("pw-12345678")
    at.button[0].click().run()
    assert not at.exception
    caption = next(el.value for el in at.sidebar.caption if "Signed in as" in str(el.value))
    from markdown_it import MarkdownIt
    rendered = MarkdownIt("gfm-like").renderInline(caption).replace("\u2060", "")
    assert rendered == "Signed in as <strong>ann_li+ops@example.com</strong> (analyst)"
