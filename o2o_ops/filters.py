"""The one filter object every page, report and command passes to the KPI layer.

A :class:`Filters` yields a WHERE clause with named, bound parameters for each kind of table it
can be applied to, the parameter dict, and a plain-words description. Values never enter SQL
text: a city named ``x' OR 1=1 --`` is just a city nobody has.

Semantics worth knowing:
- ``start``/``end`` are inclusive dates. Orders count by ``ordered_at``, costs by their date,
  capacity use by the hour of redemption.
- Channel, campaign kind and campaign filters narrow costs to those attributable to a campaign
  or channel; store-level costs (staff, rent) carry no channel and drop out under such a filter.
- Capacity tables (redemptions by hour) have no channel or campaign: those filters do not apply
  there, because a store's capacity is shared by all its customers.
- ``scope_stores`` / ``scope_regions`` are the signed-in user's scope (``None`` = everything).
  They are ANDed with every other filter, so a filter can only narrow a scope, never widen it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Which filter fields exist as columns on which target. Column names are ours, not the user's.
_STORE_DIMS = {"cities": "city", "districts": "district", "regions": "region",
               "categories": "category", "stores": "store_id"}
_CAMPAIGN_DIMS = {"channels": "channel", "campaign_kinds": "campaign_kind", "campaigns": "campaign_id"}

TARGETS: dict[str, dict[str, Any]] = {
    # rollup_day_store_channel_campaign / rollup_costs: daily grain, store and campaign dimensions
    "rollup": {"date": "date", "dims": {**_STORE_DIMS, **_CAMPAIGN_DIMS}},
    # order_facts: one row per order
    "facts": {"date": "order_date", "dims": {**_STORE_DIMS, **_CAMPAIGN_DIMS}},
    # rollup_store_hour: redemptions by hour; store dimensions only
    "hours": {"date": "date", "dims": dict(_STORE_DIMS)},
    # the stores table itself
    "stores": {"date": None, "dims": dict(_STORE_DIMS)},
}

_LABELS = {"cities": "city", "districts": "district", "regions": "region", "categories": "category",
           "stores": "store", "channels": "channel", "campaign_kinds": "campaign kind",
           "campaigns": "campaign"}


def _as_tuple(values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    cities: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    campaign_kinds: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    scope_stores: tuple[str, ...] | None = field(default=None)
    scope_regions: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        for name in (*_LABELS, ):
            object.__setattr__(self, name, tuple(sorted(set(_as_tuple(getattr(self, name))))))
        for name in ("scope_stores", "scope_regions"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(sorted(set(_as_tuple(value)))))
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"The start date {self.start} is after the end date {self.end}.")

    def replace(self, **changes: Any) -> "Filters":
        return dataclasses.replace(self, **changes)

    def stores_only(self) -> "Filters":
        """The part that chooses stores (city, district, region, category, store, the user's
        scope): the dates, channels, campaign kinds and campaigns left out, for what is not a
        period's orders (a store's expectation, its load ahead, lift's baseline, its position)."""
        return self.replace(start=None, end=None, channels=(), campaign_kinds=(), campaigns=())

    # --- SQL -------------------------------------------------------------------------------
    def where_sql(self, target: str = "rollup", alias: str = "") -> str:
        """A boolean SQL expression (``TRUE`` when nothing is filtered) for ``target``."""
        return self._build(target, alias)[0]

    def params(self, target: str = "rollup") -> dict[str, Any]:
        """The named parameters :meth:`where_sql` refers to."""
        return self._build(target, "")[1]

    def _build(self, target: str, alias: str) -> tuple[str, dict[str, Any]]:
        spec = TARGETS[target]
        prefix = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        date_col = spec["date"]
        if date_col and self.start:
            clauses.append(f"{prefix}{date_col} >= $f_start")
            params["f_start"] = self.start
        if date_col and self.end:
            clauses.append(f"{prefix}{date_col} <= $f_end")
            params["f_end"] = self.end
        for field_name, column in spec["dims"].items():
            values = getattr(self, field_name)
            if values:
                clauses.append(f"list_contains($f_{field_name}, {prefix}{column})")
                params[f"f_{field_name}"] = list(values)
        if self.scope_stores is not None or self.scope_regions is not None:
            if "stores" in spec["dims"]:
                scope = []
                if self.scope_stores is not None:
                    scope.append(f"list_contains($f_scope_stores, {prefix}store_id)")
                    params["f_scope_stores"] = list(self.scope_stores)
                if self.scope_regions is not None:
                    scope.append(f"list_contains($f_scope_regions, {prefix}region)")
                    params["f_scope_regions"] = list(self.scope_regions)
                # A user scoped to regions R and stores S sees stores in R plus stores S.
                clauses.append("(" + " OR ".join(scope) + ")")
        return (" AND ".join(clauses) if clauses else "TRUE"), params

    # --- words -----------------------------------------------------------------------------
    def describe(self, lang: str = "en") -> str:
        """The filters in plain words, e.g. ``Hangzhou · hotel · 2026-10-01 → 2026-10-28``, in
        ``lang`` (the values are data and stay as they are; coded categories read in words)."""
        from o2o_ops import i18n

        parts: list[str] = []
        for field_name, label in _LABELS.items():
            values = getattr(self, field_name)
            if not values:
                continue
            if len(values) <= 3:
                # English keeps the raw values (they also name exported files); Chinese reads them in words
                column = {"categories": "category", "channels": "channel",
                          "campaign_kinds": "kind"}.get(field_name) if lang != "en" else None
                parts.append(", ".join(str(i18n.value_label(column, v, lang)) if column else v for v in values))
            else:
                parts.append(i18n.t(f"filters.many_{field_name}", lang, count=len(values)))
        if self.start or self.end:
            parts.append(f"{self.start or i18n.t('filters.first_order', lang)} → "
                         f"{self.end or i18n.t('filters.latest_order', lang)}")
        scope = [*(i18n.t("filters.region", lang, region=r) for r in self.scope_regions or ()),
                 *(self.scope_stores or ())]
        if self.scope_stores is not None or self.scope_regions is not None:
            within = (", ".join(scope) if 0 < len(scope) <= 3
                      else i18n.t("filters.many_scope", lang, count=len(scope)))
            parts.append(i18n.t("filters.within", lang, within=within))
        return " · ".join(parts) if parts else i18n.t("filters.all_data", lang)

    def slug(self) -> str:
        """A file-name-safe version of :meth:`describe` for exports."""
        keep = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.describe())
        while "__" in keep:
            keep = keep.replace("__", "_")
        return keep.strip("_")[:120] or "all"
