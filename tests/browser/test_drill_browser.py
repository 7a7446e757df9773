"""Click to drill, Back and Forward, in headless Chromium on the demo warehouse.

A row is picked by its check box (the grid's first column, as a reader does); each drill step
is a browser history entry (Streamlit pushes one when a run changes the URL, and reruns the page
with the URL of the entry on Back / Forward; o2o_ops.ui.frame re-reads the drill state from it).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from browser_util import error_boxes, screenshot, wait_for_app

ROW_PX = 35          # st.dataframe's header and row height


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def tick_row(page, key: str, row: int = 0) -> None:
    """Tick row ``row``'s box in the keyed table (st.dataframe draws on a canvas: click by position)."""
    grid = page.locator(f'[class*="st-key-{key}"] [data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box, f"no table {key}"
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)


def settle(page, *params: str) -> None:
    """Wait for the run to finish: the app rendered, and the URL it writes at the end of the run
    carries ``params`` (the sidebar always writes ``from``)."""
    wait_for_app(page)
    for name in ("from", *params):
        page.wait_for_function(f"() => new URLSearchParams(location.search).has('{name}')", timeout=90_000)
    page.wait_for_timeout(700)


def test_campaign_row_drills_and_back_forward_move_through_it(app_url, page):
    page.goto(f"{app_url}/campaigns")
    settle(page)
    assert "campaign" not in query(page)
    tick_row(page, "pick_campaign-table_")
    page.wait_for_function("() => new URLSearchParams(location.search).has('campaign')", timeout=60_000)
    settle(page)
    campaign = query(page)["campaign"][0]
    assert page.get_by_text("Its stores", exact=False).first.is_visible()
    assert campaign in page.locator("h3").all_inner_texts()[-1] or any(
        campaign in h for h in page.locator("h3").all_inner_texts())
    assert error_boxes(page) == []
    screenshot(page, "drill-campaign")

    # campaign -> one of its stores -> its orders
    tick_row(page, f"pick_stores-{campaign}_")
    page.wait_for_function("() => new URLSearchParams(location.search).has('cstore')", timeout=60_000)
    settle(page)
    store = query(page)["cstore"][0]
    assert page.get_by_text(f"{campaign} at {store}", exact=False).first.is_visible()   # "Orders 1–… of N · K at S"

    page.go_back()                                   # back to the campaign, no store
    page.wait_for_function("() => !new URLSearchParams(location.search).has('cstore')", timeout=60_000)
    settle(page)
    assert query(page)["campaign"] == [campaign]
    # the rerun Back started may still be drawing: wait for the orders to go (the URL changed first)
    expect(page.get_by_text(f"{campaign} at {store}", exact=False)).to_have_count(0, timeout=60_000)

    page.go_back()                                   # back to the table, nothing drilled
    page.wait_for_function("() => !new URLSearchParams(location.search).has('campaign')", timeout=60_000)
    settle(page)
    expect(page.get_by_text("Its stores", exact=False)).to_have_count(0, timeout=60_000)
    assert error_boxes(page) == []

    page.go_forward()                                # forward: the campaign again
    page.wait_for_function("() => new URLSearchParams(location.search).has('campaign')", timeout=60_000)
    settle(page)
    assert query(page)["campaign"] == [campaign]
    expect(page.get_by_text("Its stores", exact=False).first).to_be_visible(timeout=60_000)
    page.go_forward()                                # and its store's orders
    page.wait_for_function("() => new URLSearchParams(location.search).has('cstore')", timeout=60_000)
    settle(page)
    expect(page.get_by_text(f"{campaign} at {store}", exact=False).first).to_be_visible(timeout=60_000)
    assert error_boxes(page) == []


def headline(page) -> str:
    return page.get_by_role("heading", name="Headline KPIs", exact=False).first.inner_text()


def test_overview_row_opens_the_store_view_of_that_week_and_back_returns(app_url, page):
    """A drill to another page is one history entry holding the new page and its parameters
    together: Back returns to the overview's own URL and view (the week chosen, no store filter),
    not to the overview carrying the store view's parameters."""
    page.goto(f"{app_url}/?week=2026-W40")          # not the default week
    settle(page, "week")
    start = page.url
    assert query(page)["week"] == ["2026-W40"] and "store" not in query(page)
    assert "2026-W40" in headline(page)
    entries = page.evaluate("history.length")
    tick_row(page, "pick_worst_symmetry_index_")
    page.wait_for_function("() => location.pathname.endsWith('/symmetry')", timeout=60_000)
    settle(page)
    q = query(page)
    assert len(q["store"]) == 1 and q["week"] == ["2026-W40"]
    assert (q["from"], q["to"]) == (["2026-09-28"], ["2026-10-04"])      # W40's Monday..Sunday
    caption = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
    assert "2026-09-28 → 2026-10-04" in caption
    assert page.get_by_role("tab", name="Store drill").get_attribute("aria-selected") == "true"
    assert page.evaluate("history.length") == entries + 1                # one entry for the drill
    assert error_boxes(page) == []
    screenshot(page, "drill-overview-to-store")

    page.go_back()
    page.wait_for_function("() => !location.pathname.endsWith('/symmetry')", timeout=60_000)
    settle(page, "week")
    assert page.url == start                                             # the overview's own URL
    expect(page.locator("h1").first).to_have_text("Weekly overview", timeout=60_000)
    expect(page.get_by_role("heading", name="Headline KPIs", exact=False).first).to_contain_text(
        "2026-W40", timeout=60_000)
    assert f"({q['store'][0]})" not in page.locator('[data-testid="stSidebar"]').inner_text()   # no store filter

    page.go_forward()
    page.wait_for_function("() => location.pathname.endsWith('/symmetry')", timeout=60_000)
    settle(page)
    assert query(page) == q
    expect(page.get_by_role("tab", name="Store drill")).to_have_attribute("aria-selected", "true", timeout=60_000)
    assert f"({q['store'][0]})" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert error_boxes(page) == []


def test_symmetry_store_row_opens_its_view_and_back_returns(app_url, page):
    page.goto(f"{app_url}/symmetry")
    settle(page)
    assert "store" not in query(page)
    tick_row(page, "pick_stores_")
    page.wait_for_function("() => new URLSearchParams(location.search).has('store')", timeout=60_000)
    settle(page)
    store = query(page)["store"][0]
    assert page.get_by_role("tab", name="Store drill").get_attribute("aria-selected") == "true"
    assert f"({store})" in page.locator('[data-testid="stSidebar"]').inner_text()
    page.go_back()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('store')", timeout=60_000)
    settle(page)
    expect(page.get_by_role("tab", name="Stores")).to_have_attribute("aria-selected", "true", timeout=60_000)
    assert f"({store})" not in page.locator('[data-testid="stSidebar"]').inner_text()
    page.go_forward()
    page.wait_for_function("() => new URLSearchParams(location.search).has('store')", timeout=60_000)
    settle(page)
    assert f"({store})" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert error_boxes(page) == []


def click_bar(page, key: str, bar: int = 0) -> str:
    """Click bar ``bar`` (0: the top one) of the keyed plotly chart where a reader would, at the
    middle of the bar; return its label (the y-axis tick beside it)."""
    chart = page.locator(f'[class*="st-key-{key}"] .js-plotly-plot').first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = chart.locator(".bars .point path").nth(bar).bounding_box()
    assert box and box["width"] > 2, f"no bar {bar} in {key}"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    ticks = chart.locator(".yaxislayer-above .ytick text")
    beside = []   # the tick level with the bar's middle names it
    for i in range(ticks.count()):
        tick = ticks.nth(i).bounding_box()
        beside.append((abs(tick["y"] + tick["height"] / 2 - y), ticks.nth(i).text_content()))
    label = min(beside)[1]
    page.mouse.move(x, y)           # plotly picks the point under the pointer on hover, then the click selects it
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    return label


def problems(page) -> list[str]:
    """Error boxes other than a lift verdict (a campaign that hurts is shown in red, rightly)."""
    return [e for e in error_boxes(page) if not e.startswith("Hurts:")]


def test_campaign_bar_click_drills_and_back_returns(app_url, page):
    page.goto(f"{app_url}/campaigns?channel=app")
    settle(page)
    assert "campaign" not in query(page)
    label = click_bar(page, "pick_cmp_campaign_bars_")
    campaign = label.split(" · ")[0]                  # "C0013 · Shanghai restaurant membership …"
    page.wait_for_function("() => new URLSearchParams(location.search).has('campaign')", timeout=60_000)
    settle(page)
    q = query(page)
    assert q["campaign"] == [campaign] and q["channel"] == ["app"]     # the bar's campaign, the filters kept
    expect(page.get_by_text("Its stores", exact=False).first).to_be_visible(timeout=60_000)
    assert any(h.startswith(f"{campaign} · ") for h in page.locator("h3").all_inner_texts())
    assert problems(page) == []
    screenshot(page, "drill-campaign-bar")

    # in the drilled campaign, a bar of its stores chart opens that store's orders
    label = click_bar(page, f"pick_cmp_store_bars-{campaign}_")
    store = label.rsplit("(", 1)[1].rstrip(")")      # "Name (S012)"
    page.wait_for_function("() => new URLSearchParams(location.search).has('cstore')", timeout=60_000)
    settle(page)
    assert query(page)["cstore"] == [store] and query(page)["campaign"] == [campaign]
    expect(page.get_by_text(f"{campaign} at {store}", exact=False).first).to_be_visible(timeout=60_000)

    page.go_back()                                   # back to the campaign, no store
    page.wait_for_function("() => !new URLSearchParams(location.search).has('cstore')", timeout=60_000)
    settle(page)
    assert query(page)["campaign"] == [campaign]
    expect(page.get_by_text(f"{campaign} at {store}", exact=False)).to_have_count(0, timeout=60_000)
    page.go_back()                                   # back to the table and chart, nothing drilled
    page.wait_for_function("() => !new URLSearchParams(location.search).has('campaign')", timeout=60_000)
    settle(page)
    assert query(page)["channel"] == ["app"]
    expect(page.get_by_text("Its stores", exact=False)).to_have_count(0, timeout=60_000)
    assert problems(page) == []
