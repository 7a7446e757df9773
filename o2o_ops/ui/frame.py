"""The shared frame of every page: first-start build, sidebar filters kept in the URL, the title
line with filters and freshness, KPI cards, tables with CSV export, empty states and errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import uuid
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from o2o_ops import comparisons, config, db, export, metrics, targets, text, units, weekly, words
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
COMPARE_KEY = "flt_compare"
_attainment = warehouse.cached(targets.attainment_table)
_weekly_overlay = warehouse.cached(comparisons.weekly_overlay)
NOTICES_KEY = "o2o_notices"


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
            st.title("o2o-ops is not set up yet")
            st.error("There is no warehouse to show yet, and with sign-in switched on the app does not "
                     "build a demo in its place. An administrator imports the data on the server with "
                     "`python -m o2o_ops import-dir FOLDER` (or builds the demo with `python -m o2o_ops "
                     "demo`).", icon="🗄️")
            return False
        from o2o_ops import demo  # only needed on first start

        orders = config.get_int("O2O_DEMO_ORDERS")
        st.title("Setting up o2o-ops")
        st.write(f"No warehouse at `{path}` yet, so this first start builds the demo warehouse "
                 f"({orders:,} orders). Later starts reuse it.")
        bar = st.progress(0.0, text="Starting…")
        try:
            with db.notify_waits(lambda message: bar.progress(0.0, text=f"{message} (another session is "
                                                                         f"building it)")):
                with db.write_lock(path):
                    if not path.exists():   # another session may have built it while this one waited
                        demo.build_demo(path, orders=orders, progress=lambda fraction, message: bar.progress(
                            min(1.0, fraction), text=message))
        except Exception as exc:  # noqa: BLE001 - shown to the user with the fix
            st.error(f"Building the demo warehouse failed: {error_message(exc) or 'see the server log.'} "
                     f"Try `python -m o2o_ops demo` in a shell.", icon="🚫")
            return False
        bar.empty()
        st.rerun()
    try:
        warehouse.connection()
    except db.StaleWarehouse:
        if locked_down:
            st.error("The warehouse was prepared by another version of o2o-ops. An administrator "
                     "refreshes it on the server (the data is kept) with `python -m o2o_ops refresh`.",
                     icon="🗄️")
            return False
        # Derived tables from another version of o2o-ops: rebuild them (atomically, data kept).
        with st.spinner(f"Preparing the warehouse at `{path}` for this version of o2o-ops…"):
            try:
                db.refresh(path, only_if_stale=True)
            except Exception as exc:  # noqa: BLE001 - shown to the user with the fix
                st.error(f"The warehouse was prepared by another version of o2o-ops and refreshing it "
                         f"failed: {error_message(exc) or 'see the server log.'} Whoever runs o2o-ops can refresh it with "
                         f"`python -m o2o_ops refresh`.", icon="🚫")
                return False
        st.rerun()
    except db.WarehouseError as exc:
        st.error(str(exc) if not locked_down else
                 "The warehouse cannot be opened. An administrator can see why with `python -m o2o_ops info` "
                 "on the server.", icon="🚫")
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
    if "flt_dates" not in st.session_state:
        _init_from_url(choices)
    sb = st.sidebar
    sb.header("Filters")
    span = data_span(choices)
    if span is None:
        st.session_state["flt_dates"] = ()
        sb.caption("No orders yet, so no dates to pick: import orders on the Data page.")
    else:
        sb.date_input("Order dates", key="flt_dates", min_value=span[0], max_value=span[1],
                      help="Orders count by the day they were placed; costs by their own date.")
    sb.multiselect("City", choices["cities"], key="flt_city", placeholder="All cities")
    sb.multiselect("Category", choices["categories"], key="flt_category", placeholder="All categories")
    sb.multiselect("Channel", choices["channels"], key="flt_channel", placeholder="All channels")
    sb.multiselect("Campaign kind", choices["campaign_kinds"], key="flt_kind", placeholder="All kinds")
    names = choices["store_names"]
    sb.multiselect("Store", choices["stores"], key="flt_store", placeholder="All stores",
                   format_func=lambda sid: f"{text.plain(names.get(sid, sid))} ({text.plain(sid)})")
    sb.selectbox("Compare with", list(comparisons.MODES), key=COMPARE_KEY,
                 format_func=lambda mode: comparisons.MODES[mode].capitalize(),
                 help="What the cards' changes and the trends' dotted line compare with: the previous "
                      "period, the same ISO weeks last year, the same public holiday last year, or "
                      "month to date against the same days of the month before.")
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
    wanted: dict[str, Any] = {}
    for key in ("week", "campaign", "cstore", "side", "page_no"):
        if key in st.query_params:  # page-specific parameters survive
            wanted[key] = st.query_params.get_all(key)
    mode = current_comparison()
    if mode != comparisons.DEFAULT:
        wanted["compare"] = mode
    if filters.start:
        wanted["from"] = filters.start.isoformat()
    if filters.end:
        wanted["to"] = filters.end.isoformat()
    for param, (field, _) in MULTI_PARAMS.items():
        values = getattr(filters, field)
        if values:
            wanted[param] = list(values)
    current = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    normalised = {k: (v if isinstance(v, list) else [v]) for k, v in wanted.items()}
    if current != normalised:
        st.query_params.from_dict(wanted)


ROUTED_KEY = "o2o_routed"


def routed_run(page) -> None:
    """The sidebar filters, then ``page``, inside the one error boundary, marking the run so
    pages know the shared frame ran."""
    st.session_state[ROUTED_KEY] = True
    try:
        with error_boundary(f"page {getattr(page, 'title', '?')}"):
            sidebar_filters()
            page.run()
    finally:
        st.session_state[ROUTED_KEY] = False


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
    fresh = f"data up to {str(as_of)[:16]}" if as_of else "no orders yet"
    st.caption(text.md(f"{filters.describe()} · {fresh}" + (f" · {note}" if note else "")))
    for notice in st.session_state.pop(NOTICES_KEY, []):  # plain text: it quotes the link
        st.warning(text.md(notice), icon="⚠️")


def empty_state(filters: Filters, what: str = "orders") -> None:
    """The "nothing to show" message; ``what`` is plain text (it may name a store or campaign)."""
    if data_span(warehouse.dimension_values()) is None:
        st.info("This warehouse has no orders yet, so there is nothing to show here. Import orders on "
                "the Data page (or with `python -m o2o_ops import-dir FOLDER`).", icon="📥")
        return
    st.info(text.md(f"No {what} match these filters ({filters.describe()}).") + " Widen the dates or clear "
            "a filter in the sidebar.", icon="🔎")


PROVISIONAL_MARK = ":material/hourglass_top:"   # Streamlit's icon font: no emoji font needed


def kpi_cards(current: pd.Series | dict, names: Sequence[str], previous: pd.Series | dict | None = None,
              *, columns: int = 4, sparklines: dict[str, Iterable[float]] | None = None,
              notes: dict[str, str] | None = None, provisional: Iterable[str] = (),
              equal_age: Iterable[str] = (), goals: dict[str, str] | None = None) -> None:
    """One bordered ``st.metric`` per KPI: formatted value, change coloured by good/bad, hover help.

    ``notes``: KPI -> why it has no value ("not provided: no costs imported", "too few reviews
    (2)"): the value reads "—" and the reason stands where the change would ("Not provided", with
    "no costs imported" beside it). ``provisional`` KPIs carry :data:`PROVISIONAL_MARK` as their
    icon; ``equal_age`` ones say "at equal age" beside their change (against the comparison period
    as it stood at the same age). ``goals``: KPI -> its target's attainment in words, a caption
    under its card."""
    cols = st.columns(columns)
    notes, provisional, equal_age = notes or {}, set(provisional), set(equal_age)
    for i, name in enumerate(names):
        kpi = metrics.KPIS[name]
        value = current.get(name)
        delta = None
        color = "off"
        if previous is not None:
            prev = previous.get(name)
            if not units.is_missing(value) and not units.is_missing(prev):
                change = float(value) - float(prev)
                delta = metrics.format_change(name, change)
                good = metrics.is_good_change(name, change)
                # st.metric colours a rise green ("normal") or red ("inverse"); neutral KPIs stay grey
                color = "off" if good is None else ("normal" if (change > 0) == good else "inverse")
        spark = None
        if sparklines and name in sparklines:
            # st.metric refuses gaps; an undefined week is left out of the sparkline
            spark = [float(v) for v in sparklines[name] if not units.is_missing(v)] or None
        shown = kpi.format(value)
        help_ = f"{kpi.description} ({kpi.unit})"
        note = notes.get(name) if units.is_missing(value) else None
        icon, description, arrow = None, None, "auto"
        if note:   # "—", and under it the reason: "Not provided" / "Too few reviews (2)"
            head, _, detail = note.partition(": ")
            delta, color, arrow = head[:1].upper() + head[1:], "off", "off"
            description = detail or None
            help_ = f"{note[:1].upper() + note[1:]}. {help_}"
        elif name in provisional:
            icon = PROVISIONAL_MARK
            help_ = ("Provisional: this period's vouchers can still be used, reviewed or refunded"
                     + (", so the change is against the previous period at the same age. " if name in equal_age else ". ")
                     + help_)
            if name in equal_age and delta is not None:
                description = "at equal age"
        with cols[i % columns]:
            st.metric(kpi.label, shown, delta=delta, delta_color=color, help=text.md(help_), border=True,
                      chart_data=spark, icon=icon, delta_description=description, delta_arrow=arrow)
            if goals and goals.get(name):
                st.caption(f"🎯 {text.md(goals[name])}")


def period_cards(filters: Filters, names: Sequence[str], *, columns: int = 4) -> pd.Series:
    """KPI cards for the filtered period against the comparison picked in the sidebar (the
    previous period by default; see :mod:`o2o_ops.comparisons`). Under "month to date" the cards
    show the month of the range's last day up to that day.

    Shows the empty state and stops the page when no order matches. Returns the period's totals.
    """
    asked = tuple(dict.fromkeys(("orders", "reviews", *names)))
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
        previous = warehouse.kpis(previous_filters, "total", tuple(names))
        if marked and cutoff is not None:
            # a maturing KPI compares with the comparison period as it stood at the same age
            aged = warehouse.kpis(previous_filters, "total", tuple(marked), as_of=cutoff)
            if not previous.empty and not aged.empty:
                previous = previous.assign(**{n: aged[n].to_numpy() for n in marked})
    kpi_cards(totals.iloc[0], names, None if previous is None or previous.empty else previous.iloc[0],
              columns=columns, notes=notes, provisional=marked, equal_age=marked if cmp is not None else (),
              goals=target_notes(filters, totals.iloc[0], names))
    if cmp is not None:
        st.caption(f"Changes compare {cmp.describe()}"
                   + (f"; {PROVISIONAL_MARK} marks a provisional KPI (this period's vouchers can still be used or "
                      f"reviewed), compared with that period as it stood at the same age." if marked else "."))
    return totals.iloc[0]


def card_notes(filters: Filters, names: Sequence[str]) -> dict[str, str]:
    """KPI -> why its total under ``filters`` is blank (not provided, too few reviews), for kpi_cards.
    Reads the cached totals; the reasons cost no query (coverage is read once per connection)."""
    asked = tuple(dict.fromkeys(("orders", "reviews", *names)))   # period_cards' query: cached already
    totals = warehouse.kpis(filters, "total", asked)
    return metrics.notes(warehouse.connection(), totals, filters, "total", asked)[0] if not totals.empty else {}


def not_provided(filters: Filters, names: Sequence[str]) -> dict[str, str]:
    """KPI -> "not provided: ..." for the KPIs of ``names`` the warehouse cannot provide over the
    filtered period (for captions under charts and tables that leave them out)."""
    return {n: why for n, why in card_notes(filters, names).items() if why.startswith("not provided")}


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
            "comparison_label": comparisons.label(comparisons.compare(mode, filters.start, filters.end))}


def target_notes(filters: Filters, values: pd.Series | dict, names: Sequence[str],
                 start: dt.date | None = None, end: dt.date | None = None) -> dict[str, str]:
    """KPI name -> the attainment of its target over the period (``filters``' dates unless given)."""
    start, end = start or filters.start, end or filters.end
    if start is None or end is None:
        return {}
    pairs = tuple((n, None if units.is_missing(values.get(n)) else float(values.get(n))) for n in names)
    table_ = _attainment(filters, start, end, pairs, tuple(names))
    return dict(zip(table_["kpi"], table_["text"]))


def table(df: pd.DataFrame, page: str, filters: Filters, *, key: str, label: str = "Download CSV",
          column_config: dict | None = None, height: int | str = "auto", hide_index: bool = True) -> None:
    """A sortable table and a CSV download named after the page and filters. On screen every
    column and coded value is in words (:mod:`o2o_ops.words`; ``column_config`` overrides); the
    CSV keeps the raw names and values."""
    st.dataframe(words.for_display(df), hide_index=hide_index, column_config=plain_columns(df, column_config),
                 height=height, placeholder=text.MISSING)
    st.download_button(label, export.safe_csv(df), file_name=export.file_name(f"{page}-{key}", filters.slug()),
                       mime="text/csv", key=f"dl_{key}", icon=":material/download:")


def plain_columns(df: pd.DataFrame, explicit: dict | None = None) -> dict[str, Any]:
    """A column config naming every column of ``df`` in words, numbers formatted per unit;
    ``explicit`` entries win."""
    config_: dict[str, Any] = {}
    for name in df.columns:
        unit = words.column_unit(name)
        if unit and pd.api.types.is_numeric_dtype(df[name]) and not pd.api.types.is_bool_dtype(df[name]):
            config_[name] = st.column_config.NumberColumn(words.column_label(name), format=units.column_format(unit),
                                                          help=metrics.KPIS[name].description if name in metrics.KPIS else None)
        else:
            config_[name] = st.column_config.Column(words.column_label(name))
    return {**config_, **(explicit or {})}


def kpi_column_config(names: Iterable[str]) -> dict[str, Any]:
    """Column formats and hover help for KPI columns in st.dataframe."""
    config_: dict[str, Any] = {}
    for name in names:
        kpi = metrics.KPIS.get(name)
        if kpi is None:
            continue
        config_[name] = st.column_config.NumberColumn(kpi.label, help=kpi.description,
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
        return (f"{exc} Pick fewer weeks, one city or one category; whoever runs o2o-ops can raise the "
                f"limit (setting O2O_QUERY_TIMEOUT_S, now {config.get_float('O2O_QUERY_TIMEOUT_S'):g} s).")
    if isinstance(exc, (db.WarehouseError, comparisons.UnknownCountry)):
        return str(exc)
    if isinstance(exc, PermissionError):
        return ("The warehouse file or its folder cannot be read or written (permission denied). Whoever "
                "runs o2o-ops should check the file's permissions.")
    if isinstance(exc, duckdb.IOException):
        return ("The warehouse file could not be read: it may be damaged or being replaced. Reload the page; "
                "if it keeps happening, re-import your data or rebuild the demo (`python -m o2o_ops demo`).")
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
    st.error(f"Something went wrong while showing this page, and it has been logged as error "
             f"{reference}. Try again or change the filters; if it keeps happening, tell whoever runs "
             f"o2o-ops and quote {reference}.", icon="🚫")


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
