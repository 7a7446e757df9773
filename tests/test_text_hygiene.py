"""Names from the data and values from links are shown literally, never run as markup.

The attacks: a store named ``Evil](https://evil.example) **x**`` and a campaign named
``Coupon [week](https://evil.example)`` (both in tests/fixtures/partial/base), a link
``?city=**Session expired** [Sign in again](https://evil.example)``, and HTML in a store name for
the map's tooltip and the report. Markdown is rendered with markdown-it in its GFM-like preset
(CommonMark plus bare-URL links, as Streamlit's remark-gfm does) to see what a reader would get.
"""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from apptest_util import TEXT_KINDS, open_link, open_page, shown, texts
from o2o_ops import db, maps, report, text
from o2o_ops.filters import Filters
from o2o_ops.weekly import Week
from partial_shapes import EVIL_CAMPAIGN, EVIL_STORE
from tiny import STORES, TABLE_ROWS, build_tiny

RENDER = MarkdownIt("gfm-like")
CITY_ATTACK = "**Session expired** [Sign in again](https://evil.example)"
ATTACKS = [
    EVIL_STORE, EVIL_CAMPAIGN, CITY_ATTACK,
    "www.evil.example and https://evil.example/login", "<img src=x onerror=alert(1)>", "# Heading",
    "1. first", "- item", "> quote", "`code`", ":red[alarm] :material/warning: $x^2$", "a\n\n# b", "_x_ ~~y~~",
    "&lt;b&gt; &amp;", "\\*escaped\\*", "| a | b |",
]
MARKUP = ("<a ", "<strong", "<em", "<img", "<h1", "<ol", "<ul", "<blockquote", "<code", "<del", "<table", "<s>")


@pytest.mark.parametrize("attack", ATTACKS)
def test_md_renders_exactly_the_text(attack):
    rendered = RENDER.render(text.md(attack)).strip().replace(text.WORD_JOINER, "")
    assert not any(tag in rendered for tag in MARKUP), rendered
    one_line = " ".join(attack.split())
    assert rendered == f"<p>{html.escape(text.plain(attack), quote=False)}</p>" or \
        rendered == f"<p>{html.escape(one_line, quote=False)}</p>", rendered


def test_plain_turns_missing_into_a_dash_and_breaks_into_spaces():
    assert [text.plain(v) for v in (None, float("nan"), pd.NaT, "a\nb\r\nc", "x\x00y")] == ["—", "—", "—", "a b c", "xy"]
    assert text.url_param("S1&store=S2 x") == "S1%26store%3DS2%20x"


def markup_sources(at) -> list[str]:
    """The markdown source of everything the run rendered as markdown."""
    out = [str(el.value) for kind in TEXT_KINDS if kind not in ("exception", "code", "text", "latex")
           for el in getattr(at, kind)]
    out += [str(m.label) for m in at.metric] + [str(e.label) for e in at.expander]
    return out


def assert_literal(at) -> None:
    for source in markup_sources(at):
        rendered = RENDER.render(source)
        assert 'href="https://evil.example' not in rendered, source
        assert "<strong>x</strong>" not in rendered and "<strong>Session expired</strong>" not in rendered, source


PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")


@pytest.mark.parametrize("page", PAGES)
def test_a_city_in_the_link_is_quoted_literally_in_the_warning(page, partial_warehouse):
    at = open_link(page, partial_warehouse("fresh_week"), {"city": CITY_ATTACK})
    assert not at.exception
    assert at.title[0].value != "Weekly overview" or page == "pages/overview.py"
    warnings = [shown(w.value) for w in at.warning]
    assert any(f"Ignored unknown city “{CITY_ATTACK}” from the link." in w for w in warnings), warnings
    assert_literal(at)


def test_store_names_stay_literal_on_the_symmetry_page(partial_warehouse):
    # s5 (the attack) lists 4.9 ★ and is reviewed lower: it is on the attention list, which names
    # each store as a link to its drill; the link must be ours, the name text.
    at = open_page("pages/symmetry.py", partial_warehouse("fresh_week"), {"from": "2026-10-05", "to": "2026-11-03"})
    assert not at.exception
    assert_literal(at)
    named = [el.value for el in at.markdown if EVIL_STORE in shown(el.value)]
    assert named, texts(at)
    assert all(RENDER.render(v).count("<a href=") == 1 and 'href="./symmetry?store=s5"' in RENDER.render(v)
               for v in named if "store=s5" in v)


def test_store_names_stay_literal_on_the_map_when_selected(partial_warehouse):
    at = open_page("pages/map.py", partial_warehouse("fresh_week"), {"store": "s5"})
    assert not at.exception
    assert_literal(at)
    assert any(f"{EVIL_STORE} (s5)" in shown(m.value) for m in at.markdown), texts(at)


def test_campaign_names_stay_literal_on_the_campaign_drill(partial_warehouse):
    at = open_page("pages/campaigns.py", partial_warehouse("fresh_week"),
                   {"campaign": "k2", "side": "javascript:x"})
    assert not at.exception
    assert_literal(at)
    assert f"k2 · {EVIL_CAMPAIGN}" in [shown(h.value) for h in at.subheader]
    # the side-by-side list (?side=, formerly ?compare=) refuses junk in words
    assert any("Ignored side “javascript:x” from the link" in shown(w.value) for w in at.warning)


def test_map_tooltip_values_go_out_as_text_for_the_chart_to_escape():
    # st.pydeck_chart HTML-escapes every value it fills into the tooltip template (Streamlit
    # 1.67), so the rows carry the text itself: escaping here as well would show "A&amp;B".
    df = pd.DataFrame({"store_id": ["s<1>"], "store_name": ["<img src=x onerror=alert(1)>\nx"],
                       "store_city": ["A&B"], "store_category": ["<b>spa</b>"], "lat": [30.0], "lon": [120.0],
                       "symmetry_index": [70.0], "orders": [3]})
    row = maps.store_points_layer(df, "symmetry_index").data[0]
    assert (row["store_name"], row["store_city"], row["category_label"]) == (
        "<img src=x onerror=alert(1)> x", "A&B", "<b>spa</b>")
    assert set(re.findall(r"{(\w+)}", maps.tooltip("symmetry_index")["html"])) <= set(row)


def test_report_escapes_store_names(tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")   # the tiny stores have 1-2 reviews: rank them
    evil = "<script>alert(1)</script> [x](https://evil.example)"
    stores = [(sid, evil if sid == "S1" else name, *rest) for sid, name, *rest in STORES]
    wh = build_tiny(tmp_path / "evil.duckdb", {**TABLE_ROWS, "stores": stores})
    con = db.connect(wh)
    try:
        page = report.build_html(con, Filters(), Week.parse("2026-W45"), min_reviews=1)
    finally:
        con.close()
    assert "<script>alert(1)</script>" not in page
    assert html.escape(evil, quote=False) in page
