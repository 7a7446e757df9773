"""The app starts with `streamlit run dashboard.py` and renders the overview in a real browser."""

from __future__ import annotations

from pathlib import Path

from browser_util import error_boxes, running_app, screenshot, wait_for_app


def test_overview_renders_in_chromium(app_url, page):
    page.goto(f"{app_url}/overview")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().strip() == "Weekly overview"
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() >= 8
    assert error_boxes(page) == []
    # no developer chrome for the people who use it (.streamlit/config.toml: toolbarMode)
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert screenshot(page, "overview").exists()


def test_first_start_builds_the_demo_warehouse_then_serves_a_deep_link(tmp_path: Path, browser):
    """With no warehouse, the first visitor of a shared link sees the build, then that page with
    the link's filters: the router handles the link even as the server's very first request."""
    warehouse = tmp_path / "fresh" / "o2o.duckdb"
    with running_app(warehouse, {"O2O_DEMO_ORDERS": "200000"}) as app:  # a few seconds of build to see
        url = app.url
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.goto(f"{url}/quality?city=Shanghai")
        pg.wait_for_selector("h1:has-text('Setting up o2o-ops')", timeout=60_000)
        # while the demo builds, the sidebar shows no raw list of page files
        assert "quality" not in pg.locator("body").inner_text().split("Setting up o2o-ops")[0]
        pg.wait_for_selector("h1:has-text('Service quality')", timeout=120_000)
        wait_for_app(pg)
        assert warehouse.exists()
        assert error_boxes(pg) == []
        caption = pg.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
        assert caption.startswith("Shanghai ·")
        sidebar = pg.locator('[data-testid="stSidebar"]').inner_text()
        assert "Filters" in sidebar and "Weekly overview" in sidebar
        context.close()
