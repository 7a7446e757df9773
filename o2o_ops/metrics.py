"""The KPI registry: every KPI's name, label, formula, unit and SQL, and the one function that
computes any set of them at any grain.

Every page, report, command and test reads :data:`KPIS`. A KPI's ``sql`` is an expression over
the pre-summed columns of one query (see :func:`kpi_sql`); a ratio is always
``sum(numerator) / sum(denominator)`` over the filtered rows, and NULL (never 0) when the
denominator is zero.

Where the numbers come from:
- ``rollup_store_day`` (order date x store x channel x campaign) for everything additive;
- ``order_facts`` (one row per order) for what cannot be pre-summed: the median time to redeem
  and distinct/repeat customers;
- ``rollup_costs`` for marketing, staff and other costs (campaign costs spread to the
  campaign's stores by their share of its paid orders);
- ``rollup_store_hour`` and ``stores`` for capacity utilisation.

Symmetry index (0-100 per store, higher = what customers get matches what was promised).
Four components, each scored 0-1, shrunk towards "no evidence of a gap" so that a store with
a handful of reviews cannot swing to an extreme (empirical-Bayes style: K pseudo-observations at
the prior are added to the store's own):

- rating (weight 0.35): gap = listed rating - actual mean rating, shrunk by n/(n+10)
  (n = reviews); score = 1 - min(1, max(gap,0)/1.5 + max(-gap,0)/4.5). Over-promising by 1.5
  stars scores 0; under-promising is penalised a third as hard (a mismatch, but not a broken
  promise).
- wait (0.25): gap = mean(wait - promised wait), shrunk by n/(n+10) (n = recorded waits);
  score = 1 - min(1, max(gap,0)/20). Twenty minutes over the promise scores 0.
- as described (0.25): rate = (yes + 10 x 0.9)/(answered + 10); score = clamp((rate-0.5)/0.5).
- complaints (0.15): rate = (complaints + 20 x 0.03)/(redemptions + 20);
  score = 1 - min(1, rate/0.2).

A component whose promise is missing (no listed rating, no promised wait) is left out and the
weights of the others are renormalised. A store with no redemptions in the period has no index.
Above store grain (total, week, city, ...) the index is the mean of the store indices weighted
by each store's redemptions in the group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import duckdb
import pandas as pd

from o2o_ops import config, db
from o2o_ops.filters import Filters

# ------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    description: str          # the exact formula and grain, shown in the app and the report
    unit: str                 # count | currency | percent | hours | minutes | stars | star_gap | score | ratio
    higher_is_better: bool | None
    area: str                 # volume | quality | cost | efficiency | symmetry
    sql: str                  # expression over the summed columns of kpi_sql()
    sources: frozenset[str]   # which CTEs it needs: o, k, f, rep, h, sym

    def format(self, value: Any, currency: str | None = None) -> str:
        return format_value(value, self.unit, currency)


def _k(name, label, description, unit, higher, area, sql, sources="o") -> Kpi:
    return Kpi(name, label, description, unit, higher, area, sql, frozenset(sources.split(",")))


def _ratio(num: str, den: str) -> str:
    return f"CAST({num} AS DOUBLE) / NULLIF({den}, 0)"


CASH_COST = "(coalesce(o.platform_fee, 0) + coalesce(k.marketing, 0) + coalesce(k.staff, 0) + coalesce(k.other_cost, 0))"
PROMO_COST = "(coalesce(o.discount_amount, 0) + coalesce(o.platform_fee, 0) + coalesce(k.marketing, 0) + coalesce(k.staff, 0))"
NET_REVENUE = "(coalesce(o.paid_amount, 0) - coalesce(o.refund_amount, 0) + coalesce(o.extra_spend, 0))"

KPI_LIST: tuple[Kpi, ...] = (
    # volume
    _k("orders", "Orders", "Count of online orders (any status) placed in the period, by ordered_at.",
       "count", True, "volume", "coalesce(o.count_orders, 0)"),
    _k("paid_orders", "Paid orders", "Orders whose status is not cancelled (refunded and expired orders were paid).",
       "count", True, "volume", "coalesce(o.count_paid, 0)"),
    _k("revenue", "Revenue", "Sum of paid_amount over paid orders placed in the period.",
       "currency", True, "volume", "coalesce(o.paid_amount, 0)"),
    _k("net_revenue", "Net revenue", "Paid amount − refunds + in-store extra spend, over paid orders placed in the period.",
       "currency", True, "volume", NET_REVENUE),
    _k("new_customers", "New customers", "Customers whose first-ever order was placed in the period.",
       "count", True, "volume", "coalesce(o.count_new_customers, 0)"),
    _k("redemptions", "Redemptions", "Orders placed in the period that were redeemed in a store.",
       "count", True, "volume", "coalesce(o.count_redemptions, 0)"),
    # efficiency
    _k("redemption_rate", "Redemption rate", "Paid orders with a redemption / paid orders.",
       "percent", True, "efficiency", _ratio("o.count_redeemed", "o.count_paid")),
    _k("time_to_redeem_hours", "Time to redeem", "Median hours from ordered_at to redeemed_at over redeemed paid orders.",
       "hours", False, "efficiency", "f.time_to_redeem_hours", "f"),
    _k("breakage_orders", "Breakage (orders)", "Paid orders past valid_until (as of the latest order in the warehouse) never redeemed.",
       "count", False, "efficiency", "coalesce(o.count_breakage, 0)"),
    _k("breakage_value", "Breakage (value)", "Sum of paid_amount of breakage orders.",
       "currency", False, "efficiency", "coalesce(o.breakage_amount, 0)"),
    _k("capacity_utilisation", "Capacity utilisation",
       "Redemptions in the period (by redeemed_at) / (capacity_per_hour × open hours per day × days) summed over the "
       "filtered stores. Open hours per day is the setting O2O_OPEN_HOURS_PER_DAY. Not defined per channel or campaign.",
       "percent", None, "efficiency", _ratio("coalesce(h.util_redemptions, 0)", "h.capacity_hours"), "h"),
    # quality
    _k("reviews", "Reviews", "Reviews of orders placed in the period.", "count", True, "quality",
       "coalesce(o.count_reviews, 0)"),
    _k("avg_rating", "Average rating", "Mean review rating (1–5) over reviews of orders placed in the period.",
       "stars", True, "quality", _ratio("o.rating_sum", "o.count_reviews")),
    _k("positive_share", "Positive share", "Reviews with rating ≥ 4 / reviews.",
       "percent", True, "quality", _ratio("o.count_positive", "o.count_reviews")),
    _k("complaint_rate", "Complaint rate", "Reviews with a complaint category / redemptions.",
       "percent", False, "quality", _ratio("o.count_complaints", "o.count_redemptions")),
    _k("refund_rate", "Refund rate", "Paid orders with at least one refund / paid orders.",
       "percent", False, "quality", _ratio("o.count_refunded", "o.count_paid")),
    _k("sla_attainment", "SLA attainment",
       "Redemptions with wait_minutes ≤ the store's listed_wait_minutes / redemptions with a wait recorded (and a promised wait).",
       "percent", True, "quality", _ratio("o.count_sla_met", "o.count_waits")),
    _k("repeat_rate", "Repeat rate", "Customers with 2+ orders in the period / customers with an order in the period.",
       "percent", True, "quality", _ratio("rep.repeat_customers", "rep.customers"), "rep"),
    # cost
    _k("discount_cost", "Discount cost", "Sum of discount_amount over paid orders.", "currency", False, "cost",
       "coalesce(o.discount_amount, 0)"),
    _k("platform_fees", "Platform fees", "Sum of platform_fee over paid orders.", "currency", False, "cost",
       "coalesce(o.platform_fee, 0)"),
    _k("marketing_spend", "Marketing spend", "Sum of costs of type marketing (campaign costs spread over the campaign's stores).",
       "currency", False, "cost", "coalesce(k.marketing, 0)", "k"),
    _k("staff_cost", "Staff cost", "Sum of costs of type staff.", "currency", False, "cost", "coalesce(k.staff, 0)", "k"),
    _k("other_costs", "Other costs", "Sum of costs of every other type (rent, other).", "currency", False, "cost",
       "coalesce(k.other_cost, 0)", "k"),
    _k("cost_per_redemption", "Cost per redemption", "(discount cost + platform fees + marketing spend + staff cost) / redemptions.",
       "currency", False, "cost", _ratio(PROMO_COST, "o.count_redemptions"), "o,k"),
    _k("cac", "Customer acquisition cost",
       "Marketing spend booked to campaigns / customers whose first-ever order came through a campaign, in the period.",
       "currency", False, "cost", _ratio("k.campaign_marketing", "o.count_new_campaign_customers"), "o,k"),
    _k("roi", "ROI",
       "(net revenue − cost) / cost; net revenue = paid − refunds + extra spend; cost = platform fees + marketing + staff "
       "+ other costs. Discounts are not added to cost because paid_amount is already net of them.",
       "ratio", True, "cost", _ratio(f"({NET_REVENUE} - {CASH_COST})", CASH_COST), "o,k"),
    # symmetry
    _k("rating_gap", "Rating gap", "Listed (online) rating − actual review rating, review-weighted; positive = over-promised. "
       "Stores without a listed rating are left out.", "star_gap", False, "symmetry",
       f"{_ratio('o.listed_rating_sum', 'o.count_reviews_listed')} - {_ratio('o.rating_sum_listed', 'o.count_reviews_listed')}"),
    _k("wait_gap_minutes", "Wait gap", "Mean of (wait_minutes − listed_wait_minutes) over redemptions with both; positive = longer than promised.",
       "minutes", False, "symmetry", _ratio("o.wait_gap_sum", "o.count_waits")),
    _k("as_described_rate", "As-described rate", "Reviews answering as_described = true / reviews that answered.",
       "percent", True, "symmetry", _ratio("o.count_as_described", "o.count_described_answered")),
    _k("deal_customer_gap", "Deal-customer gap", "Average rating of campaign orders − average rating of full-price orders.",
       "star_gap", None, "symmetry",
       f"{_ratio('o.deal_rating_sum', 'o.deal_reviews')} - {_ratio('o.full_rating_sum', 'o.full_reviews')}"),
    _k("symmetry_index", "Symmetry index",
       "0–100 per store: 35% rating gap, 25% wait gap, 25% as-described rate, 15% complaint rate, each shrunk towards "
       "no gap (10 pseudo-reviews/waits/answers, 20 pseudo-redemptions); above store grain, the redemption-weighted "
       "mean of store indices. See o2o_ops.metrics for the exact scoring.",
       "score", True, "symmetry", "sym.symmetry_index", "sym"),
)

KPIS: dict[str, Kpi] = {k.name: k for k in KPI_LIST}

SYMMETRY_DOC = "Symmetry index" + __doc__.split("Symmetry index", 1)[1]

AREA_LABELS = {"volume": "Volume", "quality": "Service quality", "cost": "Cost",
               "efficiency": "Operational efficiency", "symmetry": "Online-offline symmetry"}
UNIT_LABELS = {"count": "count", "currency": "money", "percent": "percent", "hours": "hours",
               "minutes": "minutes", "stars": "stars (1–5)", "star_gap": "stars (difference)",
               "score": "score 0–100", "ratio": "ratio (percent)"}


def definitions_frame() -> pd.DataFrame:
    """One row per KPI: name, area, label, formula, unit, direction (for the app and the report)."""
    return pd.DataFrame([{
        "KPI": k.label, "name": k.name, "area": AREA_LABELS[k.area], "definition": k.description,
        "unit": UNIT_LABELS[k.unit],
        "better when": {True: "higher", False: "lower", None: "—"}[k.higher_is_better],
    } for k in KPI_LIST])


HEADLINE = ("revenue", "orders", "redemption_rate", "avg_rating", "refund_rate",
            "cost_per_redemption", "roi", "symmetry_index")

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
# grains the capacity tables cannot be cut by
_NO_CAPACITY = {"campaign", "channel", "campaign_kind"}
_NON_NULL_KEYS = {"channel", "campaign_kind"}  # costs with no channel/kind are not part of those groups


def _keys(grain: str, date_col: str) -> list[tuple[str, str]]:
    if grain not in GRAINS:
        raise ValueError(f"Unknown grain {grain!r}; choose one of {', '.join(GRAINS)}.")
    return [(out, expr.format(date=date_col)) for out, expr in GRAINS[grain]]


def _select_keys(keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{expr} AS {out}" for out, expr in keys)


def _join_on(left: str, right: str, keys: list[tuple[str, str]]) -> str:
    return " AND ".join(f"{left}.{out} IS NOT DISTINCT FROM {right}.{out}" for out, _ in keys)


# ------------------------------------------------------------------------------------------
# SQL
# ------------------------------------------------------------------------------------------

_ORDER_SUMS = """
    sum(count_orders) AS count_orders, sum(count_paid) AS count_paid, sum(paid_amount) AS paid_amount,
    sum(list_value) AS list_value, sum(discount_amount) AS discount_amount, sum(platform_fee) AS platform_fee,
    sum(count_redeemed) AS count_redeemed, sum(count_redemptions) AS count_redemptions,
    sum(extra_spend) AS extra_spend, sum(count_refunded) AS count_refunded, sum(refund_amount) AS refund_amount,
    sum(count_breakage) AS count_breakage, sum(breakage_amount) AS breakage_amount,
    sum(count_reviews) AS count_reviews, sum(rating_sum) AS rating_sum,
    sum(count_reviews_listed) AS count_reviews_listed, sum(rating_sum_listed) AS rating_sum_listed,
    sum(listed_rating_sum) AS listed_rating_sum, sum(count_positive) AS count_positive,
    sum(count_complaints) AS count_complaints, sum(count_as_described) AS count_as_described,
    sum(count_described_answered) AS count_described_answered, sum(count_waits) AS count_waits,
    sum(count_sla_met) AS count_sla_met, sum(wait_gap_sum) AS wait_gap_sum,
    sum(count_new_customers) AS count_new_customers,
    sum(count_new_customers) FILTER (WHERE campaign_id IS NOT NULL) AS count_new_campaign_customers,
    sum(rating_sum) FILTER (WHERE campaign_id IS NOT NULL) AS deal_rating_sum,
    sum(count_reviews) FILTER (WHERE campaign_id IS NOT NULL) AS deal_reviews,
    sum(rating_sum) FILTER (WHERE campaign_id IS NULL) AS full_rating_sum,
    sum(count_reviews) FILTER (WHERE campaign_id IS NULL) AS full_reviews"""

SYMMETRY_SQL = """
    -- one store's symmetry index from its sums (see module docstring)
    CASE WHEN st.count_redemptions > 0 THEN 100 * (
        CASE WHEN s.listed_rating IS NULL THEN 0 ELSE 0.35 * (1 - least(1,
            greatest(st.rgap, 0) / 1.5 + greatest(-st.rgap, 0) / 4.5)) END
      + CASE WHEN s.listed_wait_minutes IS NULL THEN 0 ELSE 0.25 * (1 - least(1,
            greatest(st.wgap, 0) / 20)) END
      + 0.25 * least(1, greatest(0, (st.described - 0.5) / 0.5))
      + 0.15 * (1 - least(1, st.complaints / 0.2))
    ) / (0.40 + CASE WHEN s.listed_rating IS NULL THEN 0 ELSE 0.35 END
              + CASE WHEN s.listed_wait_minutes IS NULL THEN 0 ELSE 0.25 END)
    END"""


DAILY_TABLES = {"day": "rollup_store_day", "costs": "rollup_costs", "facts": "order_facts"}
WEEKLY_TABLES = {"day": "rollup_store_week", "costs": "rollup_costs_week", "facts": "order_facts"}


def default_tables(filters: Filters, grain: str) -> dict[str, str]:
    """The weekly rollups when the dates are whole ISO weeks (or open) and no day is asked for."""
    whole_weeks = ((filters.start is None or filters.start.isoweekday() == 1)
                   and (filters.end is None or filters.end.isoweekday() == 7))
    return WEEKLY_TABLES if whole_weeks and grain != "day" else DAILY_TABLES


def kpi_sql(filters: Filters, grain: str, names: Sequence[str],
            tables: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """The single SQL statement computing ``names`` at ``grain`` under ``filters``.

    ``tables`` names the tables read for the order sums (``day``), costs (``costs``) and
    order-level figures (``facts``); by default :func:`default_tables`. Callers may pass copies
    with the same columns holding a subset of rows (the campaign page does).
    """
    tables = {**default_tables(filters, grain), **(tables or {})}
    kpis = [KPIS[n] for n in names]
    sources = set().union(*(k.sources for k in kpis)) | {"o"}
    if grain in _NO_CAPACITY:
        sources.discard("h")
    params: dict[str, Any] = {}
    ctes: list[str] = []
    k_o = _keys(grain, "date")
    k_f = _keys(grain, "order_date")
    where_r = filters.where_sql("rollup")
    params |= filters.params("rollup")

    ctes.append(f"o AS (SELECT {_select_keys(k_o)}, {_ORDER_SUMS}\n  FROM {tables['day']} WHERE {where_r} GROUP BY ALL HAVING count(*) > 0)")
    groups = f"SELECT {', '.join(o for o, _ in k_o)} FROM o"
    if "k" in sources:
        ctes.append(f"""k AS (SELECT {_select_keys(k_o)},
    sum(amount) FILTER (WHERE cost_type = 'marketing') AS marketing,
    sum(amount) FILTER (WHERE cost_type = 'marketing' AND campaign_id IS NOT NULL) AS campaign_marketing,
    sum(amount) FILTER (WHERE cost_type = 'staff') AS staff,
    sum(amount) FILTER (WHERE cost_type NOT IN ('marketing', 'staff')) AS other_cost
  FROM {tables['costs']} WHERE {where_r} GROUP BY ALL HAVING count(*) > 0)""")
        non_null = [o for o, _ in k_o if o in _NON_NULL_KEYS]
        cond = " AND ".join(f"{o} IS NOT NULL" for o in non_null) or "TRUE"
        groups += f" UNION SELECT {', '.join(o for o, _ in k_o)} FROM k WHERE {cond}"
    if "f" in sources:
        ctes.append(f"""f AS (SELECT {_select_keys(k_f)},
    median(hours_to_redeem) FILTER (WHERE is_paid AND is_redeemed) AS time_to_redeem_hours
  FROM {tables['facts']} WHERE {filters.where_sql('facts')} GROUP BY ALL)""")
        params |= filters.params("facts")
    if "rep" in sources:
        ctes.append(_repeat_cte(filters, grain, k_f, tables["facts"]))
        params |= filters.params("facts")
    if "h" in sources:
        ctes.append(_capacity_cte(filters, grain, params))
    if "sym" in sources:
        k_st = k_o if grain == "store" else [*k_o, ("store_id", "store_id")]
        ctes.append(f"""st AS (SELECT {_select_keys(k_st)},
    sum(count_redemptions) AS count_redemptions,
    (sum(listed_rating_sum) - sum(rating_sum_listed)) / (sum(count_reviews_listed) + 10) AS rgap,
    sum(wait_gap_sum) / (sum(count_waits) + 10) AS wgap,
    (sum(count_as_described) + 10 * 0.9) / (sum(count_described_answered) + 10) AS described,
    (sum(count_complaints) + 20 * 0.03) / (sum(count_redemptions) + 20) AS complaints
  FROM {tables['day']} WHERE {where_r} GROUP BY ALL)""")
        ctes.append(f"""sym AS (SELECT {', '.join('st.' + o for o, _ in k_o)},
    sum(idx * st.count_redemptions) / NULLIF(sum(st.count_redemptions) FILTER (WHERE idx IS NOT NULL), 0) AS symmetry_index
  FROM (SELECT st.*, {SYMMETRY_SQL} AS idx FROM st JOIN stores s USING (store_id)) st GROUP BY ALL)""")
    ctes.append(f"g AS ({groups})")

    joins = ["LEFT JOIN o ON " + _join_on("g", "o", k_o)]
    for name in ("k", "f", "rep", "h", "sym"):
        if name in sources:
            joins.append(f"LEFT JOIN {name} ON " + _join_on("g", name, k_o))
    select = [f"g.{o}" for o, _ in k_o] + [
        f"{'NULL' if 'h' in k.sources and 'h' not in sources else k.sql} AS {k.name}" for k in kpis]
    order = ", ".join(f"g.{o}" for o, _ in k_o)
    sql = ("WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(select)
           + "\nFROM g\n" + "\n".join(joins) + f"\nORDER BY {order} NULLS LAST")
    return sql, params


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
  FROM {facts} WHERE {filters.where_sql('facts')} GROUP BY ALL)"""
    return f"""rep AS (SELECT {keys},
    count(*) AS customers, count(*) FILTER (WHERE n_orders >= 2) AS repeat_customers
  FROM (SELECT {_select_keys(k_f)}, customer_id, count(*) AS n_orders
        FROM {facts} WHERE {filters.where_sql('facts')} GROUP BY ALL) GROUP BY ALL)"""


def _capacity_cte(filters: Filters, grain: str, params: dict[str, Any]) -> str:
    """Redemptions per group (by redemption time) and the capacity hours of the same group."""
    k_h = _keys(grain, "date")
    k_cal = _keys(grain, "cal.date")
    params["open_hours"] = config.get_float("O2O_OPEN_HOURS_PER_DAY")
    params |= filters.params("hours")
    # The calendar: the filter's dates, else the span of the data.
    start = "$f_start" if filters.start else "(SELECT min(date) FROM rollup_store_day)"
    end = "$f_end" if filters.end else "(SELECT max(date) FROM rollup_store_day)"
    return f"""hr AS (SELECT {_select_keys(k_h)}, sum(count_redemptions) AS util_redemptions
  FROM rollup_store_hour WHERE {filters.where_sql('hours')}
    AND store_id IN (SELECT store_id FROM stores WHERE capacity_per_hour IS NOT NULL) GROUP BY ALL),
cap AS (SELECT {', '.join(f'{e} AS {o}' for o, e in k_cal)},
    sum(s.capacity_per_hour * $open_hours) AS capacity_hours
  FROM (SELECT CAST(unnest(generate_series(CAST({start} AS DATE), CAST({end} AS DATE), INTERVAL 1 DAY)) AS DATE) AS date) cal
  CROSS JOIN (SELECT * FROM (SELECT * REPLACE (coalesce(district, '') AS district, coalesce(region, '') AS region)
              FROM stores) WHERE capacity_per_hour IS NOT NULL AND {filters.where_sql('stores')}) s
  GROUP BY ALL),
h AS (SELECT {', '.join('cap.' + o for o, _ in k_h)}, hr.util_redemptions, cap.capacity_hours
  FROM cap LEFT JOIN hr ON {_join_on('cap', 'hr', k_h)})"""


def compute(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    by: str = "total",
    names: Iterable[str] | None = None,
) -> pd.DataFrame:
    """KPIs ``names`` (default: all) at grain ``by``, one row per group.

    Group keys come first (``total``, ``week_start``, ``store_id``, ...); store and campaign
    grains also carry the store's / campaign's descriptive columns; the week grain carries
    ``iso_week`` (e.g. ``2026-W47``).
    """
    names = list(names) if names is not None else list(KPIS)
    unknown = [n for n in names if n not in KPIS]
    if unknown:
        raise ValueError(f"Unknown KPI(s): {', '.join(unknown)}.")
    sql, params = kpi_sql(filters, by, names)
    df = db.run(con, sql, params)
    if by == "week" and not df.empty:
        df.insert(1, "iso_week", pd.to_datetime(df["week_start"]).dt.strftime("%G-W%V"))
    if by == "store" and not df.empty:
        # the whole stores table (one row per store) is cheaper to read than to filter by a long list
        stores = db.run(con, "SELECT store_id, name AS store_name, city AS store_city, category AS store_category, "
                             "listed_rating, listed_wait_minutes, lat, lon FROM stores")
        df = df.merge(stores, on="store_id", how="left")
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
    if change is None or (isinstance(change, float) and math.isnan(change)) or change == 0:
        return None
    if kpi.higher_is_better is None:
        return None
    return (change > 0) == kpi.higher_is_better


# ------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------

def format_value(value: Any, unit: str, currency: str | None = None) -> str:
    """A KPI value as people read it: ``¥12,340``, ``84.2%``, ``4.31 ★``, ``12.5 min``; ``—`` if undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    try:
        if pd.isna(value):
            return "—"
    except (TypeError, ValueError):
        pass
    value = float(value)
    currency = currency or config.get("O2O_CURRENCY")
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency, currency + " ")
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "currency":
        sign = "−" if value < 0 else ""
        amount = abs(value)
        return f"{sign}{symbol}{amount:,.0f}" if amount >= 100 else f"{sign}{symbol}{amount:,.2f}"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "minutes":
        return f"{value:+.1f} min" if value else "0.0 min"
    if unit == "stars":
        return f"{value:.2f} ★"
    if unit == "star_gap":
        return f"{value:+.2f} ★"
    if unit == "score":
        return f"{value:.0f}"
    if unit == "ratio":
        return f"{value * 100:+.0f}%"
    return f"{value:,.2f}"


def format_change(name: str, change: Any) -> str:
    """A week-over-week change in the KPI's own unit, signed: ``+3.1 pp``, ``-¥1,200``."""
    if change is None or pd.isna(change):
        return "—"
    unit = KPIS[name].unit
    if unit == "percent":
        return f"{change * 100:+.1f} pp"
    if unit == "ratio":
        return f"{change * 100:+.1f} pp"
    if unit in ("stars", "star_gap"):
        return f"{change:+.2f} ★"
    if unit == "count":
        return f"{change:+,.0f}"
    if unit == "score":
        return f"{change:+.1f}"
    if unit == "currency":
        # ASCII minus: st.metric reads a delta's direction (arrow, colour) from a leading "-"
        return ("+" if change >= 0 else "-") + format_value(abs(change), "currency")
    if unit in ("hours", "minutes"):
        return f"{change:+.1f} {'h' if unit == 'hours' else 'min'}"
    return f"{change:+,.2f}"
