"""Every page opened from a shared link with filters in the URL renders without an error box."""

from __future__ import annotations

import pytest

from browser_util import error_boxes, screenshot, wait_for_app

PAGES = ["overview", "quality", "cost", "efficiency", "symmetry", "map", "campaigns", "data", "definitions",
         "alerts"]
LINK = "?city=Shanghai&category=restaurant&from=2026-08-03&to=2026-09-27"


@pytest.mark.parametrize("name", PAGES)
def test_shared_link_renders_the_page_with_its_filters(app_url, page, name):
    page.goto(f"{app_url}/{name}{LINK}")
    wait_for_app(page)
    page.wait_for_timeout(1500)
    assert error_boxes(page) == []
    assert "Page not found" not in page.locator("body").inner_text()
    caption = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
    assert caption.startswith("Shanghai · restaurant")
    if name != "overview":     # the overview picks a week instead of the date range, and says so
        assert "2026-08-03 → 2026-09-27" in caption
    assert "city=Shanghai" in page.url
    assert screenshot(page, f"page-{name}").exists()
