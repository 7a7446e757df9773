"""A store manager's phone (390 × 844, touch): the overview's cards, summary and attention list
and the symmetry page read without sideways scrolling. Screenshots at phone and desktop width go
to artifacts/ (phone-*.png, desktop-*.png) to be looked at."""

from __future__ import annotations

import pytest

from browser_util import error_boxes, screenshot, wait_for_app

PHONE = {"width": 390, "height": 844}
PHONE_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture()
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  user_agent=PHONE_AGENT)
    pg = context.new_page()
    yield pg
    context.close()


def finished(pg) -> None:
    """The run has ended: it writes the URL (the sidebar's dates) as it ends."""
    pg.wait_for_function("() => new URLSearchParams(location.search).has('from')", timeout=90_000)
    pg.wait_for_timeout(1500)


def sideways(pg) -> dict:
    """How wide the document is against the viewport, and the widest element that sticks out."""
    return pg.evaluate("""() => {
        const width = window.innerWidth;
        let worst = null;
        for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
            const r = el.getBoundingClientRect();
            if (r.width && r.right > width + 1 && (!worst || r.right > worst.right)) {
                worst = {right: r.right, tag: el.tagName, testid: el.getAttribute('data-testid') || '',
                         cls: String(el.className).slice(0, 80)};
            }
        }
        return {scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, width, worst};
    }""")


@pytest.mark.parametrize("path,name", [("", "overview"), ("symmetry", "symmetry")])
def test_no_sideways_scrolling_on_a_phone(app_url, phone, path, name):
    phone.goto(f"{app_url}/{path}")
    wait_for_app(phone)
    finished(phone)
    assert error_boxes(phone) == []
    measured = sideways(phone)
    screenshot(phone, f"phone-{name}")
    assert measured["scroll"] <= measured["width"], measured
    assert measured["body"] <= measured["width"], measured
    if name == "overview":   # the manager's three things are on the page, in one column
        body = phone.locator('[data-testid="stMain"]').inner_text()
        for heading in ("Headline KPIs", "Summary", "Symmetry attention list"):
            assert heading in body
        # the attention list as lines (the grid is for wider screens): each store's name and reason
        lines = phone.locator('[class*="st-key-phone-only-attention"]')
        assert lines.count() == 1 and lines.first.is_visible()
        assert not phone.locator('[class*="st-key-wide-only-attention"]').first.is_visible()
        cards = phone.locator('[data-testid="stMetric"]')
        assert cards.count() >= 4
        for i in range(min(cards.count(), 8)):
            card = cards.nth(i).bounding_box()
            assert card and card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"] + 1


@pytest.mark.parametrize("path,name", [("", "overview"), ("symmetry", "symmetry")])
def test_desktop_screenshots(app_url, page, path, name):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    finished(page)
    assert error_boxes(page) == []
    measured = sideways(page)
    assert measured["scroll"] <= measured["width"], measured
    assert screenshot(page, f"desktop-{name}").stat().st_size > 10_000
