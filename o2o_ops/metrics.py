"""KPIs at any grain: the one function that computes any set of the declared KPIs
(:mod:`o2o_ops.kpis`) at any grain under any filters, and the formats they are shown in.

Every page, report, command and test reads the declarations through :data:`KPIS`. A KPI's SQL
is generated from its declaration (:mod:`o2o_ops.kpis.sql`) over the summed measures of one
query (see :func:`kpi_sql`); a ratio is always ``sum(numerator) / sum(denominator)`` over the
filtered rows, and NULL (never 0) when the denominator is zero.

Where the numbers come from (each a CTE of :func:`kpi_sql`):
- ``o``: ``rollup_day_store_channel_campaign`` (order date x store x channel x campaign), one column per order
  measure, for everything additive;
- ``k``: ``rollup_costs`` for marketing, staff and other costs (campaign costs spread to the
  campaign's stores by their share of its paid orders);
- ``f``: ``order_facts`` (one row per order) for what cannot be pre-summed: medians;
- ``rep``: ``order_facts`` for distinct and repeat customers;
- ``h``: ``rollup_store_hour`` and ``stores`` over the capacity calendar (opening hours per store
  and weekday where ``store_hours`` gives them, else the global setting), for capacity utilisation;
- ``ins``: ``inspection_facts`` (the optional table inspections, by inspected_on), for inspection KPIs;
- ``ev``: ``event_facts`` (the optional table events: the online funnel, by occurred_at);
- ``sym``: the symmetry index per store (:mod:`o2o_ops.kpis.symmetry_index`), then weighted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from o2o_ops import config, db, units
from o2o_ops.filters import TARGETS, Filters
from o2o_ops.kpis import sql as generated
from o2o_ops.kpis import symmetry_index
from o2o_ops.kpis.measures import MEASURE_LIST
from o2o_ops.kpis.catalog import AREA_LABELS, HEADLINE, KPI_LIST, KPIS, Kpi, definitions_frame, inputs_of

__all__ = ["AREA_LABELS", "HEADLINE", "KPI_LIST", "KPIS", "Kpi", "definitions_frame", "inputs_of", "compute",
           "kpi_sql", "format_value", "format_change", "is_good_change", "week_over_week"]

# The symmetry index's exact scoring, in words (generated from its declaration).
SYMMETRY_DOC = symmetry_index.describe()
SYMMETRY_SQL = symmetry_index.score_sql()

# ------------------------------------------------------------------------------------------
# Grains
# ------------------------------------------------------------------------------------------

# grain -> list of (output column, expression template); {date} is the source's date column.
GRAINS: dict[str, list[tuple[str, str]]] = {
    "total": [("total", "'all'")],
    "week": [("week_start", "CAST(date_trunc('week', {date}) AS DATE)")],
    "day": [("day", "{date}")],
    "store": [("store_id", "store_id")],
    "city": [("city", "city")],
    "district": [("city", "city"), ("district", "district")],
    "region": [("region", "region")],
    "category": [("category", "category")],
    "campaign": [("campaign_id", "campaign_id")],
    "channel": [("channel", "channel")],
    "campaign_kind": [("campaign_kind", "campaign_kind")],
}
_NON_NULL_KEYS = {"channel", "campaign_kind"}  # costs with no channel/kind are not part of those groups


def _keys(grain: str, date_col: str) -> list[tuple[str, str]]:
    if grain not in GRAINS:
        raise ValueError(f"Unknown grain {grain!r}; choose one of {', '.join(GRAINS)}.")
    return [(out, expr.format(date=date_col)) for out, expr in GRAINS[grain]]


def _select_keys(keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{expr} AS {out}" for out, expr in keys)


def _group_by(keys: list[tuple[str, str]], *extra: str) -> str:
    """``GROUP BY`` the key expressions (and ``extra`` ones), spelled out: the portable form of
    ``GROUP BY ALL``. A constant key (the total grain's ``'all'``) is not grouped on, so an
    aggregate over no rows still gives its one row, as ``GROUP BY ALL`` does."""
    exprs = [e for _, e in keys if not e.startswith("'")] + list(extra)
    return f"GROUP BY {', '.join(exprs)}" if exprs else ""


def _join_on(left: str, right: str, keys: list[tuple[str, str]]) -> str:
    return " AND ".join(f"{left}.{out} IS NOT DISTINCT FROM {right}.{out}" for out, _ in keys)


# ------------------------------------------------------------------------------------------
# SQL
# ------------------------------------------------------------------------------------------

DAILY_TABLES = {"day": "rollup_day_store_channel_campaign", "costs": "rollup_costs", "facts": "order_facts"}
WEEKLY_TABLES = {"day": "rollup_week_store_channel_campaign", "costs": "rollup_costs_week", "facts": "order_facts"}
# the same order sums over channels and campaigns together: store x day (week)
STORE_DAILY_TABLES = {**DAILY_TABLES, "day": "rollup_day_store"}
STORE_WEEKLY_TABLES = {**WEEKLY_TABLES, "day": "rollup_week_store"}
_CAMPAIGN_GRAINS = ("channel", "campaign", "campaign_kind")
_CAMPAIGN_KEYS = ("channel", "campaign_id", "campaign_kind")   # the order rollup's keys the store-level ones sum away


def by_campaign(filters: Filters, grain: str = "total") -> bool:
    """Whether a query filters or groups by channel, campaign or campaign kind, and so must read
    the order rollup that keeps them apart (``rollup_*_store_channel_campaign``)."""
    return bool(filters.channels or filters.campaign_kinds or filters.campaigns) or grain in _CAMPAIGN_GRAINS


def _campaign_columns(measures: Iterable[str]) -> list[str]:
    """The channel and campaign columns the rollup sums of ``measures`` read: a slice such as
    the new customers won by a campaign is its base measure summed ``WHERE campaign_id IS NOT NULL``."""
    wanted = set(measures)
    wheres = " ".join(m.where or "" for m in MEASURE_LIST
                      if m.name in wanted and not m.is_rollup_column and m.source == "orders")
    return [c for c in _CAMPAIGN_KEYS if re.search(rf"\b{c}\b", wheres)]


def reads_campaign_slices(name: str) -> bool:
    """Whether KPI ``name`` sums a measure sliced by channel or campaign (the deal-customer gap's
    deal reviews): at an earlier moment (``as_of``) its young rows are regenerated with those
    columns and its old ones read from the channel x campaign rollup, four times the rows of the
    store rollup the other KPIs read. Callers asking for both kinds as of a moment ask twice."""
    return bool(_campaign_columns(KPIS[name].measures))


def order_rollup(filters: Filters, grain: str = "total", *, weekly: bool = False) -> str:
    """The order rollup to read under ``filters`` at ``grain``: store x day (x week with ``weekly``),
    or also x channel x campaign when :func:`by_campaign`. At 10 million orders the store-level
    rollups hold about a quarter of the rows."""
    return (WEEKLY_TABLES if weekly else DAILY_TABLES)["day"] if by_campaign(filters, grain) \
        else (STORE_WEEKLY_TABLES if weekly else STORE_DAILY_TABLES)["day"]


def whole_weeks(filters: Filters) -> bool:
    """Whether the filter's dates are whole ISO weeks (Monday to Sunday) or open: the weekly
    rollups then give the same sums as the daily ones."""
    return ((filters.start is None or filters.start.isoweekday() == 1)
            and (filters.end is None or filters.end.isoweekday() == 7))


def hour_rollup(filters: Filters) -> str:
    """The redemptions-by-hour rollup to read under ``filters``: by week (``rollup_week_store_hour``)
    when the dates are :func:`whole_weeks`, else by day (``rollup_store_hour``). For sums over
    the filtered dates by store or hour of day, never by day or weekday."""
    return "rollup_week_store_hour" if whole_weeks(filters) else "rollup_store_hour"


def default_tables(filters: Filters, grain: str) -> dict[str, str]:
    """The weekly rollups when the dates are whole ISO weeks (or open) and no day is asked for;
    the store-level ones unless the query needs channels or campaigns (:func:`by_campaign`)."""
    full = by_campaign(filters, grain)
    if whole_weeks(filters) and grain != "day":
        return WEEKLY_TABLES if full else STORE_WEEKLY_TABLES
    return DAILY_TABLES if full else STORE_DAILY_TABLES


# order_facts columns that change as redemptions, reviews and refunds arrive, as they stood at
# the moment $as_of_cutoff (an order's reviews count once its first review is posted, its refunds
# once its first refund is made: orders with several reviews or refunds are rare)
_REDEEMED_BY = "coalesce(redeemed_at <= $as_of_cutoff, FALSE)"
_REVIEWED_BY = "coalesce(first_posted_at <= $as_of_cutoff, FALSE)"
_REFUNDED_BY = "coalesce(first_refunded_at <= $as_of_cutoff, FALSE)"
AS_OF_COLUMNS: dict[str, str] = {
    "is_redeemed": f"(is_redeemed AND {_REDEEMED_BY})",
    "redeemed_at": f"CASE WHEN {_REDEEMED_BY} THEN redeemed_at END",
    "hours_to_redeem": f"CASE WHEN {_REDEEMED_BY} THEN hours_to_redeem END",
    "wait_minutes": f"CASE WHEN {_REDEEMED_BY} THEN wait_minutes END",
    "service_minutes": f"CASE WHEN {_REDEEMED_BY} THEN service_minutes END",
    "extra_spend": f"CASE WHEN {_REDEEMED_BY} THEN extra_spend ELSE 0 END",
    "is_breakage": f"(is_paid AND NOT {_REDEEMED_BY} AND valid_until IS NOT NULL AND valid_until < $as_of_cutoff)",
    **{c: f"CASE WHEN {_REVIEWED_BY} THEN {c} ELSE 0 END"
       for c in ("count_reviews", "rating_sum", "count_positive", "count_complaints", "count_as_described",
                 "count_described_answered")},
    "min_rating": f"CASE WHEN {_REVIEWED_BY} THEN min_rating END",
    "has_refund": f"(has_refund AND {_REFUNDED_BY})",
    "refund_amount": f"CASE WHEN {_REFUNDED_BY} THEN refund_amount ELSE 0 END",
}
# the AS_OF_COLUMNS that are their column once a moment was reached, else NULL: a median skips
# NULLs, so over the as-of rows it is the stored column's median over the rows that reached it
_AS_OF_REACHED = {"hours_to_redeem": _REDEEMED_BY, "wait_minutes": _REDEEMED_BY, "service_minutes": _REDEEMED_BY,
                  "redeemed_at": _REDEEMED_BY, "min_rating": _REVIEWED_BY}


def _as_of_medians(kpis: Sequence[Kpi], filters: Filters) -> tuple[str, str] | None:
    """(the median KPIs' aggregates, the rows they read) as of ``$as_of_cutoff``, straight from
    ``order_facts``: the reached-moment test goes in each median's FILTER instead of a CASE per
    column on every row of the period (which made the as-of median twice as slow as the plain
    one). The same rows and values as :func:`as_of_tables`' ``facts``; None when a median's
    column is an as-of column of another form (0 until the moment, say): the as-of rows are
    read then."""
    medians = [k for k in kpis if k.kind == "median"]
    if any(k.column in AS_OF_COLUMNS and k.column not in _AS_OF_REACHED for k in medians):
        return None
    selects = []
    for k in medians:
        conditions = []
        if k.where:
            conditions.append(f"({_as_of_expression(k.where)})")
        if k.column in _AS_OF_REACHED:
            conditions.append(_AS_OF_REACHED[k.column])
        aggregate = f"median({k.column})" + (f" FILTER (WHERE {' AND '.join(conditions)})" if conditions else "")
        selects.append(f"{aggregate} AS {k.name}")
    rows = f"(SELECT * FROM order_facts WHERE {filters.where_sql('facts')} AND ordered_at <= $as_of_cutoff)"
    return ",\n    ".join(selects), rows


def _as_of_expression(sql: str) -> str:
    """``sql`` (over order_facts' columns) with each column of :data:`AS_OF_COLUMNS` replaced by
    its value as of ``$as_of_cutoff``."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, AS_OF_COLUMNS)) + r")\b")
    return pattern.sub(lambda m: f"({AS_OF_COLUMNS[m.group(1)]})", sql)


_ROLLUP_KEYS = ("date", "store_id", "city", "district", "region", "category", "channel", "campaign_id",
                "campaign_kind")


def _as_of_keys(filters: Filters, grain: str, sources: set[str], sliced_by: Sequence[str] = ()) -> list[str]:
    """The rollup key columns a query at ``grain`` under ``filters`` reads from the ``day`` table:
    the date, the grain's keys, the filtered dimensions (and the user's scope), and ``store_id``
    for the symmetry index (weighted per store). Regenerating the young rows grouped by only these
    (not all nine) made the overview's equal-age comparisons 5× cheaper at 10 million orders: the
    week's ~100,000 orders fell into 50,000 groups of every key."""
    need = {"date"} | {expr for _, expr in GRAINS[grain] if expr in _ROLLUP_KEYS}
    need |= {column for field, column in TARGETS["rollup"]["dims"].items() if getattr(filters, field)}
    if filters.scope_stores is not None:
        need.add("store_id")
    if filters.scope_regions is not None:
        need.add("region")
    if "sym" in sources:
        need.add("store_id")
    need |= set(sliced_by)   # the columns a sliced measure's sum filters on
    return [k for k in _ROLLUP_KEYS if k in need]


def as_of_tables(filters: Filters, keys: Sequence[str] = _ROLLUP_KEYS) -> dict[str, str]:
    """Tables for :func:`kpi_sql` holding the filtered orders as they stood at ``$as_of_cutoff``:
    ``facts`` = the orders placed by then, with :data:`AS_OF_COLUMNS` replaced; ``day`` = the
    order rollup's rows (its key columns ``keys`` only: see :func:`_as_of_keys`) for orders older
    than the maturity horizon (``$as_of_mature``: their redemptions, reviews and refunds were in
    by the cutoff, O2O_MATURITY_DAYS) and, for the younger ones, the same measure columns
    regenerated from ``facts`` (the generated columns of ``sql/rollups.sql``); ``costs`` = the
    costs booked by the cutoff's day. Only the last weeks before the cutoff are scanned order by
    order, however long the period."""
    facts = (f"(SELECT * EXCLUDE ({', '.join(AS_OF_COLUMNS)}), "
             + ", ".join(f"{expr} AS {col}" for col, expr in AS_OF_COLUMNS.items())
             + f" FROM order_facts WHERE {filters.where_sql('facts')} AND ordered_at <= $as_of_cutoff)")
    measures = [m.name for m in MEASURE_LIST if m.is_rollup_column]
    keys = list(keys)
    columns = ", ".join([*keys, *measures])
    young_keys = ["order_date" if k == "date" else k for k in keys]
    young = (f"SELECT {', '.join(f'{y} AS {k}' for y, k in zip(young_keys, keys))}, "
             f"{generated.rollup_measure_columns()} "
             f"FROM {facts} WHERE order_date >= $as_of_mature GROUP BY {', '.join(young_keys)}")
    rollup = DAILY_TABLES["day"] if set(keys) & set(_CAMPAIGN_KEYS) else STORE_DAILY_TABLES["day"]
    day = (f"(SELECT {columns} FROM {rollup} WHERE date < $as_of_mature "
           f"UNION ALL SELECT {columns} FROM ({young}))")
    costs = "(SELECT * FROM rollup_costs WHERE date <= CAST($as_of_cutoff AS DATE))"
    return {"day": day, "facts": facts, "costs": costs}


def kpi_sql(filters: Filters, grain: str, names: Sequence[str],
            tables: dict[str, str] | None = None, *, as_of: Any = None,
            stack: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """The single SQL statement computing ``names`` at ``grain`` under ``filters``.

    ``tables`` names the tables read for the order sums (``day``), costs (``costs``) and
    order-level figures (``facts``); by default :func:`default_tables`. Callers may pass copies
    with the same columns holding a subset of rows (the campaign page does). With ``as_of`` (a
    timestamp), the orders' redemptions, reviews and refunds count only when they happened by then
    (:func:`as_of_tables`): the period as it stood at that moment. With ``stack`` (grains of
    :data:`STACK_GRAINS`, ``grain`` then ignored), see :func:`compute_stacked`.
    """
    if stack:
        _check_stack(stack, names)
        grain = "total"
    kpis = [KPIS[n] for n in names]
    undefined = {k.name for k in kpis if grain in k.grains_without}
    sources = set().union(*(k.sources for k in kpis if k.name not in undefined)) | {"o"}
    measures = {m for k in kpis if k.name not in undefined for m in k.measures}   # only what is asked
    tables = {**default_tables(filters, grain), **(tables or {})}
    if as_of is not None:   # its young rows are regenerated without the slice columns: slice there
        sliced = [*_campaign_columns(measures), *(STACK_GRAINS[g] for g in stack)]
        tables |= as_of_tables(filters, _as_of_keys(filters, grain, sources, sliced))
    presliced = tables["day"] in (STORE_DAILY_TABLES["day"], STORE_WEEKLY_TABLES["day"])
    params: dict[str, Any] = {}
    if as_of is not None:
        cutoff = pd.Timestamp(as_of).to_pydatetime()
        params |= {"as_of_cutoff": cutoff,
                   "as_of_mature": cutoff.date() - dt.timedelta(days=config.get_int("O2O_MATURITY_DAYS"))}
    ctes: list[str] = []
    if stack:
        day = tables["day"]
        if as_of is not None:   # the young orders are regenerated once, not once per grain
            ctes.append(f"stack_day AS (SELECT * FROM {day} WHERE {filters.where_sql('rollup')})")
            day = "stack_day"
        tables = {**tables, "day": _stacked(day, stack), "costs": _stacked(tables["costs"], stack)}
    if as_of is not None and "sym" in sources:
        # the young orders' sums are read twice (``o`` and the symmetry index's ``st``): once, as a
        # CTE, filtered inside (a materialised CTE takes no filter from its readers)
        ctes.append(f"as_of_day AS (SELECT * FROM {tables['day']} WHERE {filters.where_sql('rollup')})")
        tables = {**tables, "day": "as_of_day"}
    k_o = _STACK_KEYS if stack else _keys(grain, "date")
    k_f = _keys(grain, "order_date")
    where_r = filters.where_sql("rollup")
    params |= filters.params("rollup")

    ctes.append(f"o AS (SELECT {_select_keys(k_o)}, \n    {generated.rollup_sums(measures, presliced=presliced)}\n  FROM {tables['day']} WHERE {where_r} {_group_by(k_o)} HAVING count(*) > 0)")
    groups = f"SELECT {', '.join(o for o, _ in k_o)} FROM o"
    if "k" in sources:
        ctes.append(f"""k AS (SELECT {_select_keys(k_o)},
    {generated.cost_sums(measures)}
  FROM {tables['costs']} WHERE {where_r} {_group_by(k_o)} HAVING count(*) > 0)""")
        non_null = [o for o, _ in k_o if o in _NON_NULL_KEYS]
        cond = " AND ".join(f"{o} IS NOT NULL" for o in non_null) or "TRUE"
        groups += f" UNION SELECT {', '.join(o for o, _ in k_o)} FROM k WHERE {cond}"
    if "f" in sources:
        medians = _as_of_medians(kpis, filters) if as_of is not None else None
        if medians is None:
            medians = (generated.median_selects(kpis), tables["facts"])
        ctes.append(f"""f AS (SELECT {_select_keys(k_f)},
    {medians[0]}
  FROM {medians[1]} WHERE {filters.where_sql('facts')} {_group_by(k_f)})""")
        params |= filters.params("facts")
    if "rep" in sources:
        ctes.append(_repeat_cte(filters, grain, k_f, tables["facts"]))
        params |= filters.params("facts")
    if "h" in sources:
        ctes.append(_capacity_cte(filters, grain, params))
    if "ins" in sources:
        params["inspection_pass_score"] = config.get_float("O2O_INSPECTION_PASS_SCORE")
        params |= filters.params("hours")
        ctes.append(f"""ins AS (SELECT {_select_keys(k_o)},
    {generated.inspection_sums(measures)}
  FROM (SELECT *, coalesce(passed, score >= $inspection_pass_score, violations_critical = 0) AS is_passed
        FROM inspection_facts) WHERE {filters.where_sql('hours')} GROUP BY {', '.join(e for _, e in k_o)})""")
    if "ev" in sources:
        event_sums = generated.event_sums(measures)
        if "$coupon_redeem_hours" in event_sums:
            params["coupon_redeem_hours"] = 24 * config.get_float("O2O_COUPON_REDEEM_DAYS")
        ctes.append(f"""ev AS (SELECT {_select_keys(k_o)},
    {event_sums}
  FROM event_facts WHERE {where_r} GROUP BY {', '.join(e for _, e in k_o)})""")
        non_null = [o for o, _ in k_o if o in _NON_NULL_KEYS]
        cond = " AND ".join(f"{o} IS NOT NULL" for o in non_null) or "TRUE"
        groups += f" UNION SELECT {', '.join(o for o, _ in k_o)} FROM ev WHERE {cond}"
    if "sym" in sources:
        k_st = k_o if grain == "store" else [*k_o, ("store_id", "store_id")]
        ctes.append(f"""st AS (SELECT {_select_keys(k_st)},
    {symmetry_index.shrunk_sums_sql()}
  FROM {tables['day']} WHERE {where_r} {_group_by(k_st)})""")
        # a store with fewer reviews than the floor has no index (it would be the prior alone)
        params["min_reviews"] = config.get_int("O2O_MIN_REVIEWS")
        ctes.append(f"""sym AS (SELECT {', '.join('st.' + o for o, _ in k_o)},
    sum(idx * st.count_redemptions) / NULLIF(sum(st.count_redemptions) FILTER (WHERE idx IS NOT NULL), 0) AS symmetry_index
  FROM (SELECT st.*, {symmetry_index.evidenced_score_sql()} AS idx FROM st JOIN stores s USING (store_id)) st
  {_group_by([(o, 'st.' + o) for o, _ in k_o])})""")
    ctes.append(f"g AS ({groups})")

    joins = ["LEFT JOIN o ON " + _join_on("g", "o", k_o)]
    for name in ("k", "f", "rep", "h", "ins", "ev", "sym"):
        if name in sources:
            joins.append(f"LEFT JOIN {name} ON " + _join_on("g", name, k_o))
    select = [f"g.{o}" for o, _ in k_o] + [
        f"{'NULL' if k.name in undefined else k.sql} AS {k.name}" for k in kpis]
    order = ", ".join(f"g.{o}" for o, _ in k_o)
    sql = ("WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(select)
           + "\nFROM g\n" + "\n".join(joins) + f"\nORDER BY {order} NULLS LAST")
    return sql, params


# Several grains in one query (:func:`compute_stacked`): grain -> its key column in the rollups
STACK_GRAINS = {"city": "city", "category": "category", "store": "store_id"}
_STACK_KEYS = [("grain", "grain"), ("grp", "grp")]
_STACK_SOURCES = {"o", "k", "sym"}


def _check_stack(stack: Sequence[str], names: Sequence[str]) -> None:
    unknown = [g for g in stack if g not in STACK_GRAINS]
    if unknown:
        raise ValueError(f"Cannot stack grain(s) {', '.join(unknown)}; choose among {', '.join(STACK_GRAINS)}.")
    for name in names:
        kpi = KPIS[name]
        if not kpi.sources <= _STACK_SOURCES or set(stack) & set(kpi.grains_without):
            raise ValueError(f"KPI {name!r} cannot be computed stacked (it reads {', '.join(sorted(kpi.sources))}).")


def stackable(names: Iterable[str], grains: Sequence[str]) -> bool:
    """Whether :func:`compute_stacked` can compute ``names`` at ``grains``: KPIs summed from the
    order rollup and the costs (and the symmetry index), which read the grains' key columns there."""
    try:
        _check_stack(grains, list(names))
    except ValueError:
        return False
    return True


def _stacked(table: str, stack: Sequence[str]) -> str:
    """``table``'s rows once per grain of ``stack``, keyed by ``grain`` (its name) and ``grp``
    (the row's group at that grain): grouping by (grain, grp) gives each grain's groups."""
    parts = [f"SELECT '{g}' AS grain, stk.{STACK_GRAINS[g]} AS grp, stk.* FROM {table} stk" for g in stack]
    return "(" + " UNION ALL ".join(parts) + ")"


def compute_stacked(con: duckdb.DuckDBPyConnection, filters: Filters, grains: Sequence[str],
                    names: Iterable[str], *, as_of: Any = None, honest: bool = True) -> pd.DataFrame:
    """KPIs ``names`` at each grain of ``grains`` (``city``, ``category``, ``store``) in one query:
    one row per grain and group (columns ``grain``, ``grp``, then the KPIs), each grain's rows
    the ones ``compute(con, filters, grain, names, as_of=as_of)`` gives (without the store's or
    campaign's descriptive columns). The rollups (or, with ``as_of``, the regenerated young
    orders) are read once for every grain. Only for :func:`stackable` KPIs."""
    names = list(names)
    extra = ["reviews"] if honest and "reviews" not in names and any(KPIS[n].evidence for n in names) else []
    sql, params = kpi_sql(filters, "total", names + extra, as_of=as_of, stack=tuple(grains))
    df = db.run(con, sql, params)
    if honest and not df.empty:
        df = withhold(con, df, filters, "total", names)
    return df.drop(columns=extra)


# For each grain that is a span of dates: the first and last day of a row's group.
_PERIOD_BOUNDS = {
    "total": ("$f_start", "$f_end"),
    "week": ("CAST(date_trunc('week', order_date) AS DATE)", "CAST(date_trunc('week', order_date) AS DATE) + 6"),
    "day": ("order_date", "order_date"),
}


def _repeat_cte(filters: Filters, grain: str, k_f: list[tuple[str, str]], facts: str) -> str:
    """Customers with an order, and with 2+ orders, per group.

    When the groups are spans of dates and only dates are filtered, each customer is counted
    from their orders' neighbours in their own history (order_facts.prev/next_customer_order_date):
    a customer has an order in a span once, at the order whose previous order falls before the
    span, and 2+ orders once, at the last order in the span that has a previous one inside it.
    That is one filtered scan instead of grouping millions of customers. Any other filter changes
    which orders are the neighbours, so it falls back to grouping by customer.
    """
    keys = ", ".join(o for o, _ in k_f)
    only_dates = filters == Filters(start=filters.start, end=filters.end)
    if grain in _PERIOD_BOUNDS and only_dates:
        first, last = _PERIOD_BOUNDS[grain]
        if grain == "total":
            first = first if filters.start else "DATE '0001-01-01'"
            last = last if filters.end else "DATE '9999-12-31'"
        elif grain == "week":  # a week cut by the date filter counts only its filtered days
            first = f"greatest({first}, $f_start)" if filters.start else first
            last = f"least({last}, $f_end)" if filters.end else last
        return f"""rep AS (SELECT {_select_keys(k_f)},
    count(*) FILTER (WHERE prev_customer_order_date IS NULL OR prev_customer_order_date < {first}) AS customers,
    count(*) FILTER (WHERE prev_customer_order_date >= {first}
                       AND (next_customer_order_date IS NULL OR next_customer_order_date > {last})) AS repeat_customers
  FROM {facts} WHERE {filters.where_sql('facts')} {_group_by(k_f)})"""
    per_customer = [(o, o) for o, _ in k_f]   # the inner query's output columns
    return f"""rep AS (SELECT {keys},
    count(*) AS customers, count(*) FILTER (WHERE n_orders >= 2) AS repeat_customers
  FROM (SELECT {_select_keys(k_f)}, customer_id, count(*) AS n_orders
        FROM {facts} WHERE {filters.where_sql('facts')} {_group_by(k_f, 'customer_id')}) per_customer
  {_group_by(per_customer)})"""


def open_hours_per_day() -> float:
    """The open hours per day capacity assumes for a store without opening hours (setting
    O2O_OPEN_HOURS_PER_DAY)."""
    return config.get_float("O2O_OPEN_HOURS_PER_DAY")


def iso_weekday_sql(date_sql: str) -> str:
    """The ISO weekday (Monday = 1 .. Sunday = 7) of a DATE expression, written without
    ``isodow()`` so that other engines read it too: 1900-01-01 was a Monday."""
    return f"(date_diff('day', DATE '1900-01-01', {date_sql}) % 7 + 1)"


def capacity_calendar_cte(filters: Filters, grain: str, params: dict[str, Any], *,
                          keys: list[tuple[str, str]] | None = None, by_hour: bool = False,
                          by_store_week: bool = False, name: str = "cap") -> str:
    """``name AS (...)``: the capacity of each group at ``grain`` over the capacity calendar.

    The calendar is the filter's dates, else the span of the data. A store's capacity of a day is
    ``capacity_per_hour x`` its open hours that day: from its opening hours (the optional table
    ``store_hours``, read through ``store_weekday_hours``; 0 on a weekday it is closed) when it has
    any, else the setting ``O2O_OPEN_HOURS_PER_DAY``. Summed over the filtered stores with a
    capacity. ``keys`` ((output, expression) pairs over ``cal.date`` and the store's columns)
    replace the grain's keys (a store x week calendar, say). With ``by_hour`` (grain ``total``
    only) one row per hour of day (column ``hour``): ``capacity_per_hour x`` the days of the
    calendar on which the store is open in that hour (the share of the hour it is open; every day
    for a store without opening hours). With ``by_store_week`` one row per store and ISO week
    of the calendar (columns ``store_id``, ``week_start``). The one calendar of capacity
    utilisation (the KPI), the capacity-by-store and the capacity-by-hour views.
    """
    params |= filters.params("stores")
    params |= {k: v for k, v in (("f_start", filters.start), ("f_end", filters.end)) if v}
    start = "$f_start" if filters.start else "(SELECT min(date) FROM rollup_day_store_channel_campaign)"
    end = "$f_end" if filters.end else "(SELECT max(date) FROM rollup_day_store_channel_campaign)"
    # the days: unnest(generate_series()) alone in a select list and cast outside it (Spark's
    # explode(sequence()) cannot sit inside a CAST); a backwards span gives no day on both engines
    days = (f"SELECT CAST(day AS DATE) AS date FROM (SELECT unnest(generate_series(CAST({start} AS DATE), "
            f"CAST({end} AS DATE), INTERVAL 1 DAY)) AS day WHERE CAST({start} AS DATE) <= CAST({end} AS DATE)) days")
    stores = f"""SELECT * FROM (SELECT store_id, city, coalesce(district, '') AS district, coalesce(region, '') AS region,
                          category, capacity_per_hour FROM stores) st
              WHERE capacity_per_hour IS NOT NULL AND {filters.where_sql('stores')}"""
    weekdays = (f"SELECT {iso_weekday_sql('d.date')} AS iso_weekday, count(*) AS n_days FROM ({days}) d "
                f"GROUP BY {iso_weekday_sql('d.date')}")
    if by_hour:
        if grain != "total" or keys:
            raise ValueError("The capacity calendar by hour of day is defined for the total only.")
        # store_hour_open holds all 7 x 24 hours of every store with opening hours, so an hour's
        # capacity on a weekday is the stores without hours (open all day: their capacity summed
        # once) plus each store with hours times its open share: 7 x 24 rows, not stores x 7 x 24
        return f"""{name} AS (SELECT hh.hour, sum(w.n_days * (all_day.capacity_per_hour + coalesce(o.capacity_per_hour, 0))) AS capacity_hours
  FROM ({weekdays}) w
  CROSS JOIN (SELECT CAST(h AS INTEGER) AS hour FROM (SELECT unnest(generate_series(0, 23)) AS h) hs) hh
  CROSS JOIN (SELECT coalesce(sum(s.capacity_per_hour), 0) AS capacity_per_hour FROM ({stores}) s
              LEFT JOIN (SELECT DISTINCT store_id FROM store_weekday_hours) wh ON wh.store_id = s.store_id
              WHERE wh.store_id IS NULL) all_day
  LEFT JOIN (SELECT o.iso_weekday, o.hour, sum(s.capacity_per_hour * o.open_share) AS capacity_per_hour
             FROM ({stores}) s JOIN store_hour_open o ON o.store_id = s.store_id
             GROUP BY o.iso_weekday, o.hour) o ON o.iso_weekday = w.iso_weekday AND o.hour = hh.hour
  GROUP BY hh.hour)"""
    params["open_hours"] = open_hours_per_day()
    if by_store_week:
        # the calendar's days of a week are a run of weekdays (all seven but at its two ends):
        # each store's capacity is summed once per run, stores x 7 x (at most 3 runs) rows, and
        # each week takes its run's, instead of stores x days rows
        week = "CAST(date_trunc('week', d.date) AS DATE)"
        weeks = (f"SELECT {week} AS week_start, min({iso_weekday_sql('d.date')}) AS first_weekday, "
                 f"max({iso_weekday_sql('d.date')}) AS last_weekday FROM ({days}) d GROUP BY {week}")
        return f"""{name} AS (SELECT run.store_id, wk.week_start, run.capacity_hours
  FROM ({weeks}) wk
  JOIN (SELECT s.store_id, r.first_weekday, r.last_weekday,
               sum(s.capacity_per_hour * coalesce(w.open_hours, $open_hours)) AS capacity_hours
        FROM (SELECT DISTINCT first_weekday, last_weekday FROM ({weeks}) x) r
        JOIN (SELECT CAST(i AS INTEGER) AS iso_weekday FROM (SELECT unnest(generate_series(1, 7)) AS i) t) wd
          ON wd.iso_weekday >= r.first_weekday AND wd.iso_weekday <= r.last_weekday
        CROSS JOIN ({stores}) s
        LEFT JOIN store_weekday_hours w ON w.store_id = s.store_id AND w.iso_weekday = wd.iso_weekday
        GROUP BY s.store_id, r.first_weekday, r.last_weekday) run
    ON run.first_weekday = wk.first_weekday AND run.last_weekday = wk.last_weekday)"""
    k_cal = keys or _keys(grain, "cal.date")
    if not any("cal.date" in expr for _, expr in k_cal):
        # groups that are no span of days (total, store, city...): each store's weekdays counted
        # over the calendar, stores x 7 rows instead of stores x days
        return f"""{name} AS (SELECT {', '.join(f'{e} AS {o}' for o, e in k_cal)},
    sum(cal.capacity_per_hour * cal.open_hours * cal.n_days) AS capacity_hours
  FROM (SELECT wd.n_days, s.*, coalesce(w.open_hours, $open_hours) AS open_hours
        FROM ({weekdays}) wd
        CROSS JOIN ({stores}) s
        LEFT JOIN store_weekday_hours w ON w.store_id = s.store_id AND w.iso_weekday = wd.iso_weekday) cal
  {_group_by(k_cal)})"""
    return f"""{name} AS (SELECT {', '.join(f'{e} AS {o}' for o, e in k_cal)},
    sum(cal.capacity_per_hour * cal.open_hours) AS capacity_hours
  FROM (SELECT d.date, s.*, coalesce(w.open_hours, $open_hours) AS open_hours
        FROM ({days}) d
        CROSS JOIN ({stores}) s
        LEFT JOIN store_weekday_hours w ON w.store_id = s.store_id AND w.iso_weekday = {iso_weekday_sql('d.date')}) cal
  {_group_by(k_cal)})"""


def _capacity_cte(filters: Filters, grain: str, params: dict[str, Any]) -> str:
    """Redemptions per group (by redemption time) and the capacity hours of the same group."""
    k_h = _keys(grain, "date")
    params |= filters.params("hours")
    return f"""hr AS (SELECT {_select_keys(k_h)}, sum(count_redemptions) AS util_redemptions
  FROM {hour_rollup(filters) if grain != "day" else "rollup_store_hour"} WHERE {filters.where_sql('hours')}
    AND store_id IN (SELECT store_id FROM stores WHERE capacity_per_hour IS NOT NULL) {_group_by(k_h)}),
{capacity_calendar_cte(filters, grain, params)},
h AS (SELECT {', '.join('cap.' + o for o, _ in k_h)}, coalesce(hr.util_redemptions, 0) AS util_redemptions,
    cap.capacity_hours
  FROM cap LEFT JOIN hr ON {_join_on('cap', 'hr', k_h)})"""


def row_periods(df: pd.DataFrame, filters: Filters, by: str) -> list[tuple[Any, Any]]:
    """Each row's period (first and last order date) under ``filters``: its week or day within
    the filter's dates at those grains, the filter's dates at every other grain."""
    if by == "week" and "week_start" in df:
        starts = [pd.Timestamp(d).date() for d in df["week_start"]]
        return [(max(s, filters.start) if filters.start else s,
                 min(s + dt.timedelta(days=6), filters.end) if filters.end else s + dt.timedelta(days=6))
                for s in starts]
    if by == "day" and "day" in df:
        return [(pd.Timestamp(d).date(),) * 2 for d in df["day"]]
    return [(filters.start, filters.end)] * len(df)


def notes(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, filters: Filters, by: str,
          names: Iterable[str]) -> list[dict[str, str]]:
    """Per row of a :func:`compute` frame: KPI -> why it is blank, for the KPIs of ``names`` that
    are not provided (inputs not covered over the row's period, :mod:`o2o_ops.coverage`) or lack
    evidence (``too few reviews (2)``, when the frame has ``reviews``)."""
    from o2o_ops import coverage
    cov = coverage.of(con, filters)
    out: list[dict[str, str]] = []
    cache: dict[tuple, str | None] = {}
    periods = row_periods(df, filters, by)
    for i, (start, end) in enumerate(periods):
        row: dict[str, str] = {}
        for name in names:
            key = (name, start, end)
            if key not in cache:
                cache[key] = cov.reason(name, start, end)
            why = cache[key]
            if why is None and KPIS[name].evidence and "reviews" in df:
                why = coverage.evidence_reason(name, df["reviews"].iloc[i])
            if why:
                row[name] = why
        out.append(row)
    return out


def withhold(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, filters: Filters, by: str,
             names: Iterable[str]) -> pd.DataFrame:
    """``df`` with every value :func:`notes` explains blanked (NaN): a KPI the warehouse does not
    provide for a row's period, or judged on fewer reviews than the floor, is never a number."""
    from o2o_ops import coverage
    names = [n for n in names if n in df]
    cov = coverage.of(con, filters)
    periods = row_periods(df, filters, by)
    distinct = list(dict.fromkeys(periods))
    rows_of = {p: np.array([q == p for q in periods]) for p in distinct} if len(distinct) > 1 else None
    few = None
    if "reviews" in df and any(KPIS[n].evidence for n in names):
        few = (pd.to_numeric(df["reviews"], errors="coerce").fillna(0) < config.get_int("O2O_MIN_REVIEWS")).to_numpy()
    blanked: dict[str, np.ndarray] = {}
    for name in names:
        blank = np.zeros(len(df), dtype=bool)
        for period in distinct:
            if cov.reason(name, *period):
                blank = blank | (rows_of[period] if rows_of is not None else True)
        if KPIS[name].evidence and few is not None:
            blank = blank | few
        if blank.any():
            blanked[name] = blank
    if not blanked:
        return df
    out = df.copy()
    for name, blank in blanked.items():
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64").mask(blank)
    return out


def compute(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    by: str = "total",
    names: Iterable[str] | None = None,
    *,
    as_of: Any = None,
    honest: bool = True,
) -> pd.DataFrame:
    """KPIs ``names`` (default: all) at grain ``by``, one row per group.

    Group keys come first (``total``, ``week_start``, ``store_id``, ...); store and campaign
    grains also carry the store's / campaign's descriptive columns; the week grain carries
    ``iso_week`` (e.g. ``2026-W47``).

    A KPI the warehouse does not provide over a row's period, or that is judged on fewer reviews
    than the floor (``O2O_MIN_REVIEWS``), is NaN there (:func:`withhold`; :func:`notes` says why);
    ``honest=False`` returns the raw values (for tests that compare SQL with SQL). ``as_of``: the
    period as it stood at that moment (see :func:`kpi_sql`).
    """
    names = list(names) if names is not None else list(KPIS)
    unknown = [n for n in names if n not in KPIS]
    if unknown:
        raise ValueError(f"Unknown KPI(s): {', '.join(unknown)}.")
    # the review count judges the evidence floor; asked for when an evidence KPI is
    extra = ["reviews"] if honest and "reviews" not in names and any(KPIS[n].evidence for n in names) else []
    sql, params = kpi_sql(filters, by, names + extra, as_of=as_of)
    if by == "store":
        # the store's columns joined in the same query (a second query and a pandas merge cost
        # 5 ms per store table, three of them on the symmetry page)
        sql = f"""SELECT k.*, s.name AS store_name, s.city AS store_city, s.category AS store_category,
       s.listed_rating, s.listed_wait_minutes, s.lat, s.lon
FROM ({sql}) k LEFT JOIN stores s ON s.store_id = k.store_id
ORDER BY k.store_id NULLS LAST"""
    df = db.run(con, sql, params)
    if honest and not df.empty:
        df = withhold(con, df, filters, by, names)
    df = df.drop(columns=extra)
    if by == "week" and not df.empty:
        df.insert(1, "iso_week", pd.to_datetime(df["week_start"]).dt.strftime("%G-W%V"))
    if by == "campaign" and not df.empty:
        camps = db.run(con, "SELECT campaign_id, name AS campaign_name, kind AS campaign_kind_, channel AS campaign_channel, "
                            "start_date, end_date, budget, discount_rate FROM campaigns")
        df = df.merge(camps, on="campaign_id", how="left")
    return df


def week_over_week(weekly: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """Add ``<kpi>_prev`` and ``<kpi>_change`` (value − previous week's) to a by-week frame."""
    out = weekly.sort_values("week_start").reset_index(drop=True)
    for name in names:
        out[f"{name}_prev"] = out[name].shift(1)
        out[f"{name}_change"] = out[name] - out[f"{name}_prev"]
    return out


def is_good_change(name: str, change: float | None) -> bool | None:
    """Whether a change in KPI ``name`` is good news (None when neutral or unknown)."""
    kpi = KPIS[name]
    if units.is_missing(change) or change == 0:
        return None
    if kpi.higher_is_better is None:
        return None
    return (change > 0) == kpi.higher_is_better


# ------------------------------------------------------------------------------------------
# Formatting (the units' one formatter, in a KPI's unit)
# ------------------------------------------------------------------------------------------

def format_value(value: Any, unit: str, currency: str | None = None) -> str:
    """A KPI value as people read it: ``¥12,340``, ``84.2%``, ``4.31 ★``, ``12.5 min``; ``—`` if undefined."""
    return units.format_value(value, unit, currency)


def format_change(name: str, change: Any) -> str:
    """A week-over-week change in KPI ``name``'s own unit, signed, as a sentence writes it:
    ``+3.1 pp``, ``−¥1,200`` (:func:`o2o_ops.units.format_change`)."""
    return units.format_change(change, KPIS[name].unit)
