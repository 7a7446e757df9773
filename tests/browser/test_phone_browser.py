"""A store manager's phone (390 × 844, touch): every page (overview, quality, cost, efficiency,
symmetry, campaigns, map) reads without sideways scrolling, in English and in Chinese: its cards
inside the screen and their values, labels and changes whole (none cut to "¥269,394,…" or
"+0.7 个百…", also at desktop width and in a 1,024 px window), its chart titles inside their
chart and clear of the legend (no plotly tool bar over them). Screenshots at phone and desktop width go to artifacts/ (phone-*.png, desktop-*.png)
to be looked at."""

from __future__ import annotations

import re

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


def chart_text_boxes(pg) -> list[dict]:
    """Each plotly chart's box, its title's and its legend's (None when it has none), and whether
    plotly's tool bar shows."""
    return pg.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(el => {
        const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                           return r.width ? {left: r.left, right: r.right, top: r.top, bottom: r.bottom} : null; };
        const bar = el.querySelector('.modebar-container');
        return {chart: box(el), title: box(el.querySelector('.gtitle')), legend: box(el.querySelector('.legend')),
                title_text: (el.querySelector('.gtitle') || {}).textContent || '',
                toolbar: !!bar && getComputedStyle(bar).display !== 'none'};
    })""")


def cut_values(pg, part: str = "stMetricValue") -> list[str]:
    """The card values the browser cuts ("¥269,394,…"): text wider than its box (measured in the
    app's font: the wider fallback font shows until it has loaded). ``part``: another part of the
    cards (``stMetricLabel``, ``stMetricDelta``, ``stMetricDeltaDescription``)."""
    pg.wait_for_function("() => document.fonts.status === 'loaded'", timeout=30_000)
    return pg.eval_on_selector_all(f'[data-testid="{part}"]', """els => els
        .filter(v => [v, ...v.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
        .map(v => v.innerText)""")


CARD_TEXTS = ("stMetricLabel", "stMetricDelta", "stMetricDeltaDescription")


def cut_card_texts(pg) -> dict[str, list[str]]:
    """The cards' labels, changes and the words beside a change ("同龄对比") the browser cuts, by
    part (only the parts with a cut text)."""
    cut = {part: cut_values(pg, part) for part in CARD_TEXTS}
    return {part: texts for part, texts in cut.items() if texts}


def labels_broken_inside_a_word(pg) -> list[str]:
    """The card labels the browser puts on two lines inside a word, with a "/" where it broke
    ("平均评/分"): a line of a label must start after a space or a zero-width break (a Chinese
    label's break between its words, i18n.card_label)."""
    pg.wait_for_function("() => document.fonts.status === 'loaded'", timeout=30_000)
    return pg.eval_on_selector_all('[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]', """els => {
        const broken = [];
        for (const el of els) {
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            const chars = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (let i = 0; i < node.length; i++) {
                    const range = document.createRange();
                    range.setStart(node, i); range.setEnd(node, i + 1);
                    const box = range.getClientRects()[0];
                    chars.push({c: node.data[i], top: box && box.width ? box.top : null});
                }
            }
            let shown = '', top = null, cut = false;
            chars.forEach((ch, i) => {
                if (ch.top !== null && top !== null && ch.top > top + 2) {
                    shown += '/';
                    const before = i > 0 ? chars[i - 1].c : ' ';
                    if (!' \u200b'.includes(before) && ch.c !== ' ') cut = true;
                }
                if (ch.top !== null) top = ch.top;
                if (ch.c !== '\u200b') shown += ch.c;
            });
            if (cut) broken.push(shown);
        }
        return broken;
    }""")


def uneven_card_rows(pg) -> list[list[float]]:
    """The heights of the KPI cards in each row whose cards are not equally tall (rows by top)."""
    heights = pg.eval_on_selector_all('[class*="st-key-kpi-card-"]', """els => els
        .map(e => e.getBoundingClientRect()).filter(r => r.width)
        .map(r => [Math.round(r.top), r.height])""")
    rows: dict[int, list[float]] = {}
    for top, height in heights:
        rows.setdefault(top, []).append(height)
    return [row for row in rows.values() if max(row) - min(row) > 1]


def heading_lines(pg, selector: str = '[data-testid="stMain"] h3') -> list[list[str]]:
    """Each subheading of the page (or each element ``selector`` finds) as the browser lays it out:
    its lines (word joiners left out)."""
    pg.wait_for_function("() => document.fonts.status === 'loaded'", timeout=30_000)
    return pg.eval_on_selector_all(selector, """els => els.map(el => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        const lines = [];
        let top = null;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.length; i++) {
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const box = range.getClientRects()[0];
                if (!box || !box.width) continue;
                if (top === null || box.top > top + 2) lines.push('');
                top = box.top;
                if (node.data[i] !== '\u2060') lines[lines.length - 1] += node.data[i];
            }
        }
        return lines.map(line => line.trim());
    })""")


#: a Chinese date with its year, as the overview's heading writes a week's last day
ZH_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
#: an English date, with or without its year, as the overview's heading writes a week's days
EN_DATE = re.compile(r"\d{1,2}\s(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?:\s\d{4})?")


PAGES = [("", "overview"), ("quality", "quality"), ("cost", "cost"), ("efficiency", "efficiency"),
         ("symmetry", "symmetry"), ("campaigns", "campaigns"), ("map", "map")]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path,name", PAGES)
def test_no_sideways_scrolling_on_a_phone(app_url, phone, path, name, lang):
    phone.goto(f"{app_url}/{path}" + ("?lang=zh" if lang == "zh" else ""))
    wait_for_app(phone)
    finished(phone)
    assert error_boxes(phone) == []
    measured = sideways(phone)
    screenshot(phone, f"phone-{name}" + ("-zh" if lang == "zh" else ""))
    assert phone.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"], measured
    assert measured["scroll"] <= measured["width"], measured
    assert measured["body"] <= measured["width"], measured
    cards = phone.locator('[data-testid="stMetric"]')
    for i in range(min(cards.count(), 12)):      # every card inside the screen, its value on one line
        card = cards.nth(i).bounding_box()
        assert card and card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"] + 1
        value = cards.nth(i).locator('[data-testid="stMetricValue"]').bounding_box()
        assert value and value["height"] < 60, cards.nth(i).inner_text()
    assert cut_values(phone) == []
    assert cut_card_texts(phone) == {}
    assert labels_broken_inside_a_word(phone) == []
    for chart in chart_text_boxes(phone):
        assert not chart["toolbar"], chart                # it sat on the titles
        title, legend, box = chart["title"], chart["legend"], chart["chart"]
        if title:                                         # the whole title inside its chart
            assert box["left"] - 1 <= title["left"] and title["right"] <= box["right"] + 1, chart
        if title and legend:                              # the legend clear of the title
            assert legend["top"] >= title["bottom"] - 1 or legend["bottom"] <= title["top"] + 1, chart
    if name == "overview":
        # the week's heading wraps beside its dates, never inside one ("16 / Nov"), and no line of
        # the summary ends on a sign ("(−" / "¥16.18)" before)
        heading = next(h for h in heading_lines(phone) if h and h[0].startswith(("Headline KPIs", "核心指标")))
        dates = (EN_DATE if lang == "en" else ZH_DATE).findall(" ".join(heading))
        assert dates and all(any(d in line for line in heading) for d in dates), heading
        summary = [line for item in heading_lines(phone, '[data-testid="stMain"] li') for line in item]
        assert summary and not [line for line in summary if line.endswith(("−", "+"))], summary
    if name == "overview" and lang == "en":   # the manager's three things are on the page, in one column
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


@pytest.mark.parametrize("path,name", PAGES)
def test_desktop_screenshots(app_url, page, path, name):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    finished(page)
    assert error_boxes(page) == []
    measured = sideways(page)
    assert measured["scroll"] <= measured["width"], measured
    assert screenshot(page, f"desktop-{name}").stat().st_size > 10_000
    assert cut_values(page) == []
    assert cut_card_texts(page) == {}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path,name", [("", "overview"), ("cost", "cost")])
def test_card_values_whole_in_a_narrow_window(app_url, browser, path, name, lang):
    """At 1,024 px, four cards a row beside the sidebar are 127 px inside: their values shrink to
    fit (a large amount reads short, ¥471.7M, and the font follows the card) instead of "¥47…";
    a label or a change too long for the card ("线上线下一致性指数", "-0.1 个百分点" beside
    "同龄对比") takes a second line instead of being cut, a label breaking between its words only
    ("平均评/分" before); the cards of a row are equally tall (they ended at their own content).
    The overview's heading wraps beside a date, never inside it ("2026年11/月22日", "22 Nov/2026" before)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    pg = context.new_page()
    pg.goto(f"{app_url}/{path}" + ("?lang=zh" if lang == "zh" else ""))
    wait_for_app(pg)
    finished(pg)
    # under load the cards can come after the URL is written (seen twice on cost, en: 0 cards)
    pg.wait_for_function("() => document.querySelectorAll('[data-testid=\"stMetric\"]').length >= 8",
                         timeout=90_000)
    assert error_boxes(pg) == []
    assert cut_values(pg) == []
    assert cut_card_texts(pg) == {}
    assert labels_broken_inside_a_word(pg) == []        # "平均评/分" at 1,024 px
    assert pg.locator('[class*="st-key-kpi-card-"]').count() >= 8
    assert uneven_card_rows(pg) == []                  # a row's cards as tall as its tallest
    screenshot(pg, f"narrow-{name}" + ("-zh" if lang == "zh" else ""))
    if name == "overview" and lang == "en":
        # the week's heading takes two lines here, each English date whole on one of them
        # ("Headline KPIs — 2026-W47 (16 Nov – 22 Nov" / "2026)" before)
        lines = next(h for h in heading_lines(pg) if h and h[0].startswith("Headline KPIs"))
        dates = EN_DATE.findall(" ".join(lines))
        assert len(dates) == 2 and all(any(d in line for line in lines) for d in dates), lines
    if name == "overview" and lang == "zh":
        # the week's heading takes two lines here, and its last day stays whole on one of them
        # ("核心指标 —— 2026-W47（11月16日 – 2026年11" / "月22日）" before)
        lines = next(h for h in heading_lines(pg) if h and h[0].startswith("核心指标"))
        assert len(lines) == 2, lines
        last_day = ZH_DATE.findall("".join(lines))
        assert len(last_day) == 1 and any(last_day[0] in line for line in lines), lines
    context.close()
