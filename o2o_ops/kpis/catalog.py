"""The KPIs, declared once: name, label, unit, direction, kind and what they are built from.

Kinds (how a KPI is computed from measures, see :mod:`o2o_ops.kpis.measures`):

- ``sum``        — a measure or a formula of measures (each read as 0 where a group has none);
- ``ratio``      — ``sum(numerator) / sum(denominator)`` over the group's rows; NULL (never 0)
  when the denominator is zero;
- ``difference`` — one ratio minus another (``numerator/denominator - minus[0]/minus[1]``);
- ``median``     — the median of an order_facts column over the orders matching ``where``;
- ``index``      — the symmetry index (:mod:`o2o_ops.kpis.symmetry_index`).

From a declaration the layer derives the KPI's SQL at any grain (metrics.kpi_sql), its inputs
(contract tables and optional columns, :func:`inputs_of`), whether it matures after the order,
its evidence threshold, the definitions page and its formats. Adding a ratio KPI is one entry in
:data:`KPI_LIST`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from o2o_ops import config, units
from o2o_ops.kpis import symmetry_index
from o2o_ops.kpis.measures import LATE_TABLES, MEASURES, measures_in

# source of each measure -> the alias of the CTE metrics.kpi_sql computes it in
SOURCE_ALIAS = {"orders": "o", "costs": "k", "customers": "rep", "capacity": "h", "inspections": "ins",
                "events": "ev"}
MEDIAN_ALIAS = "f"
INDEX_ALIAS = "sym"

KINDS = ("sum", "ratio", "difference", "median", "index")
REVIEW_EVIDENCE = "O2O_MIN_REVIEWS"   # the setting holding the review floor


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    description: str                    # the formula and grain in words (shown in the app and the report)
    unit: str                           # a unit of o2o_ops.units
    higher_is_better: bool | None       # direction; None = neither
    area: str                           # volume | quality | cost | efficiency | symmetry
    kind: str
    numerator: str | None = None        # formula of measures (sum: the formula itself)
    denominator: str | None = None
    minus: tuple[str, str] | None = None    # difference: the ratio subtracted
    column: str | None = None           # median: the order_facts column ...
    where: str | None = None            # ... over the orders matching this
    median_inputs: tuple[str, ...] = ()
    evidence: str | None = None         # the measure whose count must reach the evidence floor
    grains_without: frozenset[str] = frozenset()   # grains it is not defined at (NULL there)

    # --- derived ------------------------------------------------------------------------
    @property
    def measures(self) -> list[str]:
        out: list[str] = []
        for formula in (self.numerator, self.denominator, *(self.minus or ())):
            if formula:
                out += [m for m in measures_in(formula) if m not in out]
        if self.kind == "index":
            out += [m for m in symmetry_index.MEASURES if m not in out]
        return out

    @property
    def sources(self) -> frozenset[str]:
        """The CTE aliases of metrics.kpi_sql this KPI reads."""
        if self.kind == "median":
            return frozenset({MEDIAN_ALIAS})
        if self.kind == "index":
            return frozenset({INDEX_ALIAS})
        return frozenset(SOURCE_ALIAS[MEASURES[m].source] for m in self.measures)

    @property
    def inputs(self) -> frozenset[str]:
        return inputs_of(self.name)

    @property
    def matures(self) -> bool:
        """Whether its value for a period keeps changing after the period (redemptions, reviews
        and refunds of its orders arrive later)."""
        return any(i.split(".")[0] in LATE_TABLES for i in self.inputs)

    @property
    def is_additive(self) -> bool:
        """A plain sum: its groups add up to the total."""
        return self.kind == "sum"

    def min_evidence(self) -> int:
        """How many of :attr:`evidence` a group needs before its value is judged (0: any)."""
        return config.get_int(REVIEW_EVIDENCE) if self.evidence else 0

    @property
    def sql(self) -> str:
        from o2o_ops.kpis import sql as kpi_sql_gen
        return kpi_sql_gen.kpi_expression(self)

    def format(self, value: Any, currency: str | None = None) -> str:
        return units.format_value(value, self.unit, currency)


def _sum(name, label, description, unit, higher, area, formula, **kw) -> Kpi:
    return Kpi(name, label, description, unit, higher, area, "sum", numerator=formula, **kw)


def _ratio(name, label, description, unit, higher, area, numerator, denominator, **kw) -> Kpi:
    return Kpi(name, label, description, unit, higher, area, "ratio", numerator=numerator,
               denominator=denominator, **kw)


_NO_CAPACITY = frozenset({"campaign", "channel", "campaign_kind"})

KPI_LIST: tuple[Kpi, ...] = (
    # volume
    _sum("orders", "Orders", "Count of online orders (any status) placed in the period, by ordered_at.",
         "count", True, "volume", "count_orders"),
    _sum("paid_orders", "Paid orders", "Orders whose status is not cancelled (refunded and expired orders were paid).",
         "count", True, "volume", "count_paid"),
    _sum("revenue", "Revenue", "Sum of paid_amount over paid orders placed in the period.",
         "currency", True, "volume", "paid_amount"),
    _sum("net_revenue", "Net revenue", "Paid amount − refunds + in-store extra spend, over paid orders placed in the period.",
         "currency", True, "volume", "net_revenue"),
    _sum("new_customers", "New customers", "Customers whose first-ever order was placed in the period.",
         "count", True, "volume", "count_new_customers"),
    _sum("redemptions", "Redemptions", "Orders placed in the period that were redeemed in a store.",
         "count", True, "volume", "count_redemptions"),
    # efficiency
    _ratio("redemption_rate", "Redemption rate", "Paid orders with a redemption / paid orders.",
           "percent", True, "efficiency", "count_paid_redeemed", "count_paid"),
    Kpi("time_to_redeem_hours", "Time to redeem", "Median hours from ordered_at to redeemed_at over redeemed paid orders.",
        "hours", False, "efficiency", "median", column="hours_to_redeem", where="is_paid AND is_redeemed",
        median_inputs=("orders", "redemptions")),
    _sum("breakage_orders", "Breakage (orders)", "Paid orders past valid_until (as of the latest order in the warehouse) never redeemed.",
         "count", False, "efficiency", "count_breakage"),
    _sum("breakage_value", "Breakage (value)", "Sum of paid_amount of breakage orders.",
         "currency", False, "efficiency", "breakage_amount"),
    _ratio("capacity_utilisation", "Capacity utilisation",
           "Redemptions in the period (by redeemed_at) / (capacity_per_hour × open hours of each day) summed over the "
           "filtered stores. Open hours: the store's opening hours on that weekday (store_hours) where given, else the "
           "setting O2O_OPEN_HOURS_PER_DAY. Not defined per channel or campaign.",
           "percent", None, "efficiency", "util_redemptions", "capacity_hours", grains_without=_NO_CAPACITY),
    # quality
    _sum("reviews", "Reviews", "Reviews of orders placed in the period.", "count", True, "quality", "count_reviews"),
    _ratio("avg_rating", "Average rating", "Mean review rating (1–5) over reviews of orders placed in the period.",
           "stars", True, "quality", "rating_sum", "count_reviews", evidence="count_reviews"),
    _ratio("positive_share", "Positive share", "Reviews with rating ≥ 4 / reviews.",
           "percent", True, "quality", "count_positive", "count_reviews", evidence="count_reviews"),
    _ratio("complaint_rate", "Complaint rate", "Reviews with a complaint category / redemptions.",
           "percent", False, "quality", "count_complaints", "count_redemptions"),
    _ratio("refund_rate", "Refund rate", "Paid orders with at least one refund / paid orders.",
           "percent", False, "quality", "count_refunded", "count_paid"),
    _ratio("refund_amount_share", "Refunded share", "Amount refunded / amount paid, over paid orders placed in the period.",
           "percent", False, "quality", "refund_amount", "paid_amount"),
    _ratio("sla_attainment", "SLA attainment",
           "Redemptions with wait_minutes ≤ the store's listed_wait_minutes / redemptions with a wait recorded (and a promised wait).",
           "percent", True, "quality", "count_sla_met", "count_waits"),
    _ratio("repeat_rate", "Repeat rate", "Customers with 2+ orders in the period / customers with an order in the period.",
           "percent", True, "quality", "repeat_customers", "customers"),
    # cost
    _sum("discount_cost", "Discount cost", "Sum of discount_amount over paid orders.", "currency", False, "cost",
         "discount_amount"),
    _ratio("discount_depth", "Discount depth", "Discount / list price, over paid orders: how deep the deals cut.",
           "percent", False, "cost", "discount_amount", "list_value"),
    _sum("platform_fees", "Platform fees", "Sum of platform_fee over paid orders.", "currency", False, "cost",
         "platform_fee"),
    _sum("marketing_spend", "Marketing spend", "Sum of costs of type marketing (campaign costs spread over the campaign's stores).",
         "currency", False, "cost", "marketing"),
    _sum("staff_cost", "Staff cost", "Sum of costs of type staff.", "currency", False, "cost", "staff"),
    _sum("other_costs", "Other costs", "Sum of costs of every other type (rent, other).", "currency", False, "cost",
         "other_cost"),
    _ratio("cost_per_redemption", "Cost per redemption", "(discount cost + platform fees + marketing spend + staff cost) / redemptions.",
           "currency", False, "cost", "promo_cost", "count_redemptions"),
    _ratio("cac", "Customer acquisition cost",
           "Marketing spend booked to campaigns / customers whose first-ever order came through a campaign, in the period.",
           "currency", False, "cost", "campaign_marketing", "count_new_campaign_customers"),
    _ratio("roi", "ROI",
           "(net revenue − cost) / cost; net revenue = paid − refunds + extra spend; cost = platform fees + marketing + staff "
           "+ other costs. Discounts are not added to cost because paid_amount is already net of them.",
           "ratio", True, "cost", "net_revenue - cash_cost", "cash_cost"),
    # symmetry
    Kpi("rating_gap", "Rating gap", "Listed (online) rating − actual review rating, review-weighted; positive = over-promised. "
        "Stores without a listed rating are left out.", "star_gap", False, "symmetry", "difference",
        numerator="listed_rating_sum", denominator="count_reviews_listed",
        minus=("rating_sum_listed", "count_reviews_listed"), evidence="count_reviews"),
    _ratio("wait_gap_minutes", "Wait gap", "Mean of (wait_minutes − listed_wait_minutes) over redemptions with both; positive = longer than promised.",
           "minutes", False, "symmetry", "wait_gap_sum", "count_waits"),
    _ratio("as_described_rate", "As-described rate", "Reviews answering as_described = true / reviews that answered.",
           "percent", True, "symmetry", "count_as_described", "count_described_answered", evidence="count_reviews"),
    Kpi("deal_customer_gap", "Deal-customer gap", "Average rating of campaign orders − average rating of full-price orders.",
        "star_gap", None, "symmetry", "difference", numerator="deal_rating_sum", denominator="deal_reviews",
        minus=("full_rating_sum", "full_reviews"), evidence="count_reviews"),
    Kpi("symmetry_index", "Symmetry index", symmetry_index.summary(), "score", True, "symmetry", "index",
        evidence="count_reviews"),
    # --- contract extensions (issue #16) -------------------------------------------------------
    _ratio("late_vs_promise_rate", "Late against the promise",
           "Paid orders fulfilled after the time promised for them (or not at all by then), or after a longer wait than "
           "promised for them / paid orders whose own promise is due (orders.promised_at passed or met, or "
           "orders.promised_wait_minutes with a recorded wait).",
           "percent", False, "symmetry", "count_late_vs_promise", "count_promise_due"),
    _ratio("online_rating", "Listed (online) rating",
           "The rating the store shows online (stores.listed_rating). At store grain the store's own; above it the mean "
           "over orders placed in the period at stores that list one (order-weighted).",
           "stars", True, "symmetry", "listed_rating_order_sum", "count_orders_listed"),
    _sum("promises_due", "Promises due", "Paid orders whose own promise is due (the late-against-the-promise rate's "
         "denominator).", "count", None, "symmetry", "count_promise_due"),
    # offline inspections / audits (optional table inspections), counted by inspected_on
    _sum("inspections", "Inspections", "Offline inspections (audits) of the stores in the period, by inspected_on.",
         "count", None, "quality", "count_inspections", grains_without=_NO_CAPACITY),
    _ratio("inspection_pass_rate", "Inspection pass rate",
           "Inspections passed / inspections with a result. Passed: the inspection's own pass/fail where given, else "
           "score ≥ O2O_INSPECTION_PASS_SCORE, else no critical violation. Not defined per channel or campaign.",
           "percent", True, "quality", "count_inspections_passed", "count_inspections_judged",
           grains_without=_NO_CAPACITY),
    _ratio("violations_per_inspection", "Violations per inspection",
           "Violations found (critical + major + minor) / inspections with violation counts.",
           "per_item", False, "quality", "violations_sum", "count_inspections_counted", grains_without=_NO_CAPACITY),
    _ratio("critical_violations_per_inspection", "Critical violations per inspection",
           "Critical violations found / inspections with a critical-violation count.",
           "per_item", False, "quality", "critical_violations_sum", "count_inspections_critical_counted",
           grains_without=_NO_CAPACITY),
    _ratio("avg_inspection_score", "Average inspection score", "Mean inspection score (0–100) over scored inspections.",
           "score", True, "quality", "inspection_score_sum", "count_inspections_scored", grains_without=_NO_CAPACITY),
    # the online funnel (optional table events), counted on the day each event occurred
    _sum("impressions", "Impressions", "Impressions of the period (events, by occurred_at).", "count", True, "volume",
         "count_impressions"),
    _sum("clicks", "Clicks", "Clicks of the period (events, by occurred_at).", "count", True, "volume", "count_clicks"),
    _sum("coupons_received", "Coupons received", "Coupons received in the period (events, by occurred_at).",
         "count", True, "volume", "count_coupons_received"),
    _ratio("click_through_rate", "Click-through rate", "Clicks / impressions, events of the period.",
           "percent", True, "efficiency", "count_clicks", "count_impressions"),
    _ratio("coupon_receive_rate", "Coupon receive rate", "Coupons received / clicks, events of the period.",
           "percent", True, "efficiency", "count_coupons_received", "count_clicks"),
    _ratio("received_to_order_rate", "Received → ordered",
           "Coupons received in the period whose customer then placed a paid order with the campaign (at or after "
           "receiving it) / coupons received.", "percent", True, "efficiency", "count_received_ordered",
           "count_coupons_received"),
    _ratio("received_to_redeemed_rate", "Received → redeemed",
           "Coupons received in the period whose customer redeemed an order of the campaign within "
           "O2O_COUPON_REDEEM_DAYS days of receiving it / coupons received.", "percent", True, "efficiency",
           "count_received_redeemed", "count_coupons_received"),
    _ratio("cost_per_click", "Cost per click", "Marketing spend booked to campaigns / clicks, in the period.",
           "currency", False, "cost", "campaign_marketing", "count_clicks"),
)

KPIS: dict[str, Kpi] = {k.name: k for k in KPI_LIST}

HEADLINE = ("revenue", "orders", "redemption_rate", "avg_rating", "refund_rate",
            "cost_per_redemption", "roi", "symmetry_index")

AREA_LABELS = {"volume": "Volume", "quality": "Service quality", "cost": "Cost",
               "efficiency": "Operational efficiency", "symmetry": "Online-offline symmetry"}


def inputs_of(name: str) -> frozenset[str]:
    """The contract tables (``"reviews"``) and optional columns (``"stores.listed_rating"``) KPI
    ``name`` needs; a warehouse without one of them cannot provide the KPI."""
    kpi = KPIS[name]
    if kpi.kind == "index":   # its promises are optional: a component without one is left out
        return frozenset(symmetry_index.INPUTS)
    found: set[str] = set(kpi.median_inputs)
    for m in kpi.measures:
        found |= set(MEASURES[m].inputs)
    return frozenset(found)


def missing_inputs(name: str, present: set[str] | frozenset[str]) -> frozenset[str]:
    """The inputs of KPI ``name`` a warehouse does not provide; ``present`` holds the contract
    tables with rows (``"reviews"``) and the optional columns with values (``"stores.listed_rating"``).
    Empty when the KPI can be computed; otherwise the KPI is "not provided", never 0. An input
    ``"a|b"`` is provided by either of its alternatives."""
    return frozenset(i for i in inputs_of(name) if not any(alt in present for alt in i.split("|")))


def definitions_frame(lang: str = "en") -> pd.DataFrame:
    """One row per KPI: name, area, label, formula, unit, direction, kind, inputs, whether it
    matures (for the app and the report), its words in ``lang``."""
    from o2o_ops import i18n
    from o2o_ops.i18n import catalogue

    zh = i18n.check(lang) == "zh"
    return pd.DataFrame([{
        "KPI": i18n.kpi_label(k.name, lang), "name": k.name,
        "area": catalogue.AREAS_ZH[k.area] if zh else AREA_LABELS[k.area],
        "definition": i18n.kpi_description(k.name, lang), "unit": i18n.unit_label(k.unit, lang),
        "better when": {True: i18n.t("definitions.higher", lang), False: i18n.t("definitions.lower", lang),
                        None: "—"}[k.higher_is_better],
        "kind": i18n.t(f"definitions.kind_{k.kind}", lang) if zh else k.kind,
        "needs": ("、".join(dict.fromkeys("/".join(catalogue.COVERAGE_ZH.get(alt, alt) for alt in i.split("|"))
                                         for i in sorted(k.inputs))) if zh else ", ".join(sorted(k.inputs))),
        "matures": i18n.t("definitions.yes" if k.matures else "definitions.no", lang),
    } for k in KPI_LIST])


def _check() -> None:
    for k in KPI_LIST:
        assert k.kind in KINDS, k.name
        assert k.unit in units.UNITS, k.name
        assert k.area in AREA_LABELS, k.name
        if k.kind == "sum":
            assert k.numerator and not k.denominator, k.name
        if k.kind in ("ratio", "difference"):
            assert k.numerator and k.denominator, k.name
        if k.kind == "median":
            assert k.column, k.name
        k.measures  # noqa: B018 - raises on an unknown measure


_check()
