"""What the warehouse has been given, and which KPIs it can therefore provide.

A KPI is *not provided* for a period when one of its inputs (:func:`o2o_ops.kpis.inputs_of`:
contract tables and optional columns) is not covered there; it is then shown as "not provided"
with the reason, never as 0 and never as a prior. "Zero because nothing happened" (covered, no
rows in the period) stays 0.

Coverage is read from the derived table ``coverage`` (``sql/rollups_coverage.sql``: rows and date
span per table and optional column, and whether an import named the table). An input is covered
for the period ``start..end`` when:

- it has rows (a column: values), or an import named its table even with no rows (a file with a
  header only says "none"), and
- for ``costs`` (dated by their own date): its span overlaps the period;
- for ``redemptions``, ``reviews``, ``refunds`` and their columns (events that follow the order):
  their span overlaps the period widened by the maturity horizon (setting ``O2O_MATURITY_DAYS``)
  on each side: the first event is on or before ``end`` + horizon and the last on or after
  ``start`` − horizon. Events of the period's orders could have been recorded, and a quiet
  fortnight without a refund is not taken for a gap;
- for ``orders`` and its columns: the span overlaps the period;
- stores, customers and campaigns: no dates. Optional store columns (``stores.listed_rating``,
  ...) are judged over the filtered stores: a promise no filtered store lists is not provided.

A table imported with no rows is covered everywhere. No streamlit here.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import duckdb
import pandas as pd

from o2o_ops import config, db, units
from o2o_ops.filters import Filters
from o2o_ops.kpis.catalog import KPIS, inputs_of
from o2o_ops.kpis.measures import LATE_TABLES

EVENT_TABLES = LATE_TABLES            # dated by an event after the order
OWN_DATE_TABLES = frozenset({"costs", "inspections", "events"})   # dated by their own day, not an order's
STORE_COLUMNS = ("listed_rating", "listed_wait_minutes", "capacity_per_hour")

# input -> words for "not provided: no ... imported"
WORDS = {
    "orders": "orders", "redemptions": "redemptions", "reviews": "reviews", "refunds": "refunds",
    "costs": "costs", "campaigns": "campaigns", "customers": "customers",
    "orders.discount_amount": "discount amounts", "orders.platform_fee": "platform fees",
    "orders.valid_until": "voucher validity dates (valid_until)",
    "redemptions.wait_minutes": "wait times", "redemptions.extra_spend": "in-store extra spend",
    "reviews.as_described": "as-described answers", "reviews.complaint_category": "complaint categories",
    "stores.listed_rating": "listed ratings", "stores.listed_wait_minutes": "promised waits",
    "stores.capacity_per_hour": "store capacities",
    "orders.promised_at": "promised times", "orders.promised_wait_minutes": "promised waits per order",
    "store_hours": "opening hours", "inspections": "inspections", "inspections.score": "inspection scores",
    "inspections.violations_critical": "critical violation counts",
    "inspections.violations_major": "violation counts", "inspections.violations_minor": "violation counts",
    "events": "online funnel events",
}


@functools.lru_cache(maxsize=None)
def _sorted_inputs(name: str) -> tuple[str, ...]:
    return tuple(sorted(inputs_of(name)))


def maturity_days() -> int:
    """Days after a period's end during which its orders are still redeemed, reviewed and refunded
    (setting O2O_MATURITY_DAYS): a period younger than this is provisional."""
    return config.get_int("O2O_MATURITY_DAYS")


@dataclass(frozen=True)
class Span:
    input: str
    n_rows: int
    first: dt.date | None
    last: dt.date | None
    imported: bool

    @property
    def given(self) -> bool:
        return self.n_rows > 0 or (self.imported and "." not in self.input)


def _date(value) -> dt.date | None:
    return None if units.is_missing(value) else pd.Timestamp(value).date()


_SPANS: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict[str, Span] | None]" = weakref.WeakKeyDictionary()


def spans(con: duckdb.DuckDBPyConnection) -> dict[str, Span] | None:
    """The ``coverage`` table by input, or None for a warehouse built before it existed (then
    everything counts as provided, as before). Read once per connection (a few dozen rows, asked
    for by every KPI query); :func:`forget` drops what was read after a rebuild."""
    if con not in _SPANS:
        cur = con.cursor()
        try:
            rows = cur.execute("SELECT input, n_rows, first_date, last_date, imported FROM coverage").fetchall()
        except duckdb.CatalogException:
            _SPANS[con] = None
        else:
            _SPANS[con] = {r[0]: Span(r[0], int(r[1]), _date(r[2]), _date(r[3]), bool(r[4])) for r in rows}
        finally:
            cur.close()
    return _SPANS[con]


def forget() -> None:
    """Drop the coverage read so far (db.rebuild_rollups calls it: the table was rewritten)."""
    _SPANS.clear()
    _COVERAGES.clear()


def store_columns_in_scope(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, int] | None:
    """Stores under the filters' store dimensions with a value in each optional store column
    (None when the filters pin no store dimension: the coverage table answers)."""
    where, params = filters.where_sql("stores"), filters.params("stores")
    if where == "TRUE":
        return None
    cols = ", ".join(f"count({c})" for c in STORE_COLUMNS)
    cur = con.cursor()
    try:
        row = cur.execute(f"SELECT {cols} FROM stores WHERE {where}", params).fetchone()
    finally:
        cur.close()
    return {f"stores.{c}": int(n) for c, n in zip(STORE_COLUMNS, row)}


@dataclass(frozen=True)
class Coverage:
    """What one warehouse holds, under one set of filters' store scope."""

    spans: Mapping[str, Span] | None
    scoped: Mapping[str, int] | None = None
    _reasons: dict = field(default_factory=dict, compare=False, repr=False)

    def gap(self, item: str, start: dt.date | None, end: dt.date | None) -> str | None:
        """Why ``item`` is not covered over start..end, in words; None when it is."""
        if self.spans is None:
            return None
        start, end = _date(start), _date(end)   # callers pass dates or pandas Timestamps
        if "|" in item:   # either input will do (a promised time or a promised wait)
            gaps = [self.gap(alternative, start, end) for alternative in item.split("|")]
            return None if any(g is None for g in gaps) else gaps[0]
        words = WORDS.get(item, item)
        table = item.split(".")[0]
        span = self.spans.get(item)
        if span is None and "." in item:     # a required column: it has what its table has
            span = self.spans.get(table)
            if span is not None:
                span = Span(item, span.n_rows, span.first, span.last, span.imported)
        if span is None and table not in self.spans:
            return None   # a table sql/rollups_coverage.sql does not know yet: not judged (add it there)
        if self.scoped is not None and item in self.scoped:
            return None if self.scoped[item] > 0 else f"no {words} for the filtered stores"
        parent = self.spans.get(item.split(".")[0])
        if "." in item and parent is not None and parent.given and parent.n_rows == 0:
            return None                    # the table was imported with no rows: nothing to lack
        if span is None or not span.given:
            return f"no {words} imported"
        if span.n_rows == 0 or span.first is None or span.last is None:
            return None                    # imported with no rows, or undated: covered everywhere
        table = item.split(".")[0]
        if table in OWN_DATE_TABLES or table == "orders":
            lo, hi = start, end
        elif table in EVENT_TABLES:   # a quiet spell is not a gap: allow the maturity horizon each side
            horizon = dt.timedelta(days=maturity_days())
            lo, hi = (start - horizon if start else None), (end + horizon if end else None)
        else:
            return None
        if (lo is not None and span.last < lo) or (hi is not None and span.first > hi):
            return f"{words} cover {span.first:%-d %b %Y} – {span.last:%-d %b %Y} only"
        return None

    def reason(self, name: str, start: dt.date | None, end: dt.date | None) -> str | None:
        """Why KPI ``name`` is not provided over start..end ("not provided: no costs imported"),
        or None when it can be computed."""
        key = (name, start, end)
        if key not in self._reasons:
            self._reasons[key] = self.reason_for(_sorted_inputs(name), start, end)
        return self._reasons[key]

    def reason_for(self, inputs: Iterable[str], start: dt.date | None, end: dt.date | None) -> str | None:
        """Why a value computed from ``inputs`` is not provided over start..end, as :meth:`reason`
        words a KPI's; for values outside the registry (the anomaly flags' watched KPIs)."""
        gaps = [g for g in (self.gap(i, start, end) for i in inputs) if g]
        return f"not provided: {'; '.join(dict.fromkeys(gaps))}" if gaps else None


_COVERAGES: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict]" = weakref.WeakKeyDictionary()


def of(con: duckdb.DuckDBPyConnection, filters: Filters) -> Coverage:
    """The warehouse's coverage under the filters' store scope (one object per connection and
    scope, so that its reasons are worked out once)."""
    scoped = store_columns_in_scope(con, filters)
    key = tuple(sorted(scoped.items())) if scoped is not None else None
    known = _COVERAGES.setdefault(con, {})
    if key not in known:
        known[key] = Coverage(spans(con), scoped)
    return known[key]


def not_provided(con: duckdb.DuckDBPyConnection, filters: Filters, names: Iterable[str]) -> dict[str, str]:
    """KPI name -> reason, for the KPIs of ``names`` the warehouse cannot provide over the filters' period."""
    cov = of(con, filters)
    out = {}
    for name in names:
        why = cov.reason(name, filters.start, filters.end)
        if why:
            out[name] = why
    return out


def evidence_reason(name: str, reviews) -> str | None:
    """"too few reviews (2)" when KPI ``name`` needs more reviews than ``reviews``; None otherwise."""
    floor = KPIS[name].min_evidence()
    n = 0 if units.is_missing(reviews) else int(reviews)
    if floor and n < floor:
        return f"too few reviews ({n})"
    return None


# ------------------------------------------------------------------------------------------
# Provisional periods
# ------------------------------------------------------------------------------------------

def latest_order(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The moment of the newest order (warehouse_meta ``as_of``): how far the data reaches."""
    value = db.scalar(con, "SELECT value FROM warehouse_meta WHERE key = 'as_of'")
    if value is None or units.is_missing(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def provisional_names(con: duckdb.DuckDBPyConnection, filters: Filters, names: Iterable[str]) -> tuple[str, ...]:
    """The maturing KPIs of ``names`` (Kpi.matures) when the filter period is provisional: it ends
    (or is open) less than O2O_MATURITY_DAYS before the newest order."""
    return _provisional(latest_order(con), filters, names)


def _provisional(as_of: dt.datetime | None, filters: Filters, names: Iterable[str]) -> tuple[str, ...]:
    """:func:`provisional_names` with the newest order's moment read already."""
    if as_of is None:
        return ()
    if filters.end is not None and (as_of.date() - filters.end).days >= maturity_days():
        return ()
    return tuple(n for n in names if KPIS[n].matures)


def equal_age_moment(as_of: dt.datetime, end: dt.date, compared_end: dt.date) -> dt.datetime:
    """The moment at which a period ending on ``compared_end`` was as old as the period ending on
    ``end`` is at ``as_of``: ``as_of`` moved back by the distance between the two ends. The one
    equal-age rule (period cards, comparisons, the weekly summary and report)."""
    return as_of - dt.timedelta(days=(end - compared_end).days)


def equal_age_cutoff(con: duckdb.DuckDBPyConnection, filters: Filters,
                     compared_end: dt.date | None = None) -> dt.datetime | None:
    """For a provisional period ``filters.start..end`` compared with a period ending on
    ``compared_end`` (default: the period of equal length just before it): the moment at which
    that period was as old as this one is now — the newest order moved back by the distance
    between the two periods' ends (:func:`equal_age_moment`). None when the period has no
    start, or is not provisional."""
    return _equal_age_cutoff(latest_order(con), filters, compared_end)


def _equal_age_cutoff(as_of: dt.datetime | None, filters: Filters, compared_end: dt.date | None) -> dt.datetime | None:
    """:func:`equal_age_cutoff` with the newest order's moment read already."""
    if as_of is None or filters.start is None or not _provisional(as_of, filters, ("redemption_rate",)):
        return None
    end = filters.end or as_of.date()
    if compared_end is None:
        compared_end = filters.start - dt.timedelta(days=1)
    return equal_age_moment(as_of, end, compared_end)


def equal_age(con: duckdb.DuckDBPyConnection, filters: Filters, names: Iterable[str],
              compared_end: dt.date | None = None) -> tuple[tuple[str, ...], dt.datetime | None]:
    """(:func:`provisional_names`, :func:`equal_age_cutoff`) in one call, for the period cards:
    the newest order's moment is read once, not three times."""
    as_of = latest_order(con)
    return _provisional(as_of, filters, names), _equal_age_cutoff(as_of, filters, compared_end)
