"""The words people read for the warehouse's names: table columns and coded values.

Tables on the pages show ``Store`` and ``Car rental`` where the data says ``store_name`` and
``car_rental``; CSV exports keep the raw names and values (they feed other tools). A KPI column
takes its label from the KPI layer (:mod:`o2o_ops.kpis.catalog`); everything else is named here,
once, in English; their Chinese is in :mod:`o2o_ops.i18n.catalogue`, keyed by the same names. No streamlit here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from o2o_ops import metrics

#: Column name -> (label, unit for its number format or None). Units as in :mod:`o2o_ops.units`.
COLUMNS: dict[str, tuple[str, str | None]] = {
    # who and where
    "store_id": ("Store ID", None), "store_name": ("Store", None), "store_city": ("City", None),
    "store_category": ("Category", None), "city": ("City", None), "category": ("Category", None),
    "region": ("Region", None), "district": ("District", None),
    "campaign_id": ("Campaign ID", None), "campaign_name": ("Campaign", None), "campaign_kind": ("Campaign kind", None),
    "kind": ("Kind", None), "channel": ("Channel", None), "customer_id": ("Customer", None),
    # orders and what followed
    "order_id": ("Order", None), "tracking_code": ("Tracking code", None), "ordered_at": ("Ordered at", None), "status": ("Status", None),
    "paid_amount": ("Paid", "currency"), "list_price": ("List price", "currency"),
    "discount_amount": ("Discount", "currency"), "refund_amount": ("Refunded", "currency"),
    "redeemed_at": ("Redeemed at", None), "wait_minutes": ("Wait (min)", None),
    "actual_wait_minutes": ("Actual wait (min)", None), "listed_wait_minutes": ("Promised wait (min)", None),
    "posted_at": ("Reviewed at", None), "rating": ("Rating", None), "as_described": ("As described", None),
    "complaint_category": ("Complaint", None), "complaint": ("Complaint", None), "listed_rating": ("Listed rating", None),
    # counts
    "count_orders": ("Orders", "count"), "count_redemptions": ("Redemptions", "count"),
    "count_refunds": ("Refunds", "count"), "count_problems": ("Problems", "count"),
    "count_rows": ("Rows", "count"), "rows_added": ("Rows added", "count"), "rows_updated": ("Rows updated", "count"),
    "rows_rejected": ("Rows refused", "count"), "peer_stores": ("Peer stores", "count"),
    "weeks_over_capacity": ("Weeks over capacity", "count"), "capacity_per_hour": ("Capacity per hour", "count"),
    # money and shares
    "budget": ("Budget", "currency"), "margin": ("Margin", "currency"), "total_cost": ("Total cost", "currency"),
    "margin_rate": ("Margin rate", "percent"), "share_of_paid_orders": ("Share of paid orders", "percent"),
    "peak_week_utilisation": ("Busiest week's utilisation", "percent"),
    # judgements
    "reason": ("Why", None), "rank": ("Rank", None), "vs_peers": ("Against peers", None),
    "peer_median": ("Peer median", None), "is_over_capacity": ("Over capacity", None),
    "index_before": ("Index, 4 weeks before", None), "index_recent": ("Index, last 4 weeks", None),
    "index_drop": ("Index fall", None), "label": ("Bucket", None),
    # the Data page
    "table_name": ("Table", None), "check": ("Check", None), "description": ("What it finds", None),
    "file": ("File", None), "imported_at": ("Imported at", None), "imported_by": ("Imported by", None),
    "start_date": ("Start", None), "end_date": ("End", None),
    # the Data page's quality checks (their rows)
    "gap_start": ("Gap start", None), "gap_end": ("Gap end", None), "days_missing": ("Days missing", None),
    "column_name": ("Column name", None), "parent_table": ("Parent table", None),
    "count_orphans": ("Count orphans", None), "example_value": ("Example value", None),
    "observed_discount_share": ("Observed discount share", None), "name": ("Name", None), "lat": ("Lat", None),
    "lon": ("Lon", None), "review_id": ("Review id", None),
}

#: Coded values, by the columns that hold them: raw -> words.
_CATEGORIES = {"restaurant": "Restaurant", "hotel": "Hotel", "travel": "Travel", "car_rental": "Car rental",
               "beauty_leisure": "Beauty & leisure", "local_services": "Local services"}
_CAMPAIGN_KINDS = {"coupon": "Coupon", "discount": "Discount", "flash_sale": "Flash sale", "group_buy": "Group buy",
                   "membership": "Membership", "full price": "Full price"}
_COMPLAINTS = {"long_wait": "Long wait", "not_as_described": "Not as described", "service": "Service",
               "staff": "Staff", "hygiene": "Hygiene", "price": "Price", "other": "Other"}
_CHANNELS = {"wechat": "WeChat", "alipay": "Alipay", "app": "App", "web": "Web", "maps": "Maps",
             "social": "Social"}
_STATUSES = {"paid": "Paid", "refunded": "Refunded", "expired": "Expired", "cancelled": "Cancelled"}
_CHECKS = {"orphans": "Rows pointing at nothing", "date_gaps": "Days without orders",
           "stores_without_coordinates": "Stores without coordinates",
           "reviews_without_redemptions": "Reviews of unredeemed orders"}
#: Column -> the group of coded values it holds (the Chinese catalogue, o2o_ops.i18n, is keyed by group).
GROUPS: dict[str, str] = {
    "category": "categories", "store_category": "categories", "campaign_kind": "campaign_kinds",
    "kind": "campaign_kinds", "complaint_category": "complaints", "status": "statuses", "check": "checks",
    "channel": "channels",
}
VALUE_GROUPS: dict[str, dict[str, str]] = {
    "categories": _CATEGORIES, "campaign_kinds": _CAMPAIGN_KINDS, "complaints": _COMPLAINTS,
    "statuses": _STATUSES, "checks": _CHECKS, "channels": _CHANNELS,
}
VALUES: dict[str, dict[str, str]] = {column: VALUE_GROUPS[group] for column, group in GROUPS.items()}


def column_label(name: str) -> str:
    """The words for column ``name``: a KPI's label, the catalogue's, else the name made readable."""
    if name in metrics.KPIS:
        return metrics.KPIS[name].label
    if name in COLUMNS:
        return COLUMNS[name][0]
    return str(name).replace("_", " ").capitalize()


def column_unit(name: str) -> str | None:
    """The unit whose format a column's numbers take (a KPI's unit, or the catalogue's)."""
    if name in metrics.KPIS:
        return metrics.KPIS[name].unit
    return COLUMNS.get(name, (None, None))[1]


def value_label(column: str, value: Any) -> Any:
    """A coded value in words (``car_rental`` -> ``Car rental``); anything unknown unchanged."""
    words = VALUES.get(column)
    if words is None or not isinstance(value, str):
        return value
    return words.get(value, value)


def for_display(df: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``df`` with the coded values of known columns in words, in ``lang`` (a copy; the raw frame
    is what is exported)."""
    from o2o_ops import i18n

    coded = [c for c in df.columns if c in VALUES]
    if not coded:
        return df
    out = df.copy()
    for column in coded:
        out[column] = out[column].map(lambda v, c=column: i18n.value_label(c, v, lang)).astype(object)
    return out
