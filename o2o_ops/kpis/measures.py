"""Measures: every additive quantity a KPI is built from, declared once.

A measure has a name, where it comes from, how it aggregates, what it counts, its unit and which
contract tables and optional columns it needs. Four kinds:

- :class:`Measure` with ``source="orders"`` and ``agg`` — an aggregate at the order grain over
  ``order_facts`` (one row per order). The order rollup (``rollup_day_store_channel_campaign``, date x store x
  channel x campaign) holds one column per such measure, generated from this declaration
  (:func:`o2o_ops.kpis.sql.rollup_measure_columns`); every query sums them.
- a *slice* (``of`` + ``where``): another order measure restricted to a dimension the rollup
  keeps (e.g. campaign orders only), evaluated when the rollup is queried; no column of its own.
- ``source="costs"``: ``amount`` of the cost rollup restricted to some cost types.
- ``source="inspections"`` with ``agg``: an aggregate over ``inspection_facts`` (one row per
  inspection of the optional table ``inspections``, by its date), computed per group by metrics.py.
- ``source="events"`` with ``agg``: an aggregate over ``event_facts`` (the optional table
  ``events``, the online funnel, by the day it occurred).
- ``source="customers"`` / ``"capacity"``: quantities that are not sums over orders (distinct
  customers; capacity hours of a calendar); metrics.py computes them per group, they are declared
  here so that KPIs name them and the layer knows their inputs.

:data:`FORMULAS` names sums of measures that several KPIs and rollups share (net revenue, the
ROI cost, the promotion cost); each is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Contract tables whose rows arrive after the order: a measure reading them keeps changing for
# weeks after the order date (an order is redeemed, reviewed, refunded later), so it "matures".
LATE_TABLES = frozenset({"redemptions", "reviews", "refunds"})


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    unit: str                           # a unit of o2o_ops.units
    source: str = "orders"              # orders | costs | customers | capacity | inspections | events
    agg: str | None = None              # count | sum (order measures with a rollup column)
    expr: str | None = None             # the summed order_facts expression (agg == "sum")
    where: str | None = None            # order_facts condition (orders), cost condition (costs)
    of: str | None = None               # a slice: the measure it restricts (with ``where``)
    zero_when_empty: bool = False       # coalesce a sum to 0 when no row qualifies
    # contract tables ("reviews") and optional columns ("stores.listed_rating"); "a|b" = a or b
    inputs: tuple[str, ...] = ("orders",)

    @property
    def is_rollup_column(self) -> bool:
        return self.source == "orders" and self.of is None

    @property
    def matures(self) -> bool:
        return any(i.split(".")[0] in LATE_TABLES for i in self.inputs)


def _count(name, description, where=None, inputs=("orders",)) -> Measure:
    return Measure(name, description, "count", agg="count", where=where, inputs=inputs)


def _sum(name, description, expr, unit="currency", where=None, inputs=("orders",), zero_when_empty=False) -> Measure:
    return Measure(name, description, unit, agg="sum", expr=expr, where=where, inputs=inputs,
                   zero_when_empty=zero_when_empty)


_REVIEWS = ("orders", "reviews")
_LISTED = ("orders", "reviews", "stores.listed_rating")
_WAITS = ("orders", "redemptions.wait_minutes", "stores.listed_wait_minutes")
_PROMISES = ("orders", "redemptions", "orders.promised_at|orders.promised_wait_minutes")

MEASURE_LIST: tuple[Measure, ...] = (
    # --- order measures: one rollup column each ------------------------------------------
    _count("count_orders", "Orders of any status."),
    _count("count_paid", "Paid orders: status is not cancelled (refunded and expired orders were paid).", "is_paid"),
    _sum("paid_amount", "Amount paid over paid orders.", "paid_amount", where="is_paid"),
    _sum("list_value", "List price over paid orders.", "list_price", where="is_paid", inputs=("orders.list_price",)),
    _sum("discount_amount", "Discount over paid orders.", "discount_amount", where="is_paid",
         inputs=("orders.discount_amount",)),
    _sum("platform_fee", "Platform fee over paid orders.", "platform_fee", where="is_paid",
         inputs=("orders.platform_fee",)),
    _count("count_paid_redeemed", "Paid orders that were redeemed.", "is_paid AND is_redeemed",
           inputs=("orders", "redemptions")),
    _count("count_redemptions", "Orders that were redeemed (any status).", "is_redeemed",
           inputs=("orders", "redemptions")),
    _sum("extra_spend", "In-store extra spend over paid orders.", "extra_spend", where="is_paid",
         inputs=("orders", "redemptions.extra_spend")),
    _count("count_refunded", "Paid orders with at least one refund.", "is_paid AND has_refund",
           inputs=("orders", "refunds")),
    _sum("refund_amount", "Refunded amount over paid orders.", "refund_amount", where="is_paid",
         inputs=("orders", "refunds")),
    _count("count_breakage", "Paid orders past valid_until (as of the latest order) never redeemed.", "is_breakage",
           inputs=("orders.valid_until", "redemptions")),
    _sum("breakage_amount", "Amount paid for breakage orders.", "paid_amount", where="is_breakage",
         inputs=("orders.valid_until", "redemptions")),
    _sum("count_reviews", "Reviews of the orders.", "count_reviews", unit="count", inputs=_REVIEWS),
    _sum("rating_sum", "Sum of review ratings (1-5).", "rating_sum", unit="stars", inputs=_REVIEWS),
    _sum("count_positive", "Reviews rated 4 or 5.", "count_positive", unit="count", inputs=_REVIEWS),
    _sum("count_complaints", "Reviews with a complaint category.", "count_complaints", unit="count",
         inputs=("orders", "reviews.complaint_category")),
    _sum("count_as_described", "Reviews answering as_described = true.", "count_as_described", unit="count",
         inputs=("orders", "reviews.as_described")),
    _sum("count_described_answered", "Reviews that answered as_described.", "count_described_answered",
         unit="count", inputs=("orders", "reviews.as_described")),
    _count("count_waits", "Redemptions with a recorded wait at a store that promises one.",
           "is_redeemed AND wait_minutes IS NOT NULL AND listed_wait_minutes IS NOT NULL", inputs=_WAITS),
    _count("count_sla_met", "Redemptions whose wait was within the store's promised wait.",
           "is_redeemed AND wait_minutes <= listed_wait_minutes", inputs=_WAITS),
    _sum("wait_gap_sum", "Sum of (wait - promised wait) over redemptions with both.",
         "wait_minutes - listed_wait_minutes", unit="minutes", where="is_redeemed", inputs=_WAITS),
    _count("count_new_customers", "Orders that are their customer's first-ever order.", "is_first_order"),
    # the listed rating is one per store: reviews at stores that list one, and their sums
    _sum("count_reviews_listed", "Reviews at stores with a listed rating.", "count_reviews", unit="count",
         where="listed_rating IS NOT NULL", zero_when_empty=True, inputs=_LISTED),
    _sum("rating_sum_listed", "Sum of ratings of reviews at stores with a listed rating.", "rating_sum",
         unit="stars", where="listed_rating IS NOT NULL", zero_when_empty=True, inputs=_LISTED),
    _sum("listed_rating_sum", "The store's listed rating, once per review.", "count_reviews * listed_rating",
         unit="stars", inputs=_LISTED),
    # --- slices of order measures, by a dimension the rollup keeps ---------------------------
    Measure("count_new_campaign_customers", "New customers whose first order came through a campaign.", "count",
            of="count_new_customers", where="campaign_id IS NOT NULL", inputs=("orders", "campaigns")),
    Measure("deal_rating_sum", "Sum of ratings of campaign orders.", "stars", of="rating_sum",
            where="campaign_id IS NOT NULL", inputs=("orders", "reviews", "campaigns")),
    Measure("deal_reviews", "Reviews of campaign orders.", "count", of="count_reviews",
            where="campaign_id IS NOT NULL", inputs=("orders", "reviews", "campaigns")),
    Measure("full_rating_sum", "Sum of ratings of full-price orders.", "stars", of="rating_sum",
            where="campaign_id IS NULL", inputs=("orders", "reviews")),
    Measure("full_reviews", "Reviews of full-price orders.", "count", of="count_reviews",
            where="campaign_id IS NULL", inputs=("orders", "reviews")),
    # --- costs (rollup_costs.amount by cost type) ---------------------------------------------
    Measure("marketing", "Costs of type marketing (campaign costs spread over its stores).", "currency",
            source="costs", where="cost_type = 'marketing'", inputs=("costs",)),
    Measure("campaign_marketing", "Marketing costs booked to a campaign.", "currency", source="costs",
            where="cost_type = 'marketing' AND campaign_id IS NOT NULL", inputs=("costs", "campaigns")),
    Measure("staff", "Costs of type staff.", "currency", source="costs", where="cost_type = 'staff'",
            inputs=("costs",)),
    Measure("other_cost", "Costs of every other type (rent, other).", "currency", source="costs",
            where="cost_type NOT IN ('marketing', 'staff')", inputs=("costs",)),
    # --- not sums over orders: computed per group by metrics.py ------------------------------
    Measure("customers", "Distinct customers with an order in the group.", "count", source="customers",
            inputs=("orders",)),
    Measure("repeat_customers", "Distinct customers with 2+ orders in the group.", "count", source="customers",
            inputs=("orders",)),
    Measure("util_redemptions", "Redemptions made in the period (by redeemed_at) at stores with a capacity.",
            "count", source="capacity", inputs=("redemptions", "stores.capacity_per_hour")),
    Measure("capacity_hours", "capacity_per_hour x open hours of each day (store_hours, else the setting), over stores with a capacity.",
            "count", source="capacity", inputs=("stores.capacity_per_hour",)),
    # --- contract extensions (issue #16) -----------------------------------------------------
    # the order's own promise: either column provides it (``a|b`` in inputs: one of them)
    _count("count_promise_due", "Paid orders with a promise of their own that is due: a promised time that passed "
           "(as of the latest order) or was met by a redemption, or a promised wait with a recorded wait.",
           "is_promise_due", inputs=_PROMISES),
    _count("count_late_vs_promise", "Paid orders fulfilled after their promised time (or not at all by then), or "
           "after a longer wait than promised.", "is_late_vs_promise", inputs=_PROMISES),
    # the listed (online) rating as a KPI of its own: once per order at a store that lists one
    _sum("listed_rating_order_sum", "The store's listed (online) rating, once per order at a store that lists one.",
         "listed_rating", unit="stars", where="listed_rating IS NOT NULL", inputs=("orders", "stores.listed_rating")),
    _count("count_orders_listed", "Orders (any status) at stores with a listed rating.", "listed_rating IS NOT NULL",
           inputs=("orders", "stores.listed_rating")),
    # --- inspections (optional table): aggregates over inspection_facts, by inspected_on -------
    Measure("count_inspections", "Inspections of the stores.", "count", source="inspections", agg="count",
            inputs=("inspections",)),
    Measure("count_inspections_judged", "Inspections with a pass/fail: passed given, else a score, else violation counts.",
            "count", source="inspections", agg="count", where="is_passed IS NOT NULL", inputs=("inspections",)),
    Measure("count_inspections_passed", "Inspections passed (passed, else score >= O2O_INSPECTION_PASS_SCORE, else no "
            "critical violation).", "count", source="inspections", agg="count", where="is_passed",
            inputs=("inspections",)),
    Measure("violations_sum", "Violations found (critical + major + minor).", "count", source="inspections", agg="sum",
            expr="violations_total", inputs=("inspections.violations_critical|inspections.violations_major"
                                             "|inspections.violations_minor",)),
    Measure("count_inspections_counted", "Inspections with violation counts.", "count", source="inspections",
            agg="count", where="violations_total IS NOT NULL",
            inputs=("inspections.violations_critical|inspections.violations_major|inspections.violations_minor",)),
    Measure("critical_violations_sum", "Critical violations found.", "count", source="inspections", agg="sum",
            expr="violations_critical", inputs=("inspections.violations_critical",)),
    Measure("count_inspections_critical_counted", "Inspections with a critical-violation count.", "count",
            source="inspections", agg="count", where="violations_critical IS NOT NULL",
            inputs=("inspections.violations_critical",)),
    Measure("inspection_score_sum", "Sum of inspection scores (0-100).", "score", source="inspections", agg="sum",
            expr="score", inputs=("inspections.score",)),
    Measure("count_inspections_scored", "Inspections with a score.", "count", source="inspections", agg="count",
            where="score IS NOT NULL", inputs=("inspections.score",)),
    # --- the online funnel (optional table events): sums over event_facts, by occurred_at ---------
    Measure("count_impressions", "Impressions (event_count of impression events).", "count", source="events",
            agg="sum", expr="event_count", where="event_type = 'impression'", inputs=("events",)),
    Measure("count_clicks", "Clicks (event_count of click events).", "count", source="events", agg="sum",
            expr="event_count", where="event_type = 'click'", inputs=("events",)),
    Measure("count_coupons_received", "Coupons received (event_count of coupon_received events).", "count",
            source="events", agg="sum", expr="event_count", where="event_type = 'coupon_received'", inputs=("events",)),
    Measure("count_received_ordered", "Coupons received by a customer who then placed a paid order with the "
            "campaign.", "count", source="events", agg="count", where="event_type = 'coupon_received' AND is_ordered",
            inputs=("events.customer_id", "events.campaign_id", "orders")),
    Measure("count_received_redeemed", "Coupons received whose customer redeemed an order of the campaign within "
            "O2O_COUPON_REDEEM_DAYS days.", "count", source="events", agg="count",
            where="event_type = 'coupon_received' AND hours_to_redeem <= $coupon_redeem_hours",
            inputs=("events.customer_id", "events.campaign_id", "orders", "redemptions")),
)

MEASURES: dict[str, Measure] = {m.name: m for m in MEASURE_LIST}

# Named sums of measures, written once; a formula may use measures and earlier formulas.
FORMULAS: dict[str, str] = {
    "net_revenue": "paid_amount - refund_amount + extra_spend",
    "cash_cost": "platform_fee + marketing + staff + other_cost",      # the ROI cost
    "promo_cost": "discount_amount + platform_fee + marketing + staff",  # the cost per redemption's cost
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def names_in(formula: str) -> list[str]:
    """The measure and formula names a formula uses (ValueError for anything else)."""
    names = _NAME.findall(formula)
    unknown = [n for n in names if n not in MEASURES and n not in FORMULAS]
    if unknown:
        raise ValueError(f"Unknown measure(s) in formula {formula!r}: {', '.join(unknown)}.")
    return names


def measures_in(formula: str) -> list[str]:
    """The measures a formula reads, formulas expanded, in order of appearance, once each."""
    out: list[str] = []
    for name in names_in(formula):
        for m in (measures_in(FORMULAS[name]) if name in FORMULAS else [name]):
            if m not in out:
                out.append(m)
    return out


def evaluate(formula: str, values: dict[str, float]) -> float:
    """A formula's value from its measures' values (formulas are sums and differences), for code
    that holds the measures outside SQL, e.g. the benchmark's pandas baseline."""
    formula = FORMULAS.get(formula, formula)
    names_in(formula)
    total, sign = 0.0, 1.0
    for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[+-]", formula):
        if token in "+-":
            sign = 1.0 if token == "+" else -1.0
            continue
        total += sign * (evaluate(token, values) if token in FORMULAS else float(values[token]))
    return total


def _check() -> None:
    for m in MEASURE_LIST:
        if m.of is not None:
            base = MEASURES[m.of]
            assert base.is_rollup_column and m.where, m.name
        elif m.source == "orders":
            assert m.agg in ("count", "sum") and (m.agg == "count" or m.expr), m.name
        elif m.source == "costs":
            assert m.where, m.name
        elif m.source in ("inspections", "events"):
            assert m.agg in ("count", "sum") and (m.agg == "count" or m.expr), m.name
    for formula in FORMULAS.values():
        names_in(formula)


_check()
