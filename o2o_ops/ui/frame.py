"""The shared frame of every page: first-start build, sidebar filters kept in the URL, the title
line with filters and freshness, KPI cards, tables with CSV export, empty states and errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import uuid
import zlib
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException, StopException

from o2o_ops import comparisons, config, db, export, i18n, metrics, targets, text, units, weekly, words
from o2o_ops.filters import Filters
from o2o_ops.ui import warehouse

log = logging.getLogger("o2o_ops.ui")

# URL parameter -> (Filters field, session key, dimension_values key)
MULTI_PARAMS: dict[str, tuple[str, str]] = {
    "city": ("cities", "cities"),
    "category": ("categories", "categories"),
    "channel": ("channels", "channels"),
    "kind": ("campaign_kinds", "campaign_kinds"),
    "store": ("stores", "stores"),
}
FILTERS_KEY = "o2o_filters"
LANG_KEY = "o2o_lang"          # the reader's language, kept across runs and pages
LANG_WIDGET = "flt_lang"
COMPARE_KEY = "flt_compare"
_attainment = warehouse.cached(targets.attainment_table)
_weekly_overlay = warehouse.cached(comparisons.weekly_overlay)
NOTICES_KEY = "o2o_notices"


# ------------------------------------------------------------------------------------------
# The reader's language
# ------------------------------------------------------------------------------------------

def browser_language() -> str | None:
    """The language the browser asks for: its Accept-Language header (``st.context.headers``),
    else ``navigator.language`` (``st.context.locale``); None when neither names one we speak."""
    try:
        found = i18n.from_accept_language(st.context.headers.get("Accept-Language"))
        return found or i18n.normalise(st.context.locale)
    except Exception:  # noqa: BLE001 - no browser context (a bare script run): no preference
        return None


def default_language() -> str:
    """The setting O2O_LANG (``en``/``zh``), or with ``auto`` the browser's language, else English."""
    setting = config.get("O2O_LANG").strip().lower()
    if setting != "auto":
        return i18n.normalise(setting) or i18n.DEFAULT
    return browser_language() or i18n.DEFAULT


def language() -> str:
    """The reader's language: the sidebar switch, first set from ``?lang=`` or the default."""
    lang = st.session_state.get(LANG_KEY)
    if lang not in i18n.LANGS:
        raw = st.query_params.get("lang")
        lang = i18n.normalise(raw)
        if raw and lang is None:
            _notice(i18n.t("frame.bad_lang", default_language(), value=raw, langs=", ".join(i18n.LANGS)))
        lang = lang or default_language()
        st.session_state[LANG_KEY] = lang
    return lang


def t(key: str, **values: Any) -> str:
    """The catalogue's words for ``key`` in the reader's language (see :mod:`o2o_ops.i18n`)."""
    return i18n.t(key, language(), **values)


def kpi_label(name: str) -> str:
    return i18n.kpi_label(name, language())


def kpi_labeller():
    """A widget's ``format_func`` naming KPIs in the reader's language (bound now: Streamlit may
    call it outside the script run)."""
    lang = language()
    return lambda name: i18n.kpi_label(name, lang)


def value_words(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """``df`` with the coded values of ``column`` (``flash_sale``, ``wechat``) in the reader's words,
    for a chart's labels; tables and exports keep the codes."""
    lang = language()
    return df.assign(**{column: df[column].map(lambda v: i18n.value_label(column, v, lang))}) if column in df else df


def key_labeller(keys: dict[str, str]):
    """A widget's ``format_func`` showing each option as the catalogue's words of its key."""
    lang = language()
    return lambda option: i18n.t(keys[option], lang)


def kpi_in_sentence(name: str) -> str:
    """A KPI's label inside a sentence: lower-cased in English (``by revenue``), as is in Chinese."""
    label = kpi_label(name)
    return label.lower() if language() == "en" else label


def kpi_description(name: str) -> str:
    return i18n.kpi_description(name, language())


def fmt(value: Any, unit: str) -> str:
    """``value`` in ``unit``'s format for the reader's language (see :mod:`o2o_ops.units`)."""
    return units.format_value(value, unit, lang=language())


def card_value(value: Any, unit: str, help_: str = "") -> tuple[str, str]:
    """A card's value and its help for an ``st.metric`` of its own: short when large (``¥269.4M``,
    :func:`o2o_ops.units.format_card`), the help then opening with the exact value (as markdown
    that reads as its text: two "$" would otherwise start a formula)."""
    exact = i18n.exact_help(value, None, unit, language())
    return units.format_card(value, unit, lang=language()), text.md(f"{exact} {help_}".strip())


def localise(fig, *, missing: str | None = None):
    """A chart's words in the reader's language (see :mod:`o2o_ops.i18n.figures`), its value axes
    of large counts and amounts written short in it (``30M``, ``3000万``: see
    :func:`o2o_ops.charts.short_value_axes`). ``missing``: why the warehouse cannot provide what the
    chart draws (a note of :func:`not_provided`), which an empty chart then says in place of "No …
    for these filters" (:func:`o2o_ops.charts.say_why_empty`)."""
    from o2o_ops import charts
    from o2o_ops.i18n import figures
    lang = language()
    fig = charts.say_why_empty(charts.short_value_axes(figures.localise(fig, lang), lang), missing)
    if is_phone():   # its titles, legends and bar labels made to fit a phone's width
        charts.fit_width(fig, lang=lang)
    return fig


def localise_text(words: str) -> str:
    """One chart-style text (a component, an axis) in the reader's language."""
    from o2o_ops.i18n import figures
    return figures.text(words, language())


def _switch_language() -> None:
    st.session_state[LANG_KEY] = st.session_state[LANG_WIDGET]


def language_switch() -> None:
    """The sidebar's language switch; the choice is kept in ``?lang=`` like the filters."""
    st.session_state[LANG_WIDGET] = language()
    st.sidebar.radio(t("frame.language"), i18n.LANGS, key=LANG_WIDGET, horizontal=True,
                     format_func=lambda code: i18n.NAMES[code], on_change=_switch_language)


# ------------------------------------------------------------------------------------------
# First start
# ------------------------------------------------------------------------------------------

def ensure_warehouse() -> bool:
    """Build the demo warehouse on first start (with progress); explain any other problem.

    Returns True when the warehouse is usable. Never shows a traceback. With sign-in configured
    nothing is built or refreshed here: an anonymous visitor must not be able to write (nor to
    have fake data served in place of a missing warehouse), so the problem is reported in words
    and an administrator fixes it on the server. Builds and refreshes hold the write lock.
    """
    from o2o_ops.ui import auth as auth_ui

    path = config.warehouse_path()
    locked_down = auth_ui.sign_in_required()
    if not path.exists():
        if locked_down:
            st.title(t("start.not_set_up"))
            st.error(t("start.no_warehouse_locked"), icon="🗄️")
            return False
        from o2o_ops import demo  # only needed on first start

        orders = config.get_int("O2O_DEMO_ORDERS")
        st.title(t("start.setting_up"))
        st.write(t("start.first_start", path=path, orders=f"{orders:,}"))
        bar = st.progress(0.0, text=t("start.starting"))
        try:
            with db.notify_waits(lambda message: bar.progress(0.0, text=f"{message} (another session is "
                                                                         f"building it)")):
                with db.write_lock(path):
                    if not path.exists():   # another session may have built it while this one waited
                        demo.build_demo(path, orders=orders, progress=lambda fraction, message: bar.progress(
                            min(1.0, fraction), text=message))
        except Exception as exc:  # noqa: BLE001 - shown to the user with the fix
            st.error(t("start.build_failed", why=error_message(exc) or t("start.see_log")), icon="🚫")
            return False
        bar.empty()
        st.rerun()
    try:
        warehouse.connection()
    except db.StaleWarehouse:
        if locked_down:
            st.error(t("start.stale_locked"), icon="🗄️")
            return False
        # Derived tables from another version of o2o-ops: rebuild them (atomically, data kept).
        with st.spinner(t("start.preparing", path=path)):
            try:
                db.refresh(path, only_if_stale=True)
            except Exception as exc:  # noqa: BLE001 - shown to the user with the fix
                st.error(t("start.refresh_failed", why=error_message(exc) or t("start.see_log")), icon="🚫")
                return False
        st.rerun()
    except db.WarehouseError as exc:
        st.error(str(exc) if not locked_down else t("start.cannot_open"), icon="🚫")
        return False
    return True


# ------------------------------------------------------------------------------------------
# Filters in the sidebar and the URL
# ------------------------------------------------------------------------------------------

def _notice(message: str) -> None:
    """Queue a warning for the page header: plain text (it quotes the link), escaped when shown."""
    st.session_state.setdefault(NOTICES_KEY, []).append(message)


def data_span(choices: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """(first, last) order date in the warehouse, or None before any order is imported."""
    first, last = choices.get("first_date"), choices.get("last_date")
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def default_date_range(choices: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """The 13 complete ISO weeks ending with the last complete week in the data (None: no orders)."""
    span = data_span(choices)
    if span is None:
        return None
    first, last = span
    end = weekly.sunday_on_or_before(last)
    if end < first:
        end = last
    start = max(first, end - dt.timedelta(days=13 * 7 - 1))
    return start, end


def _parse_date(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        _notice(f"The link's {name}={raw} is not a date (YYYY-MM-DD); using the default.")
        return None


def _init_from_url(choices: dict[str, Any]) -> None:
    """On a session's first run, the URL's query parameters set the widgets."""
    qp = st.query_params
    span = data_span(choices)
    if span is None:
        if qp.get("from") or qp.get("to"):
            _notice("The link's dates are ignored: this warehouse has no orders yet.")
        st.session_state["flt_dates"] = ()
    else:
        st.session_state["flt_dates"] = _dates_from_link(_parse_date(qp.get("from"), "from"),
                                                         _parse_date(qp.get("to"), "to"), span)
    mode, notice = comparisons.parse_mode(qp.get("compare"))
    if notice:
        _notice(notice)
    st.session_state[COMPARE_KEY] = mode
    for param, (_, choice_key) in MULTI_PARAMS.items():
        wanted = qp.get_all(param)
        valid = [v for v in wanted if v in choices[choice_key]]
        unknown = [v for v in wanted if v not in choices[choice_key]]
        if unknown:
            shown = ", ".join(f"“{u}”" for u in unknown[:5])
            _notice(f"Ignored unknown {param} {shown} from the link.")
        st.session_state[f"flt_{param}"] = valid


def _dates_from_link(url_start: dt.date | None, url_end: dt.date | None,
                     span: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The date range a link asks for, clamped to the data; a missing end is filled so the range
    runs forwards (``?to=`` alone: the 13 weeks up to it; ``?from=`` alone: up to the default end,
    or to the last order when it starts later)."""
    first, last = span
    start, end = default_date_range({"first_date": first, "last_date": last})
    for name, value in (("from", url_start), ("to", url_end)):
        if value and not first <= value <= last:
            _notice(f"The link's {name}={value} is outside the data ({first} → {last}); clamped to it.")
    url_start = min(max(url_start, first), last) if url_start else None
    url_end = min(max(url_end, first), last) if url_end else None
    if url_start and url_end and url_start > url_end:
        _notice(f"The link's dates run backwards ({url_start} → {url_end}); using the default range.")
        return start, end
    if url_end and not url_start:
        return (start if start <= url_end else max(first, url_end - dt.timedelta(days=13 * 7 - 1))), url_end
    if url_start and not url_end:
        return url_start, (end if end >= url_start else last)
    return url_start or start, url_end or end


def sidebar_filters() -> Filters:
    """Render the shared sidebar filters and keep them in the URL; return the active Filters."""
    choices = warehouse.dimension_values()
    from o2o_ops.ui import auth as auth_ui  # a manager can only pick stores inside their scope
    choices = auth_ui.scoped_choices(choices)
    if "flt_dates" not in st.session_state or url_moved():
        _init_from_url(choices)
        for key in DRILL_KEYS:   # the pages re-read their drill state from the URL too
            st.session_state.pop(key, None)
        if "lang" in st.query_params:   # Back to a view in another language shows it in that one
            st.session_state.pop(LANG_KEY, None)
    sb = st.sidebar
    language_switch()
    lang = language()
    sb.header(t("frame.filters"))
    span = data_span(choices)
    if span is None:
        st.session_state["flt_dates"] = ()
        sb.caption(t("frame.no_dates"))
    else:
        sb.date_input(t("frame.order_dates"), key="flt_dates", min_value=span[0], max_value=span[1],
                      help=t("frame.order_dates_help"), format="YYYY-MM-DD" if lang == "zh" else "YYYY/MM/DD")
    sb.multiselect(t("frame.city"), choices["cities"], key="flt_city", placeholder=t("frame.all_cities"))
    sb.multiselect(t("frame.category"), choices["categories"], key="flt_category",
                   placeholder=t("frame.all_categories"),
                   format_func=lambda v: text.plain(i18n.value_label("category", v, lang)))
    sb.multiselect(t("frame.channel"), choices["channels"], key="flt_channel", placeholder=t("frame.all_channels"),
                   format_func=lambda v: text.plain(i18n.value_label("channel", v, lang)))
    sb.multiselect(t("frame.campaign_kind"), choices["campaign_kinds"], key="flt_kind",
                   placeholder=t("frame.all_kinds"), format_func=lambda v: text.plain(i18n.value_label("kind", v, lang)))
    names = choices["store_names"]
    sb.multiselect(t("frame.store"), choices["stores"], key="flt_store", placeholder=t("frame.all_stores"),
                   format_func=lambda sid: f"{text.plain(names.get(sid, sid))} ({text.plain(sid)})")
    sb.selectbox(t("frame.compare_with"), list(comparisons.MODES), key=COMPARE_KEY,
                 format_func=lambda mode: i18n.t(f"compare.{mode}", lang), help=t("frame.compare_help"))
    dates = st.session_state["flt_dates"]
    start, end = (dates[0], dates[1]) if isinstance(dates, (tuple, list)) and len(dates) == 2 else (None, None)
    filters = Filters(
        start=start, end=end,
        cities=st.session_state["flt_city"], categories=st.session_state["flt_category"],
        channels=st.session_state["flt_channel"], campaign_kinds=st.session_state["flt_kind"],
        stores=st.session_state["flt_store"],
    )
    filters = apply_scope(filters)
    _write_url(filters)
    st.session_state[FILTERS_KEY] = filters
    return filters


def apply_scope(filters: Filters) -> Filters:
    """AND the signed-in user's scope into the filters (no-op while the app runs open)."""
    scope = st.session_state.get("o2o_scope")
    if not scope:
        return filters
    return filters.replace(scope_stores=scope.get("stores"), scope_regions=scope.get("regions"))


def _write_url(filters: Filters) -> None:
    """The filters and the language into the URL (at the end of the run, with the page's own
    parameters: see :func:`set_param`); other parameters (the page's ``week``, ``campaign``...) stay."""
    lang = language()
    # a shared link keeps its language; the default language needs no parameter
    set_param("lang", lang if lang != i18n.DEFAULT or "lang" in st.query_params else None)
    mode = current_comparison()
    set_param("compare", mode if mode != comparisons.DEFAULT else None)
    set_param("from", filters.start.isoformat() if filters.start else None)
    set_param("to", filters.end.isoformat() if filters.end else None)
    for param, (field, _) in MULTI_PARAMS.items():
        set_param(param, list(getattr(filters, field)))


# ------------------------------------------------------------------------------------------
# Drill state in the URL, and browser Back / Forward
# ------------------------------------------------------------------------------------------
#
# Streamlit 1.67 pushes a browser history entry whenever a run changes the query parameters
# (or switches page), and on Back / Forward reruns the page with the URL of that entry. What it
# cannot know is that our widgets take their value from the URL only on a session's first run.
# So every run remembers the URL it left (URL_SEEN_KEY); a run that starts on another URL (Back,
# Forward, a link, a drill to another page: drill_to) sets the filters and every drill widget
# from that URL again. The URL is thus the one source of truth for what is shown, and every
# drill step (a row clicked, a campaign or store picked) is one history entry.

URL_SEEN_KEY = "o2o_url_seen"
# Session keys of page widgets that hold drill state taken from the URL (dropped when the URL moved)
DRILL_KEYS = ("ov_week", "cmp_campaign", "cmp_store", "cmp_page", "cmp_compare", "sym_drill_store")


def url_now() -> dict[str, list[str]]:
    """The query parameters of this run, each as its list of values."""
    return {k: st.query_params.get_all(k) for k in st.query_params.keys()}


def url_moved() -> bool:
    """Whether this run starts on another URL than the one the session's last run left, and that
    URL is to be shown: browser Back or Forward, or a link or page switch carrying filters. A
    click in the page menu starts on a URL without our parameters (Streamlit keeps only those of
    its own URL-bound widgets): that is no move, the filters stay and go back into the URL."""
    seen = st.session_state.get(URL_SEEN_KEY)
    now = url_now()
    if seen is None or seen == now:
        return False
    if _is_history_navigation():
        return True
    return any(param in now for param in (*MULTI_PARAMS, "from", "to", "compare"))


def _is_history_navigation() -> bool:
    """Whether the browser's Back or Forward started this run (Streamlit 1.67 says so)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))


URL_PENDING_KEY = "o2o_url_pending"
PICK_GENERATION_KEY = "o2o_pick_generation"


def set_param(name: str, value: Any) -> None:
    """Put ``name=value`` in the URL (a list: repeated; None or empty: removed). Written once, at
    the end of the run, together with the filters: a run that changes the view makes one browser
    history entry, never one per parameter (Back would stop at half-changed views)."""
    st.session_state.setdefault(URL_PENDING_KEY, {})[name] = value


def _apply_url() -> None:
    """Write the parameters :func:`set_param` collected during the run, in one go."""
    wanted = url_now()
    for name, value in st.session_state.pop(URL_PENDING_KEY, {}).items():
        if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
            wanted.pop(name, None)
        else:
            wanted[name] = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    if wanted != url_now():
        st.query_params.from_dict(wanted)


DRILL_LINK_KEY = "o2o-drill-link"
# Follows the drill's page link as a reader's click would (the link is Streamlit's own: its page
# change makes one history entry carrying the new page's path and parameters together).
_FOLLOW_DRILL_LINK = f"""<script>
(() => {{
  const follow = (tries) => {{
    const link = document.querySelector('.st-key-{DRILL_LINK_KEY} a');
    if (link) link.click();
    else if (tries > 0) setTimeout(() => follow(tries - 1), 50);
  }};
  follow(200);
}})();
</script>"""


def drill_to(page: str, params: dict[str, Any], what: str | None = None) -> None:
    """Open ``page`` (a pages/ path) showing ``params``, keeping the sidebar's other filters
    (cities, categories, channels, campaign kinds, the comparison); one browser history entry, so
    Back returns to this page as it was. ``params`` win over the kept filters.

    Not ``st.switch_page``: its query parameters are written onto the page being left first (a
    history entry of the old path with the new parameters, where Back would land), then the page
    changes (a second entry). A page link changes both at once, so the drill shows a link to the
    target (``what`` names it) and follows it at once; the run ends here."""
    kept = {k: st.query_params.get_all(k) for k in (*MULTI_PARAMS, "compare", "from", "to")
            if k in st.query_params and k not in params}
    with st.container(key=DRILL_LINK_KEY):
        st.page_link(page, label=t("frame.opening", what=what or params.get("store") or ""),
                     query_params={**kept, **{k: v for k, v in params.items() if v is not None}},
                     icon=":material/open_in_new:")
        st.html(_FOLLOW_DRILL_LINK, unsafe_allow_javascript=True)
    st.stop()


def selected_row(event: Any, df: pd.DataFrame) -> dict | None:
    """The row of ``df`` picked in a single-row ``st.dataframe`` selection (``event`` is the
    dataframe's return value or its session-state entry), or None. Rows are positions in the
    frame as given, whatever order the reader sorted the grid into."""
    rows = (((event or {}).get("selection") or {}).get("rows") or []) if isinstance(event, dict) else \
        list(getattr(getattr(event, "selection", None), "rows", None) or [])
    if not rows or not 0 <= int(rows[0]) < len(df):
        return None
    return df.iloc[int(rows[0])].to_dict()


# Phones (Streamlit stacks columns below 640 px): a container keyed "phone-only" shows there
# only, one keyed "wide-only" everywhere else; long words and links wrap instead of widening
# the page. A card's value shrinks with its card: four cards a row beside the sidebar are 127 px
# inside at a 1,024 px window (191 px at 1,280), where 2.25rem cut even "¥471.7M" and "4.03 ★" to
# "¥47…". At 17% of the card's width the widest exact card value, "−¥999,999", fits a 127 px card
# (21.6 px); from 212 px on (windows of 1,400 px) it is 2.25rem as before. A label or a change
# too long for such a card ("线上线下一致性指数", "+0.7 个百分点" and "同龄对比" beside it) takes a
# second line instead of Streamlit's "…": the words beside a change go under it, and a change
# breaks at its space ("+0.7" / "个百分点"), never inside a word; a Chinese label between its words
# only ("平均" / "评分", not "平均评" / "分": the browser breaks Chinese between any two characters,
# keep-all at none, and i18n.card_label puts a zero-width break between the label's words), inside
# a word only if that word alone is wider than the card. One place for the app's own CSS.
PHONE_CSS = """<style>
[data-testid="stMetric"] { container-type: inline-size; }
[data-testid="stMetricValue"] { font-size: min(2.25rem, 17cqi); }
/* a KPI card (kpi_cards) is a bordered box around an unbordered metric: its column is the container
   the value's size follows (as a bordered metric's own width was); a narrow card (four a row at
   1,024 px) has half the padding, and its label 12 px, so "Redemption" fits a line beside the icon and the help */
[data-testid="stColumn"]:has([class*="st-key-kpi-card-"]) { container-type: inline-size; }
[class*="st-key-kpi-card-"] [data-testid="stMetric"] { container-type: normal; }
@container (max-width: 180px) {
  [class*="st-key-kpi-card-"] { padding: 0.5rem; }
  [class*="st-key-kpi-card-"] [data-testid="stMetricLabel"] p { font-size: 0.75rem; }
}
[class*="st-key-kpi-card-"] [data-testid="stCaptionContainer"] * { word-break: keep-all; overflow-wrap: anywhere; }
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] .stMarkdownEllipsis *,
[data-testid="stMetricDelta"] .stMarkdownEllipsis, [data-testid="stMetricDelta"] .stMarkdownEllipsis *,
[data-testid="stMetric"] [data-testid="stMetricDeltaDescription"],
[data-testid="stMetric"] [data-testid="stMetricDeltaDescription"] * {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; }
[data-testid="stMetricDelta"] .stMarkdownEllipsis * { word-break: keep-all; }
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] .stMarkdownEllipsis * {
  word-break: keep-all; overflow-wrap: anywhere; }
[data-testid="stMetric"] div:has(> [data-testid="stMetricDelta"]) { flex-wrap: wrap; row-gap: 0.25rem; }
@media (max-width: 640px) {
  .st-key-wide-only, [class*="st-key-wide-only-"] { display: none !important; }
  [data-testid="stMain"] [data-testid="stMarkdownContainer"],
  [data-testid="stMain"] [data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
  [data-testid="stMetricValue"] { font-size: 1.6rem; }
  /* plotly's tool bar sat on the chart titles; on a phone the chart is read, not zoomed */
  [data-testid="stPlotlyChart"] .modebar-container { display: none !important; }
}
@media (min-width: 641px) {
  .st-key-phone-only, [class*="st-key-phone-only-"] { display: none !important; }
}
</style>"""


def is_phone() -> bool:
    """Whether the browser says it is a phone (its user agent has "Mobile", as iOS Safari's and
    Android Chrome's do): for what CSS cannot rearrange, e.g. a grid of small charts."""
    try:
        return "Mobile" in (st.context.headers.get("User-Agent") or "")
    except Exception:  # noqa: BLE001 - no request headers (AppTest, bare mode): not a phone
        return False


def page_css() -> None:
    """The app's CSS (see PHONE_CSS), once per run; in the sidebar, so the page's own elements
    keep their order (the style applies to the whole document wherever it stands)."""
    st.sidebar.html(PHONE_CSS)


# deck.gl draws a map's tooltip with its top-left corner at the pointer (a CSS transform it sets
# on every hover), so over a store near the map's bottom or right edge the tooltip ran out of the
# map and was cut off. This script moves it, with the CSS ``translate`` property (applied on top of
# deck.gl's transform, which it never touches), above the pointer when it would cross the bottom
# edge and left of it when it would cross the right edge; else 8 px below-right, clear of the pointer.
_TOOLTIP_GUARD = """<script>
(() => {
  if (window.o2oTooltipGuard) return;
  window.o2oTooltipGuard = true;
  const GAP = 8;
  const place = (tip) => {
    const at = /translate\\(([-\\d.]+)px, ([-\\d.]+)px\\)/.exec(tip.style.transform || '');
    const box = tip.parentElement;
    if (tip.style.display === 'none' || !at || !box) return;
    const x = +at[1], y = +at[2], w = tip.offsetWidth, h = tip.offsetHeight;
    const dx = x + GAP + w > box.clientWidth ? Math.max(-x, -(w + GAP)) : GAP;
    const dy = y + GAP + h > box.clientHeight ? Math.max(-y, -(h + GAP)) : GAP;
    const shift = `${dx}px ${dy}px`;
    if (tip.dataset.o2oShift !== shift) { tip.dataset.o2oShift = shift; tip.style.translate = shift; }
  };
  const watched = new WeakSet();
  setInterval(() => {
    for (const tip of document.querySelectorAll('.deck-tooltip')) {
      if (watched.has(tip)) continue;
      watched.add(tip);
      new MutationObserver(() => place(tip)).observe(tip, {attributes: true, attributeFilter: ['style']});
    }
  }, 300);
})();
</script>"""


def keep_map_tooltips_inside() -> None:
    """Keep the map's tooltips inside the map (see _TOOLTIP_GUARD); once per page run, in the
    sidebar so it takes no room on the page."""
    st.sidebar.html(_TOOLTIP_GUARD, unsafe_allow_javascript=True)


ROUTED_KEY = "o2o_routed"


def routed_run(page) -> None:
    """The sidebar filters, then ``page``, inside the one error boundary, marking the run so
    pages know the shared frame ran; the URL the run leaves is remembered (see url_moved)."""
    st.session_state[ROUTED_KEY] = True
    try:
        with error_boundary(f"page {getattr(page, 'title', '?')}"):
            sidebar_filters()
            page_css()
            page.run()
        _finish_url()
    except StopException:   # st.stop(): the page is done, its URL stands
        _finish_url()
        raise
    finally:
        st.session_state[ROUTED_KEY] = False
        # a rerun or page switch (a page link has set the next page's URL already): the next
        # run writes the URL, and starts on a URL this session has not seen, so it reads it
        st.session_state.pop(URL_PENDING_KEY, None)


def _finish_url() -> None:
    _apply_url()
    st.session_state[URL_SEEN_KEY] = url_now()


def _ensure_routed() -> None:
    """Send a page that Streamlit ran without dashboard.py back through the router.

    Streamlit treats a ``pages/`` folder beside the main script as a v1 multipage app until the
    first ``st.navigation`` call in the server process. Until then a deep link such as
    ``/quality`` runs ``pages/quality.py`` alone: no filters, no sign-in, no wide layout. Turning
    that legacy mode off and rerunning lets dashboard.py route the same URL properly.
    """
    if st.session_state.get(ROUTED_KEY):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except ImportError:  # a future Streamlit without the legacy mode
        return
    st.rerun()


def current_comparison() -> str:
    """The comparison picked in the sidebar (``?compare=``), one of ``comparisons.MODES``."""
    mode = st.session_state.get(COMPARE_KEY)
    return mode if mode in comparisons.MODES else comparisons.DEFAULT


def current_filters() -> Filters:
    _ensure_routed()
    from o2o_ops.ui import auth as auth_ui
    if not auth_ui.page_allowed():  # also when Streamlit runs a page without the router
        st.stop()
    return apply_scope(st.session_state.get(FILTERS_KEY) or Filters())


# ------------------------------------------------------------------------------------------
# Page furniture
# ------------------------------------------------------------------------------------------

def header(title: str, filters: Filters, *, note: str | None = None) -> None:
    """Title, then one line: the active filters in words and the data's freshness."""
    st.title(title)
    as_of = warehouse.dimension_values().get("as_of")
    fresh = t("frame.data_up_to", when=str(as_of)[:16]) if as_of else t("frame.no_orders_yet")
    st.caption(text.md(f"{filters.describe(language())} · {fresh}" + (f" · {note}" if note else "")))
    for notice in st.session_state.pop(NOTICES_KEY, []):  # plain text: it quotes the link
        st.warning(text.md(notice), icon="⚠️")


def empty_state(filters: Filters, what: str = "orders") -> None:
    """The "nothing to show" message; ``what`` is plain text (it may name a store or campaign)."""
    if data_span(warehouse.dimension_values()) is None:
        st.info(t("frame.empty_warehouse"), icon="📥")
        return
    what = t("frame.what_orders") if what == "orders" else what
    st.info(text.md(t("frame.no_match", what=what, filters=filters.describe(language()))) + " "
            + t("frame.widen"), icon="🔎")


PROVISIONAL_MARK = ":material/hourglass_top:"   # Streamlit's icon font: no emoji font needed


def kpi_cards(current: pd.Series | dict, names: Sequence[str], previous: pd.Series | dict | None = None,
              *, columns: int = 4, sparklines: dict[str, Iterable[float]] | None = None,
              notes: dict[str, str] | None = None, provisional: Iterable[str] = (),
              equal_age: Iterable[str] = (), goals: dict[str, str] | None = None) -> None:
    """One bordered ``st.metric`` per KPI: formatted value, change coloured by good/bad, hover help.
    A large amount or count reads short (``¥269.4M``, :func:`o2o_ops.units.format_card`) and its
    help opens with the exact value ("Exact value: ¥269,394,118.52.").

    Cards in a row are equally tall, and a Chinese label breaks between its words only
    (:func:`o2o_ops.i18n.card_label`; it broke "平均评 / 分" in a 1,024 px window).

    ``notes``: KPI -> why it has no value ("not provided: no costs imported", "too few reviews
    (2)"): the value reads "—" and the reason stands where the change would ("Not provided", with
    "no costs imported" beside it). ``provisional`` KPIs carry :data:`PROVISIONAL_MARK` as their
    icon; ``equal_age`` ones say "at equal age" beside their change (against the comparison period
    as it stood at the same age). ``goals``: KPI -> its target's attainment in words, a caption
    in its card, under the value.

    One row of ``columns`` per ``columns`` cards, so a goal's caption under a card of the first row
    pushes the whole second row down instead of misaligning its column, and a phone (columns
    stacked) shows the cards in their order, not column by column."""
    cols: list = []
    lang = language()
    row_key = zlib.crc32("|".join(names).encode())   # a page may show a KPI in two sets of cards
    notes, provisional, equal_age = notes or {}, set(provisional), set(equal_age)
    notes = {n: i18n.note(why, lang) for n, why in notes.items()}
    for i, name in enumerate(names):
        kpi = metrics.KPIS[name]
        value = current.get(name)
        delta, change = None, None
        color = "off"
        if previous is not None:
            prev = previous.get(name)
            if not units.is_missing(value) and not units.is_missing(prev):
                change = float(value) - float(prev)
                delta = units.metric_delta(change, kpi.unit, lang=lang)   # "-¥520": st.metric's direction
                good = metrics.is_good_change(name, change)
                # st.metric colours a rise green ("normal") or red ("inverse"); neutral KPIs stay grey
                color = "off" if good is None else ("normal" if (change > 0) == good else "inverse")
        spark = None
        if sparklines and name in sparklines:
            # st.metric refuses gaps; an undefined week is left out of the sparkline
            spark = [float(v) for v in sparklines[name] if not units.is_missing(v)] or None
        shown = units.format_card(value, kpi.unit, lang=lang)   # ¥269.4M: a card holds ~11 characters
        help_ = t("frame.kpi_help", description=i18n.kpi_description(name, lang), unit=i18n.unit_label(kpi.unit, lang))
        note = notes.get(name) if units.is_missing(value) else None
        icon, description, arrow = None, None, "auto"
        if note:   # "—", and under it the reason: "Not provided" / "Too few reviews (2)"
            head, detail = i18n.split_note(note)
            delta, color, arrow = head[:1].upper() + head[1:], "off", "off"
            description = detail or None
            help_ = f"{i18n.note_sentence(note)}{t('frame.sentence_end')} {help_}"
        elif name in provisional:
            icon = PROVISIONAL_MARK
            help_ = (t("frame.provisional_equal_age_help" if name in equal_age else "frame.provisional_help")
                     + " " + help_)
            if name in equal_age and delta is not None:
                description = t("frame.at_equal_age")
        exact = i18n.exact_help(value, change, kpi.unit, lang)   # first: the digits a short value leaves out
        help_ = f"{exact} {help_}" if exact else help_
        if i % columns == 0:
            cols = st.columns(columns)
        # the card is a bordered box the height of its row (its cards as tall as the tallest),
        # its goal's caption inside it, under the metric
        with cols[i % columns], st.container(border=True, height="stretch", key=f"kpi-card-{row_key}-{name}"):
            st.metric(i18n.card_label(i18n.kpi_label(name, lang), lang), shown, delta=delta, delta_color=color,
                      help=text.md(help_), height="stretch", chart_data=spark, icon=icon,
                      delta_description=description, delta_arrow=arrow)
            if goals and goals.get(name):
                st.caption(f"🎯 {text.md(goals[name])}")


def period_cards(filters: Filters, names: Sequence[str], *, columns: int = 4,
                 totals_of: Sequence[str] = ()) -> pd.Series:
    """KPI cards for the filtered period against the comparison picked in the sidebar (the
    previous period by default; see :mod:`o2o_ops.comparisons`). Under "month to date" the cards
    show the month of the range's last day up to that day.

    Shows the empty state and stops the page when no order matches. Returns the period's totals:
    of ``names``, and of ``totals_of`` (more totals the page shows elsewhere, asked in the same
    query)."""
    asked = tuple(dict.fromkeys(("orders", "reviews", *names, *totals_of)))
    cmp = None
    if filters.start and filters.end:   # the comparison picked in the sidebar (previous period by default)
        cmp = comparisons.compare(current_comparison(), filters.start, filters.end)
        filters = filters.replace(start=cmp.current[0], end=cmp.current[1])
    totals = warehouse.kpis(filters, "total", asked)
    if totals.empty or not totals["orders"].iloc[0]:
        empty_state(filters)
        st.stop()
    # why a total is blank: from the totals themselves (coverage is read once per connection)
    notes = metrics.notes(warehouse.connection(), totals, filters, "total", asked)[0]
    provisional, cutoff = warehouse.equal_age(filters, tuple(names), cmp.previous[1] if cmp is not None else None)
    marked = tuple(n for n in provisional if n not in notes)
    previous = None
    if cmp is not None:
        previous_filters = filters.replace(start=cmp.previous[0], end=cmp.previous[1])
        # a maturing KPI compares with the comparison period as it stood at the same age; the
        # others as they are. Each is asked once: the maturing ones as of then only (the time to
        # redeem's median alone reads every order of the period)
        aged = (_as_of_totals(previous_filters, marked, cutoff)
                if marked and cutoff is not None else None)
        if aged is None or aged.empty:
            previous = warehouse.kpis(previous_filters, "total", tuple(names))
        else:
            rest = tuple(n for n in names if n not in marked)
            previous = warehouse.kpis(previous_filters, "total", rest) if rest else aged
            if not previous.empty:
                previous = previous.assign(**{n: aged[n].to_numpy() for n in marked})[["total", *names]]
    kpi_cards(totals.iloc[0], names, None if previous is None or previous.empty else previous.iloc[0],
              columns=columns, notes=notes, provisional=marked, equal_age=marked if cmp is not None else (),
              goals=target_notes(filters, totals.iloc[0], names))
    if cmp is not None:
        st.caption(t("frame.changes_compare", comparison=cmp.describe(language()))
                   + (t("frame.provisional_marks", mark=PROVISIONAL_MARK) if marked else t("frame.sentence_end")))
    return totals.iloc[0]


def _as_of_totals(filters: Filters, names: Sequence[str], cutoff) -> pd.DataFrame:
    """The totals of ``names`` under ``filters`` as they stood at ``cutoff``: the KPIs that read
    campaign slices in a query of their own, so that the others read the store rollup (at 10
    million orders the symmetry cards' six KPIs took 136 ms in one query, 80 + 30 ms in two)."""
    sliced = tuple(n for n in names if metrics.reads_campaign_slices(n))
    plain = tuple(n for n in names if n not in sliced)
    if not sliced or not plain:
        return warehouse.kpis(filters, "total", tuple(names), as_of=cutoff)
    a = warehouse.kpis(filters, "total", plain, as_of=cutoff)
    b = warehouse.kpis(filters, "total", sliced, as_of=cutoff)
    if a.empty or b.empty:
        return a.iloc[0:0] if a.empty else b.iloc[0:0]
    return a.assign(**{n: b[n].to_numpy() for n in sliced})[["total", *names]]


def card_notes(filters: Filters, names: Sequence[str], totals: pd.Series | None = None) -> dict[str, str]:
    """KPI -> why its total under ``filters`` is blank (not provided, too few reviews), for kpi_cards.
    Reads the cached totals, or ``totals`` when the page holds them already (one store's row of a
    store table: its totals under the filters narrowed to it, ``reviews`` included), so no query;
    the reasons cost no query (coverage is read once per connection)."""
    asked = tuple(dict.fromkeys(("orders", "reviews", *names)))   # period_cards' query: cached already
    if totals is not None:
        totals = pd.DataFrame([totals[list(asked)]]).reset_index(drop=True)
    else:
        totals = warehouse.kpis(filters, "total", asked)
    return metrics.notes(warehouse.connection(), totals, filters, "total", asked)[0] if not totals.empty else {}


def never_provided(filters: Filters, names: Sequence[str]) -> dict[str, str]:
    """KPI -> its "not provided: ..." note (in the reader's language) for the KPIs of ``names`` the
    warehouse cannot provide over the filtered period, from what was imported alone
    (:mod:`o2o_ops.coverage`, read once per connection): no KPI is computed. For choices made
    before any value is (which KPI a map colours by)."""
    from o2o_ops import coverage
    cov = coverage.of(warehouse.connection(), filters)
    found = {n: cov.reason(n, filters.start, filters.end) for n in names}
    return {n: i18n.note(why, language()) for n, why in found.items() if why}


def not_provided(filters: Filters, names: Sequence[str], totals: pd.Series | None = None) -> dict[str, str]:
    """KPI -> "not provided: ..." for the KPIs of ``names`` the warehouse cannot provide over the
    filtered period (for captions under charts and tables that leave them out); ``totals``: as for
    :func:`card_notes`."""
    return {n: i18n.note(why, language()) for n, why in card_notes(filters, names, totals).items()
            if why.startswith("not provided")}


def missing_details(missing: dict[str, str], names: Sequence[str]) -> str:
    """The details of the notes (:func:`not_provided`) of the KPIs of ``names`` in ``missing``, each
    once, joined as the cards join them: "no costs imported; no refunds imported" ("" when none is
    missing). For the one caption that says why several charted KPIs are left out."""
    return t("attention.separator").join(dict.fromkeys(i18n.note_detail(missing[n]) for n in names if n in missing))


def comparison_overlay(filters: Filters, names: Sequence[str]) -> dict[str, Any]:
    """``kpi_line`` keyword arguments for the comparison picked in the sidebar: its weekly values
    placed on this period's weeks and their label. Nothing under the default (the previous period
    is the trend's own left part) or "month to date" (no weekly trend to compare)."""
    mode = current_comparison()
    if mode in (comparisons.DEFAULT, "ptd") or not (filters.start and filters.end):
        return {}
    overlay = _weekly_overlay(filters, tuple(names), mode)
    if overlay.empty:
        return {}
    return {"comparison": overlay,
            "comparison_label": comparisons.label(comparisons.compare(mode, filters.start, filters.end), language())}


def target_notes(filters: Filters, values: pd.Series | dict, names: Sequence[str],
                 start: dt.date | None = None, end: dt.date | None = None) -> dict[str, str]:
    """KPI name -> the attainment of its target over the period (``filters``' dates unless given)."""
    start, end = start or filters.start, end or filters.end
    if start is None or end is None:
        return {}
    pairs = tuple((n, None if units.is_missing(values.get(n)) else float(values.get(n))) for n in names)
    table_ = _attainment(filters, start, end, pairs, tuple(names), language())
    return dict(zip(table_["kpi"], table_["text"]))


def table(df: pd.DataFrame, page: str, filters: Filters, *, key: str, label: str | None = None,
          column_config: dict | None = None, height: int | str = "auto", hide_index: bool = True,
          on_pick: Any = None, pick_key: str | None = None) -> dict | None:
    """A sortable table and a CSV download named after the page and filters. On screen every
    column and coded value is in words (:mod:`o2o_ops.words`; ``column_config`` overrides); the
    CSV keeps the raw names and values.

    With ``on_pick`` (a callable taking the picked row as a dict) a click on a row drills: the
    callback runs before the page does, so it can set widgets and the filters. ``pick_key`` keys
    the selection widget: give it the current drill value so the grid starts unselected after a
    drill (the drill state lives in the URL, not in the grid). ``on_pick=True`` makes the rows
    selectable without a callback (the page acts on the returned row, e.g. a page switch, which a
    callback cannot do). Returns the picked row, if any."""
    shown = words.for_display(df, language())
    if on_pick is None:
        st.dataframe(shown, hide_index=hide_index, column_config=plain_columns(df, column_config),
                     height=height, placeholder=text.MISSING)
        picked = None
    else:
        # A pick is an action, not a state: once acted on, every pickable table starts afresh
        # (a new key), so a tick can never fire twice, e.g. when Back returns to its page.
        generation = st.session_state.get(PICK_GENERATION_KEY, 0)
        widget_key = f"pick_{key}_{pick_key or ''}_{generation}"

        def _picked() -> None:
            row = selected_row(st.session_state.get(widget_key), df)
            if row is not None and callable(on_pick):
                st.session_state[PICK_GENERATION_KEY] = generation + 1
                on_pick(row)

        event = st.dataframe(shown, hide_index=hide_index, column_config=plain_columns(df, column_config),
                             height=height, placeholder=text.MISSING, on_select=_picked,
                             selection_mode="single-row", key=widget_key)
        picked = selected_row(event, df)
        if picked is not None:
            st.session_state[PICK_GENERATION_KEY] = generation + 1
    st.download_button(label or t("frame.download_csv"), export.safe_csv(df), file_name=export.file_name(f"{page}-{key}", filters.slug()),
                       mime="text/csv", key=f"dl_{key}", icon=":material/download:")
    return picked


def pick_chart(fig, key: str, *, allowed: Sequence[str] | None = None, pick_key: str | None = None,
               container: Any = None, missing: str | None = None) -> str | None:
    """A plotly chart whose bars or points drill: each carries the id it stands for (a campaign,
    a store) as its ``customdata``; a click returns that id (one of ``allowed``), for the page to
    act on as on a ticked table row (:func:`table` with ``on_pick=True``). As with the tables, a
    pick is an action: once acted on, the chart starts afresh under a new key, and ``pick_key``
    (the current drill value) keys it, so a chart shown again after Back has nothing selected.
    ``missing``: as for :func:`localise`."""
    from o2o_ops import charts

    generation = st.session_state.get(PICK_GENERATION_KEY, 0)
    widget_key = f"pick_{key}_{pick_key or ''}_{generation}"
    event = (container or st).plotly_chart(localise(fig, missing=missing), key=widget_key, on_select="rerun",
                                           selection_mode=("points",))
    picked = charts.picked_id(event, allowed)
    if picked is not None:
        st.session_state[PICK_GENERATION_KEY] = generation + 1
    return picked


def plain_columns(df: pd.DataFrame, explicit: dict | None = None) -> dict[str, Any]:
    """A column config naming every column of ``df`` in words, numbers formatted per unit;
    ``explicit`` entries win."""
    config_: dict[str, Any] = {}
    lang = language()
    for name in df.columns:
        unit = words.column_unit(name)
        label = i18n.column_label(name, lang)
        if unit and pd.api.types.is_numeric_dtype(df[name]) and not pd.api.types.is_bool_dtype(df[name]):
            config_[name] = st.column_config.NumberColumn(
                label, format=units.column_format(unit),
                help=i18n.kpi_description(name, lang) if name in metrics.KPIS else None)
        else:
            config_[name] = st.column_config.Column(label)
    return {**config_, **(explicit or {})}


def kpi_column_config(names: Iterable[str]) -> dict[str, Any]:
    """Column formats and hover help for KPI columns in st.dataframe."""
    config_: dict[str, Any] = {}
    for name in names:
        kpi = metrics.KPIS.get(name)
        if kpi is None:
            continue
        config_[name] = st.column_config.NumberColumn(kpi_label(name), help=kpi_description(name),
                                                      format=units.column_format(kpi.unit))
    return config_


# ------------------------------------------------------------------------------------------
# The error boundary
# ------------------------------------------------------------------------------------------

def error_message(exc: BaseException) -> str:
    """What went wrong and what to do, in plain text, for an error a page could not handle.

    The warehouse's own errors (row cap, time limit, a missing, damaged, foreign or stale file)
    carry their fix. Anything else gets a reference to the server log, never the exception's
    text: it may hold server paths or internals.
    """
    if isinstance(exc, db.QueryTimeout):
        head = str(exc) if language() == "en" else t("error.timeout_head")   # the core's words are English
        return f"{head} " + t("error.timeout", limit=f"{config.get_float('O2O_QUERY_TIMEOUT_S'):g}")
    if isinstance(exc, (db.WarehouseError, comparisons.UnknownCountry)):
        return str(exc)
    if isinstance(exc, PermissionError):
        return t("error.permission")
    if isinstance(exc, duckdb.IOException):
        return t("error.io")
    return ""


def show_error(exc: BaseException, where: str = "") -> None:
    """A plain message for ``exc`` instead of a traceback; unexpected errors are logged with a
    reference the user can quote."""
    message = error_message(exc)
    if message:  # the core's own words (commands as `code`), no data or link values in them
        log.warning("page error on %s: %s", where or "a page", message)
        st.error(message, icon="🚫")
        return
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error %s on %s", reference, where or "a page", exc_info=exc)
    st.error(t("error.unexpected", reference=reference), icon="🚫")


@contextlib.contextmanager
def error_boundary(where: str = "") -> Iterator[None]:
    """Everything inside runs under one guard: any error becomes a plain message (see
    :func:`show_error`); Streamlit's own stop, rerun and page switches pass through."""
    try:
        yield
    except ScriptControlException:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place every page's errors end up
        show_error(exc, where)


def fragment(fn):
    """``st.fragment`` with the error boundary inside: Streamlit runs a fragment's errors past the
    page's own (into a traceback), so each fragment carries the boundary itself."""
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> None:
        with error_boundary(f"fragment {fn.__name__}"):
            fn(*args, **kwargs)

    return st.fragment(guarded)


def guard(fn):
    """Run a page body under the error boundary; None when it failed (the message is shown)."""
    with error_boundary():
        return fn()
    return None
