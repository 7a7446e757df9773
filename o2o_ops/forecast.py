"""The load ahead: redemptions forecast per store, day and hour for the next :data:`HORIZON_DAYS`
days after a cut, against each store's capacity, and the stores and campaigns at risk.

Everything is read "as it stood" at the end of the cut day ``cut`` (the data's last day by
default): orders placed by then, redemptions and refunds made by then. So the same warehouse can
be cut at any earlier day and the forecast compared with what happened (:func:`evaluate_demo`).

Expected redemptions of store s on day d (d after the cut) =

1. **the voucher book** — every voucher of s sold by the cut, paid, not redeemed, not refunded and
   still valid at the cut: a voucher **booked** for a day after the cut (``orders.promised_at``:
   a booked slot, e.g. a group-buy sold ahead for an event) comes on that day with the measured
   share of bookings kept (:func:`show_rate`); a voucher booked for a day before the cut's and
   not redeemed (a missed booking) as an open voucher of its age (below), scaled to the share of
   missed bookings that came later (:func:`late_rate`); any other, the chance it is redeemed on d given
   that it was still open at its age at the cut, ``P(delay = d − ordered | delay > age) = p(delay)
   / S(age + 1)``; zero after its ``valid_until``; ``p`` is the store category's redemption delay
   (days from order to redemption, "never" included) over the orders of the
   :data:`DELAY_WINDOW_DAYS` days ending :data:`DELAY_MATURE_DAYS` before the cut (old enough
   that delays up to that many days are seen);
2. **plus vouchers not sold yet** — the store's paid orders per weekday over the
   :data:`LEVEL_WEEKS` weeks up to the cut, for each day from the cut's next day to d: those sold
   without a booking times ``p(d − order day)``; those booked for a day, by the store's own
   booking lead time (orders per weekday booked ``d − order day`` days ahead) times the share of
   bookings kept. So a presale for an event (booked weeks ahead, in the book at the cut) is not
   projected into the horizon a second time: a sale after the cut that far ahead lands after it.

By hour: each store's share of its redemptions per hour of day over the :data:`PROFILE_WEEKS`
weeks to the cut, shrunk towards its category's (:data:`PROFILE_PRIOR` redemptions' weight).

Capacity is the registry's one capacity calendar (:func:`o2o_ops.metrics.capacity_calendar_cte`)
over the horizon: ``capacity_per_hour`` × open hours a day. A store is **at risk** when the forecast
of any :data:`RISK_WINDOW_DAYS` consecutive days exceeds its capacity over them — the same rule as
"a week over capacity" of the efficiency page (one busy hour is ordinary; a week over capacity is
a rush the store cannot absorb). Campaigns at risk: campaigns with open vouchers at stores at risk.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import duckdb
import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from o2o_ops import db, metrics
from o2o_ops.filters import Filters

HORIZON_DAYS = 14
MAX_DELAY_DAYS = 60          # a voucher older than this at the cut is not expected any more
DELAY_MATURE_DAYS = MAX_DELAY_DAYS + 1
DELAY_WINDOW_DAYS = 91
LEVEL_WEEKS = 4
PROFILE_WEEKS = 8
PROFILE_PRIOR = 20.0
RISK_WINDOW_DAYS = 7

# The vouchers open at the cut, grouped. Refunded by the cut: the order's first refund
# (order_facts.first_refunded_at) before its end, so the refunds table is not scanned and joined.
_OPEN_BOOK_SQL = """
SELECT o.store_id, o.category, o.order_date, CAST(o.valid_until AS DATE) AS valid_date,
       o.campaign_id,
       CASE WHEN o.promised_at >= $cut_end THEN CAST(o.promised_at AS DATE) END AS booked_date,
       COALESCE(CAST(o.promised_at AS DATE) < $cut, FALSE) AS missed,
       count(*) AS count_open
FROM order_facts o
WHERE o.is_paid AND o.ordered_at < $cut_end
  AND (o.order_date >= $oldest OR o.promised_at >= $cut_end)
  AND (o.redeemed_at IS NULL OR o.redeemed_at >= $cut_end)
  AND (o.valid_until IS NULL OR o.valid_until >= $cut_end)
  AND (o.first_refunded_at IS NULL OR o.first_refunded_at >= $cut_end)
  AND {where}
GROUP BY o.store_id, o.category, o.order_date, CAST(o.valid_until AS DATE), o.campaign_id,
         CASE WHEN o.promised_at >= $cut_end THEN CAST(o.promised_at AS DATE) END,
         COALESCE(CAST(o.promised_at AS DATE) < $cut, FALSE)
"""

# Bookings whose day has passed (and the day after it, for a visit running past midnight): how
# many were redeemed by the end of the day after their booked day.
_SHOW_SQL = """
SELECT count(*) AS count_booked,
       count(*) FILTER (WHERE o.redeemed_at < $cut_end
                          AND CAST(o.redeemed_at AS DATE) <= CAST(o.promised_at AS DATE) + 1) AS count_shown,
       count(*) FILTER (WHERE o.redeemed_at < $cut_end
                          AND CAST(o.redeemed_at AS DATE) > CAST(o.promised_at AS DATE) + 1) AS count_late
FROM order_facts o
WHERE o.is_paid AND o.promised_at IS NOT NULL AND o.ordered_at < $cut_end
  AND CAST(o.promised_at AS DATE) BETWEEN $first AND $last
"""

_DELAY_SQL = """
SELECT o.category,
       CASE WHEN o.redeemed_at < $cut_end
            THEN date_diff('day', o.order_date, CAST(o.redeemed_at AS DATE)) END AS delay_days,
       count(*) AS count_orders
FROM order_facts o
WHERE o.is_paid AND o.order_date BETWEEN $first AND $last
GROUP BY 1, 2
"""

# lead_days: days from the order to the day it was booked for (NULL: not booked)
_LEVEL_SQL = """
SELECT o.store_id, o.order_date,
       CASE WHEN o.promised_at IS NOT NULL
            THEN date_diff('day', o.order_date, CAST(o.promised_at AS DATE)) END AS lead_days,
       count(*) AS count_orders
FROM order_facts o
WHERE o.is_paid AND o.order_date BETWEEN $first AND $cut AND {where}
GROUP BY 1, 2, 3
"""

_PROFILE_SQL = """
SELECT h.store_id, h.category, h.hour, sum(h.count_redemptions) AS count_redemptions
FROM rollup_store_hour h
WHERE h.date BETWEEN $first AND $cut
GROUP BY 1, 2, 3
"""

_ACTUAL_SQL = """
SELECT store_id, date AS day, sum(count_redemptions) AS redemptions
FROM rollup_store_hour
WHERE date BETWEEN $first AND $last AND {where}
GROUP BY 1, 2
"""


def default_cut(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The last day of the data (the latest order's day)."""
    day = db.scalar(con, "SELECT max(order_date) FROM order_facts")
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def _cut_params(cut: dt.date) -> dict:
    return {"cut": cut, "cut_end": dt.datetime.combine(cut + dt.timedelta(days=1), dt.time())}


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """db.run with only the parameters ``sql`` names (DuckDB refuses extra ones)."""
    return db.run(con, sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def delay_distribution(con: duckdb.DuckDBPyConnection, cut: dt.date) -> pd.DataFrame:
    """p(delay) per category: columns category, delay_days (0..MAX_DELAY_DAYS), share; the rest of
    each category's orders were never redeemed (or later than MAX_DELAY_DAYS)."""
    last = cut - dt.timedelta(days=DELAY_MATURE_DAYS)
    first = last - dt.timedelta(days=DELAY_WINDOW_DAYS - 1)
    df = _run(con, _DELAY_SQL, {**_cut_params(cut), "first": first, "last": last})
    if df.empty:   # a young warehouse: every order up to a week before the cut (long delays cut short)
        df = _run(con, _DELAY_SQL, {**_cut_params(cut), "first": dt.date(1900, 1, 1),
                                      "last": cut - dt.timedelta(days=7)})
    totals = df.groupby("category")["count_orders"].transform("sum")
    df["share"] = df["count_orders"] / totals
    df = df[df["delay_days"].notna() & (df["delay_days"] <= MAX_DELAY_DAYS)]
    return df.assign(delay_days=df["delay_days"].astype(int))[["category", "delay_days", "share"]]


def show_rate(con: duckdb.DuckDBPyConnection, cut: dt.date) -> float:
    """The share of booked vouchers (``orders.promised_at``) redeemed by the end of the day after
    their booked day, over the bookings of the :data:`DELAY_WINDOW_DAYS` days ending two days
    before the cut (1.0 when no booking has come due yet: a booking is assumed kept)."""
    return _show_counts(con, cut)[0]


def late_rate(con: duckdb.DuckDBPyConnection, cut: dt.date) -> float | None:
    """Of the bookings :func:`show_rate` reads that were not redeemed by the end of the day after
    their booked day, the share redeemed later (by the cut); None when none was missed."""
    return _show_counts(con, cut)[1]


def _show_counts(con: duckdb.DuckDBPyConnection, cut: dt.date) -> tuple[float, float | None]:
    row = _run(con, _SHOW_SQL, {**_cut_params(cut), "first": cut - dt.timedelta(days=DELAY_WINDOW_DAYS + 1),
                                  "last": cut - dt.timedelta(days=2)}).iloc[0]
    booked, shown, late = (float(row[c]) for c in ("count_booked", "count_shown", "count_late"))
    return (shown / booked if booked else 1.0), (late / (booked - shown) if booked > shown else None)


def _delay_matrix(delays: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {}
    for category, part in delays.groupby("category"):
        p = np.zeros(MAX_DELAY_DAYS + 1)
        p[part["delay_days"].to_numpy()] = part["share"].to_numpy()
        out[category] = p
    return out


def _days(cut: dt.date) -> list[dt.date]:
    return [cut + dt.timedelta(days=i + 1) for i in range(HORIZON_DAYS)]


def daily_forecast(con: duckdb.DuckDBPyConnection, filters: Filters = Filters(), cut: dt.date | None = None) -> pd.DataFrame:
    """Expected redemptions per store and day of the horizon: store_id, category, day,
    from_book (vouchers sold by the cut), from_new_sales, expected."""
    cut = cut or default_cut(con)
    if cut is None:
        return pd.DataFrame(columns=_FORECAST_COLUMNS)
    return _daily(con, filters, cut)[0]


_FORECAST_COLUMNS = ["store_id", "category", "day", "from_book", "from_new_sales", "expected"]


def _daily(con: duckdb.DuckDBPyConnection, filters: Filters, cut: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`daily_forecast`'s frame, and the open voucher book it read (``_OPEN_BOOK_SQL``'s rows:
    the campaigns at risk are counted from it)."""
    columns = _FORECAST_COLUMNS
    flt = _store_filters(filters)
    params = {**_cut_params(cut), **flt.params("facts")}
    p = _delay_matrix(delay_distribution(con, cut))
    days = _days(cut)
    book = _run(con, _OPEN_BOOK_SQL.format(where=flt.where_sql("facts", "o")),
                  {**params, "oldest": cut - dt.timedelta(days=MAX_DELAY_DAYS)})
    raw_book = book
    level = _run(con, _LEVEL_SQL.format(where=flt.where_sql("facts", "o")),
                   {**params, "first": cut - dt.timedelta(days=7 * LEVEL_WEEKS - 1)})
    stores = db.run(con, f"SELECT store_id, category FROM stores WHERE {flt.where_sql('stores')} ORDER BY store_id",
                    flt.params("stores"))
    kept, late = _show_counts(con, cut)     # read once: the book and the sales still to come use them
    from_book = np.zeros(len(stores) * len(days))     # store-major: store k's day j is row k * HORIZON_DAYS + j
    # 1. the voucher book, one array operation over (voucher group x horizon day)
    if not book.empty and p:    # no delays measured (no redemption yet): nothing from the book
        categories = sorted(p)
        table = np.array([p[c] for c in categories])                     # category x delay
        never = 1.0 - table.sum(axis=1)
        tail = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]                 # tail[c, k] = P(delay >= k)
        tail = np.hstack([tail, np.zeros((len(categories), 1))])
        book = book[book["category"].isin(categories) & book["store_id"].isin(set(stores["store_id"]))]
        cat = book["category"].map({c: i for i, c in enumerate(categories)}).to_numpy(dtype=int)
        ordered = pd.to_datetime(book["order_date"]).to_numpy(dtype="datetime64[D]")
        horizon = np.array(days, dtype="datetime64[D]")
        delay = (horizon[None, :] - ordered[:, None]).astype(int)          # group x day
        age = (np.datetime64(cut, "D") - ordered).astype(int)
        survive = tail[cat, np.minimum(age + 1, MAX_DELAY_DAYS + 1)] + never[cat]
        valid = pd.to_datetime(book["valid_date"]).to_numpy(dtype="datetime64[D]")
        in_validity = ~(~np.isnat(valid)[:, None] & (horizon[None, :] > valid[:, None]))
        usable = (delay <= MAX_DELAY_DAYS) & in_validity
        chance = np.where(usable, table[cat[:, None], np.clip(delay, 0, MAX_DELAY_DAYS)], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            chance = np.where(survive[:, None] > 0, chance / survive[:, None], 0.0)
        # a voucher booked for a day before the cut and not redeemed: a missed booking; it still
        # comes as often as missed bookings came later (late_rate), spread over the days as an
        # open voucher of its age (the category's delays, scaled to that share)
        missed = book["missed"].to_numpy(dtype=bool)
        if missed.any() and late is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                comes = np.where(survive > 0, tail[cat, np.minimum(age + 1, MAX_DELAY_DAYS + 1)] / survive, 0.0)
                scale = np.where(comes > 0, late / comes, 0.0)
            chance = np.where(missed[:, None], chance * scale[:, None], chance)
        # a voucher booked for a day after the cut comes on that day, as often as bookings are kept
        booked = pd.to_datetime(book["booked_date"]).to_numpy(dtype="datetime64[D]")
        has_booking = ~np.isnat(booked)
        if has_booking.any():
            on_day = (horizon[None, :] == booked[:, None]) & in_validity
            chance = np.where(has_booking[:, None], np.where(on_day, kept, 0.0), chance)
        position = {sid: k for k, sid in enumerate(stores["store_id"])}
        rows = (book["store_id"].map(position).to_numpy(dtype=int)[:, None] * len(days)
                + np.arange(len(days))[None, :])
        np.add.at(from_book, rows, book["count_open"].to_numpy(dtype=float)[:, None] * chance)
    # 2. vouchers not sold yet: the weekday level of the last weeks, public holidays left out;
    # those sold without a booking redeemed by the category's delays, those booked for a day on
    # that day (the store's own lead times, as often as bookings are kept). A sale booked more than
    # the horizon ahead (a presale for an event) lands after it: it does not count the event's
    # vouchers, already in the book, a second time.
    no_delays = np.zeros(MAX_DELAY_DAYS + 1)
    delays = np.array([p.get(c, no_delays) for c in stores["category"]]).reshape(len(stores), MAX_DELAY_DAYS + 1)
    from_new = _from_new_sales(level, pd.Index(stores["store_id"]), delays, cut, kept)
    out = stores.loc[stores.index.repeat(len(days)), ["store_id", "category"]].reset_index(drop=True)
    out["day"] = np.tile(pd.to_datetime(pd.Series(days)).to_numpy(), len(stores))
    out["from_book"], out["from_new_sales"] = from_book, from_new.ravel()
    out["expected"] = out["from_book"] + out["from_new_sales"]
    return out[columns], raw_book


def _from_new_sales(level: pd.DataFrame, store_ids: pd.Index, delays: np.ndarray, cut: dt.date,
                    kept: float) -> np.ndarray:
    """Expected redemptions from the vouchers sold after the cut, store x horizon day (stores in
    the order of ``store_ids``): summed over each sale day i up to the day j, the store's level of
    unbooked sales on i's weekday times ``delays[store, j - i]`` (its category's p(delay)), plus
    its level of sales booked ``j - i`` days ahead on i's weekday times the share of bookings
    ``kept``. ``level`` holds ``_LEVEL_SQL``'s rows."""
    horizon = HORIZON_DAYS
    booked = level["lead_days"].notna()
    per_weekday = np.zeros((len(store_ids), 7))                  # store x ISO weekday - 1
    per_lead = np.zeros((len(store_ids), 7, horizon))            # store x ISO weekday - 1 x lead days
    unbooked_level = _weekday_level(level[~booked], cut)
    rows = store_ids.get_indexer(unbooked_level.index.get_level_values("store_id"))
    weekdays = unbooked_level.index.get_level_values("weekday").to_numpy() - 1
    known = rows >= 0
    per_weekday[rows[known], weekdays[known]] = unbooked_level.to_numpy()[known]
    booked_level = level[booked]
    lead_level = _weekday_level(booked_level.assign(lead_days=booked_level["lead_days"].astype(int).clip(lower=0)),
                                cut, by=("lead_days",))
    rows = store_ids.get_indexer(lead_level.index.get_level_values("store_id"))
    weekdays = lead_level.index.get_level_values("weekday").to_numpy() - 1
    leads = lead_level.index.get_level_values("lead_days").to_numpy()
    known = (rows >= 0) & (leads < horizon)      # booked further ahead: lands after the horizon
    per_lead[rows[known], weekdays[known], leads[known]] = lead_level.to_numpy()[known]
    # sale day i x redemption day j of the horizon; a sale comes on its day or later
    sale_weekday = np.array([day.isoweekday() - 1 for day in _days(cut)])
    lead = np.arange(horizon)[None, :] - np.arange(horizon)[:, None]
    later = lead >= 0
    lead = np.where(later, lead, 0)
    by_delay = per_weekday[:, sale_weekday, None] * delays[:, lead]                    # store x i x j
    by_booking = per_lead[:, sale_weekday[:, None], lead] * kept
    return np.where(later, by_delay + by_booking, 0.0).sum(axis=1)


def _weekday_level(level: pd.DataFrame, cut: dt.date, by: tuple[str, ...] = ()) -> pd.Series:
    """Mean paid orders per (store_id, ISO weekday, *by) on that weekday over the last LEVEL_WEEKS
    weeks, public holidays (setting O2O_HOLIDAY_COUNTRY) left out: a holiday's rush is not next
    week's. ``level`` holds ``_LEVEL_SQL``'s columns (``by`` among them)."""
    from o2o_ops import comparisons

    first = cut - dt.timedelta(days=7 * LEVEL_WEEKS - 1)
    holidays = pd.DatetimeIndex(sorted(comparisons.holiday_days(first, cut)))
    window = pd.date_range(first, cut, freq="D")
    ordinary = window[~window.isin(holidays)]
    days_per_weekday = np.bincount(ordinary.day_of_week, minlength=7)     # Monday first
    order_date = pd.to_datetime(level["order_date"])
    level = level.assign(weekday=order_date.dt.day_of_week + 1)[~order_date.isin(holidays).to_numpy()]
    sums = level.groupby(["store_id", "weekday", *by])["count_orders"].sum()
    ordinary_days = days_per_weekday[sums.index.get_level_values("weekday").to_numpy() - 1]
    return (sums[ordinary_days > 0] / ordinary_days[ordinary_days > 0]).astype(float)


def hour_profile(con: duckdb.DuckDBPyConnection, cut: dt.date) -> pd.DataFrame:
    """Each store's share of a day's redemptions per hour (store_id, hour, share), shrunk towards
    its category's profile."""
    df = db.run(con, _PROFILE_SQL, {"cut": cut, "first": cut - dt.timedelta(days=7 * PROFILE_WEEKS - 1)})
    if df.empty:
        return pd.DataFrame(columns=["store_id", "hour", "share"])
    cat = df.groupby(["category", "hour"])["count_redemptions"].sum()
    cat_share = (cat / cat.groupby(level=0).transform("sum")).rename("cat_share").reset_index()
    full = (df[["store_id", "category"]].drop_duplicates()
            .merge(pd.DataFrame({"hour": range(24)}), how="cross")
            .merge(df[["store_id", "hour", "count_redemptions"]], on=["store_id", "hour"], how="left")
            .merge(cat_share, on=["category", "hour"], how="left").fillna({"count_redemptions": 0, "cat_share": 0}))
    n = full.groupby("store_id")["count_redemptions"].transform("sum")
    full["share"] = (full["count_redemptions"] + PROFILE_PRIOR * full["cat_share"]) / (n + PROFILE_PRIOR)
    return full[["store_id", "hour", "share"]]


def capacity(con: duckdb.DuckDBPyConnection, filters: Filters, cut: dt.date) -> pd.DataFrame:
    """Per store: capacity_per_day and capacity_per_hour over the horizon, from the registry's one
    capacity calendar (stores without a capacity are left out)."""
    horizon = filters.replace(start=cut + dt.timedelta(days=1), end=cut + dt.timedelta(days=HORIZON_DAYS))
    params: dict = {}
    day_cte = metrics.capacity_calendar_cte(horizon, "store", params, name="cap_day")
    # a day's capacity follows the store's opening hours (store_hours, else the setting); an open
    # hour's capacity is the store's capacity_per_hour
    sql = f"""WITH {day_cte}
    SELECT d.store_id, d.capacity_hours / CAST($days AS DOUBLE) AS capacity_per_day,
           CAST(s.capacity_per_hour AS DOUBLE) AS capacity_per_hour
    FROM cap_day d JOIN stores s USING (store_id)"""
    return db.run(con, sql, {**params, "days": HORIZON_DAYS})


def not_provided(con: duckdb.DuckDBPyConnection, cut: dt.date | None = None) -> str | None:
    """Why the load ahead cannot be forecast at ``cut`` (the data's last day by default), as a KPI's
    note says it ("not provided: no redemptions imported"); None when it can. It learns how soon
    vouchers are redeemed, and at which hours, from the redemptions of the days before the cut and
    compares them with the stores' capacity: what capacity utilisation needs over those days
    (:mod:`o2o_ops.coverage`, over every store: the filters' stores without a capacity are left
    out of the forecast as before; no query once the connection's coverage is read). Without
    redemptions every voucher would look open and none expected: "0 redemptions, 0 % of
    capacity", an all-clear nobody measured."""
    from o2o_ops import coverage
    cut = cut or default_cut(con)
    if cut is None:
        return None
    start = cut - dt.timedelta(days=DELAY_MATURE_DAYS + DELAY_WINDOW_DAYS)
    return coverage.of(con, Filters()).reason("capacity_utilisation", start, cut)


def load_ahead(con: duckdb.DuckDBPyConnection, filters: Filters = Filters(), cut: dt.date | None = None, *,
               stored: bool = True, by_store: bool = True) -> dict:
    """The forecast and the risk: ``{"cut", "days": per store-day (with capacity_per_day and
    utilisation), "stores": per store (peak_window_utilisation, peak_window_start, peak_hour,
    peak_hour_utilisation, at_risk), "campaigns": campaigns with open vouchers at stores at risk}``.
    With ``by_store=False`` the days are summed over the stores (:data:`DAY_TOTAL_COLUMNS`, one
    row per day: what the page's chart draws; 14 rows read instead of 14 per store).

    Only the filters' stores count (city, district, region, category, store, the user's scope): a
    store's capacity is shared by all its customers, so the dates, channel, campaign kind and
    campaign filters do not apply. At the data's last day (the default cut) the result is read
    from the tables written at build time (:func:`build_table`); ``stored=False``, another cut, or
    settings changed since the build compute it afresh. ``"why"``: :func:`not_provided` (then
    nothing is forecast, and ``cut`` is None), else None."""
    why = not_provided(con, cut)
    if why is not None:
        return {**_finish(None, *_empty_parts(), by_store=by_store), "why": why}
    if stored and (cut is None or cut == _stored_cut(con)):
        parts = _read_stored(con, filters, by_store=by_store)
        if parts is not None:
            return {**_finish(*parts, by_store=by_store), "why": None}
    cut = cut or default_cut(con)
    if cut is None:
        return {**_finish(None, *_empty_parts(), by_store=by_store), "why": None}
    return {**_finish(cut, *_live(con, filters, cut), by_store=by_store), "why": None}


DAY_COLUMNS = [*_FORECAST_COLUMNS, "capacity_per_day", "capacity_per_hour", "utilisation", "window_utilisation"]
#: the days summed over the stores (``load_ahead(..., by_store=False)``)
DAY_TOTAL_COLUMNS = ["day", "from_book", "from_new_sales", "expected", "capacity_per_day"]
STORE_COLUMNS = ["store_id", "store_name", "city", "category", "expected_14d", "from_book", "capacity_per_day",
                 "peak_window_start", "peak_window_utilisation", "peak_hour_day", "peak_hour",
                 "peak_hour_utilisation", "at_risk"]
_STORE_DOUBLES = ["expected_14d", "from_book", "capacity_per_day", "peak_window_utilisation", "peak_hour_utilisation"]
CAMPAIGN_COLUMNS = ["campaign_id", "open_vouchers", "stores_at_risk"]
#: open vouchers per store at risk and campaign (what the campaigns at risk are counted from)
OPEN_COLUMNS = ["store_id", "campaign_id", "open_vouchers"]


def _store_filters(filters: Filters) -> Filters:
    """The filters the load ahead reads: the stores' (see :func:`load_ahead`)."""
    return filters.stores_only()


def _empty_parts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame(columns=DAY_COLUMNS), pd.DataFrame(columns=STORE_COLUMNS),
            pd.DataFrame(columns=OPEN_COLUMNS))


def _live(con: duckdb.DuckDBPyConnection, filters: Filters, cut: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per store of the filters, computed at ``cut``: the days (DAY_COLUMNS), the stores
    (STORE_COLUMNS, unsorted) and the open vouchers of the stores at risk per campaign
    (OPEN_COLUMNS). Every row depends on its store alone (the delays, the show rate and the hour
    profiles are read over every store), so the filters only choose rows."""
    days, book = _daily(con, filters, cut)
    if days.empty:
        return _empty_parts()
    cap = capacity(con, _store_filters(filters), cut)
    days = days.merge(cap, on="store_id", how="inner")
    if days.empty:
        return _empty_parts()
    days["utilisation"] = days["expected"] / days["capacity_per_day"].where(days["capacity_per_day"] > 0)
    days = days.sort_values(["store_id", "day"]).reset_index(drop=True)
    # every store has the horizon's days (_daily's grid): a store's days are a row of these arrays
    grid = (len(days) // HORIZON_DAYS, HORIZON_DAYS)
    store_ids = pd.Index(days["store_id"].iloc[::HORIZON_DAYS])
    day_grid = days["day"].to_numpy().reshape(grid)
    expected = days["expected"].to_numpy(dtype=float).reshape(grid)
    window = np.full(grid, np.nan)        # the 7 days ending on the day; NaN for the first 6
    window[:, RISK_WINDOW_DAYS - 1:] = (
        sliding_window_view(expected, RISK_WINDOW_DAYS, axis=1).sum(axis=2)
        / _positive(sliding_window_view(days["capacity_per_day"].to_numpy(dtype=float).reshape(grid),
                                        RISK_WINDOW_DAYS, axis=1).sum(axis=2)))
    days["window_utilisation"] = window.ravel()
    profile = hour_profile(con, cut)
    share = np.full((grid[0], 24), np.nan)         # store x hour of day; NaN: the store has no profile
    rows = store_ids.get_indexer(profile["store_id"])
    known = rows >= 0
    share[rows[known], profile["hour"].to_numpy(dtype=int)[known]] = profile["share"].to_numpy(dtype=float)[known]
    per_hour = _positive(days["capacity_per_hour"].to_numpy(dtype=float)[::HORIZON_DAYS])
    hour_utilisation = (expected[:, :, None] * share[:, None, :] / per_hour[:, None, None]).reshape(grid[0], -1)
    first = _first_peak(hour_utilisation)           # of the store's days x hours, day by day
    has = first >= 0
    peak_hour = pd.DataFrame({"peak_hour_day": day_grid[has, first[has] // 24], "peak_hour": first[has] % 24,
                              "hour_utilisation": hour_utilisation[has, first[has]]}, index=store_ids[has])
    first = _first_peak(window)
    has = first >= 0
    peak = pd.DataFrame({"day": day_grid[has, first[has]], "window_utilisation": window[has, first[has]]},
                        index=store_ids[has])
    names = db.run(con, "SELECT store_id, name AS store_name, city FROM stores")
    stores = (days.groupby(["store_id", "category"], as_index=False)
              .agg(expected_14d=("expected", "sum"), from_book=("from_book", "sum"),
                   capacity_per_day=("capacity_per_day", "first")))
    stores["peak_window_utilisation"] = stores["store_id"].map(peak["window_utilisation"])
    stores["peak_window_start"] = stores["store_id"].map(
        (peak["day"] - pd.Timedelta(days=RISK_WINDOW_DAYS - 1)) if not peak.empty else pd.Series(dtype="datetime64[ns]"))
    stores = stores.join(peak_hour, on="store_id")
    stores = stores.rename(columns={"hour_utilisation": "peak_hour_utilisation"})
    stores["at_risk"] = stores["peak_window_utilisation"].fillna(0) > 1
    stores = stores.merge(names, on="store_id", how="left")[STORE_COLUMNS]
    # the open vouchers of the stores at risk, per campaign
    book = book[book["store_id"].isin(set(stores.loc[stores["at_risk"], "store_id"])) & book["campaign_id"].notna()]
    open_book = (book.groupby(["store_id", "campaign_id"], as_index=False)["count_open"].sum()
                 .rename(columns={"count_open": "open_vouchers"}))[OPEN_COLUMNS]
    return days[DAY_COLUMNS], stores, open_book


def _first_peak(values: np.ndarray) -> np.ndarray:
    """Per row of ``values`` (a store's days, or days x hours, in time order), the position of
    the first value at the row's highest, -1 for a row without values (all NaN): values within a
    billionth of the highest count as equal, so a tie (a level repeating week after week) goes to
    the earliest whatever the order of the floating-point sums that made it (the stored and the
    live forecast must agree)."""
    top = np.fmax.reduce(values, axis=1)            # NaN left out; NaN for a row of NaN
    near = values >= (top - 1e-9 * np.abs(top))[:, None]
    return np.where(near.any(axis=1), near.argmax(axis=1), -1)


def _positive(values: np.ndarray) -> np.ndarray:
    """``values`` with zero and negative values as NaN (a divisor: no capacity, no utilisation)."""
    return np.where(values > 0, values, np.nan)


def _finish(cut: dt.date | None, days: pd.DataFrame, stores: pd.DataFrame, open_book: pd.DataFrame, *,
            by_store: bool = True) -> dict:
    """:func:`load_ahead`'s result from its parts, computed live or read from the tables: the same
    types and the same order either way (days by store and day, as both give them, or by day
    when not ``by_store``; stores by peak window utilisation, then id; campaigns by open vouchers,
    then id)."""
    if by_store:
        days = _typed(days[DAY_COLUMNS], {**{c: "float64" for c in DAY_COLUMNS[3:]}, "day": "datetime64[ns]"})
    else:
        if "store_id" in days:   # per store-day (computed live): summed here
            days = days.groupby("day", as_index=False)[DAY_TOTAL_COLUMNS[1:]].sum()
        days = _typed(days[DAY_TOTAL_COLUMNS].sort_values("day").reset_index(drop=True),
                      {**{c: "float64" for c in DAY_TOTAL_COLUMNS[1:]}, "day": "datetime64[ns]"})
    # peak_hour missing (NA) for a store without an hour profile
    stores = _typed(stores[STORE_COLUMNS], {**{c: "float64" for c in _STORE_DOUBLES}, "peak_hour": "Int64",
                                            "at_risk": "bool", "peak_hour_day": "datetime64[ns]",
                                            "peak_window_start": "datetime64[ns]"})
    stores = stores.sort_values(["peak_window_utilisation", "store_id"], ascending=[False, True]).reset_index(drop=True)
    stores["peak_window_start"] = stores["peak_window_start"].dt.date
    campaigns = pd.DataFrame(columns=CAMPAIGN_COLUMNS)
    if not open_book.empty:
        campaigns = (open_book.groupby("campaign_id", as_index=False)
                     .agg(open_vouchers=("open_vouchers", "sum"), stores_at_risk=("store_id", "nunique"))
                     .sort_values(["open_vouchers", "campaign_id"], ascending=[False, True])[CAMPAIGN_COLUMNS]
                     .reset_index(drop=True))
        campaigns = campaigns.astype({"open_vouchers": "int64", "stores_at_risk": "int64"})
    return {"cut": cut, "days": days, "stores": stores, "campaigns": campaigns}


def _typed(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``df`` with the columns of ``dtypes`` converted where they are of another type (an empty
    frame's columns are objects; DuckDB's timestamps are in microseconds)."""
    change = {c: t for c, t in dtypes.items() if df[c].dtype != t}
    return df.astype(change) if change else df


def store_risk(con: duckdb.DuckDBPyConnection, filters: Filters = Filters(), *, stored: bool = True) -> pd.DataFrame:
    """Per store at the data's end: the stores table of :func:`load_ahead` (for the map); from
    the build's table, only the stores are read. Empty where the load ahead cannot be forecast
    (:func:`not_provided`)."""
    if not_provided(con) is not None:
        return _finish(None, *_empty_parts())["stores"]
    if stored:
        parts = _read_stored(con, filters, stores_only=True)
        if parts is not None:
            return _finish(*parts)["stores"]
    return load_ahead(con, filters, stored=False)["stores"]


# ------------------------------------------------------------------------------------------
# The default cut, computed at build time
# ------------------------------------------------------------------------------------------

#: Part of the derived tables' fingerprint (db.rollups_version): change it when the forecast or
#: the tables' shape changes, so warehouses whose tables it wrote are refreshed.
TABLE_VERSION = "2"
#: written by :func:`build_table` (db.build_python_derived)
TABLES = ("forecast_meta", "forecast_days", "forecast_stores", "forecast_campaigns")
_SCHEMAS = {
    "forecast_meta": "cut DATE, settings VARCHAR",
    "forecast_days": ("store_id VARCHAR, category VARCHAR, day TIMESTAMP, from_book DOUBLE, from_new_sales DOUBLE, "
                      "expected DOUBLE, capacity_per_day DOUBLE, capacity_per_hour DOUBLE, utilisation DOUBLE, "
                      "window_utilisation DOUBLE"),
    "forecast_stores": ("store_id VARCHAR, store_name VARCHAR, city VARCHAR, category VARCHAR, expected_14d DOUBLE, "
                        "from_book DOUBLE, capacity_per_day DOUBLE, peak_window_start DATE, "
                        "peak_window_utilisation DOUBLE, peak_hour_day TIMESTAMP, peak_hour DOUBLE, "
                        "peak_hour_utilisation DOUBLE, at_risk BOOLEAN"),
    "forecast_campaigns": "store_id VARCHAR, campaign_id VARCHAR, open_vouchers BIGINT",
}


def _settings() -> str:
    """The settings the forecast reads (the open hours of a store without opening hours, the
    holidays left out of the weekday level): a table built under others is not read."""
    from o2o_ops import config
    return f"open_hours={metrics.open_hours_per_day()!r};holiday_country={config.get('O2O_HOLIDAY_COUNTRY')}"


def build_table(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write the forecast tables at the default cut for every store (the efficiency page's
    load ahead and the map's ring read them; its cost per import: docs/incremental.md).
    A warehouse without orders, or a holiday country the calendar does not know, writes no cut:
    the live computation then answers (and says what is wrong). Returns the store rows written."""
    return write_table(con, compute_table(con))


#: the derived tables :func:`compute_table` reads (besides the contract's): an import computes the
#: load ahead on a second connection as soon as these are up to date, beside the other steps
#: (o2o_ops/incremental.py; tests/test_incremental.py checks it reads no other)
DERIVED_READS = ("order_facts", "rollup_store_hour", "store_hour_open", "store_weekday_hours",
                 "rollup_day_store_channel_campaign")


def compute_table(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, tuple[pd.DataFrame, ...]]:
    """What :func:`build_table` writes: the cut and the days, stores and open vouchers of every
    store at it. Reads only; safe on a second connection while other tables are written."""
    from o2o_ops import comparisons

    cut = default_cut(con)
    parts = _empty_parts()
    if cut is not None:
        try:
            parts = _live(con, Filters(), cut)
        except comparisons.UnknownCountry:
            cut = None
    return cut, parts


def write_table(con: duckdb.DuckDBPyConnection, computed: tuple[dt.date | None, tuple[pd.DataFrame, ...]]) -> int:
    """Replace the forecast tables with :func:`compute_table`'s result. Returns the store rows written."""
    cut, parts = computed
    for table in TABLES:
        con.execute(f"CREATE OR REPLACE TABLE {table} ({_SCHEMAS[table]})")
    con.execute("INSERT INTO forecast_meta VALUES ($cut, $settings)", {"cut": cut, "settings": _settings()})
    for table, frame in zip(TABLES[1:], parts):
        if frame.empty:
            continue
        columns = [c.split()[0] for c in _SCHEMAS[table].split(", ")]
        con.register("_forecast_part", frame[columns])
        try:
            con.execute(f"INSERT INTO {table} SELECT {', '.join(columns)} FROM _forecast_part")
        finally:
            con.unregister("_forecast_part")
    return len(parts[1])


def _stored_cut(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The cut of the build's tables, when they can be read (they exist, hold a cut, and were
    built under the settings in force); else None."""
    try:
        row = db.run(con, "SELECT cut, settings FROM forecast_meta")
    except duckdb.CatalogException:   # a warehouse built before the tables (then also stale)
        return None
    if row.empty or pd.isna(row["cut"].iloc[0]) or row["settings"].iloc[0] != _settings():
        return None
    return pd.Timestamp(row["cut"].iloc[0]).date()


def _read_stored(con: duckdb.DuckDBPyConnection, filters: Filters, *, stores_only: bool = False,
                 by_store: bool = True):
    """(cut, days, stores, open vouchers) of the filters' stores from the build's tables, or None
    when they cannot be read (see :func:`_stored_cut`); ``stores_only`` leaves the days and the
    campaigns out; without ``by_store`` the days are summed over the stores."""
    cut = _stored_cut(con)
    if cut is None:
        return None
    flt = _store_filters(filters)
    where = f"store_id IN (SELECT store_id FROM stores WHERE {flt.where_sql('stores')})"
    params = flt.params("stores")
    read = {t: f"SELECT * FROM {t} WHERE {where}" for t in TABLES[1:]}
    if stores_only:
        days = pd.DataFrame(columns=DAY_COLUMNS)
    elif by_store:
        days = db.run(con, read["forecast_days"] + " ORDER BY store_id, day", params)
    else:
        sums = ", ".join(f"sum({c}) AS {c}" for c in DAY_TOTAL_COLUMNS[1:])
        days = db.run(con, f"SELECT day, {sums} FROM forecast_days WHERE {where} GROUP BY day ORDER BY day", params)
    stores = db.run(con, read["forecast_stores"], params)
    open_book = (pd.DataFrame(columns=OPEN_COLUMNS) if stores_only
                 else db.run(con, read["forecast_campaigns"], params))
    return cut, days, stores, open_book


# ------------------------------------------------------------------------------------------
# Measured on the demo: the data cut a week before each planted spike
# ------------------------------------------------------------------------------------------

def actual(con: duckdb.DuckDBPyConnection, filters: Filters, cut: dt.date) -> pd.DataFrame:
    """Redemptions made per store and day of the horizon (what the forecast is judged against)."""
    flt = filters.stores_only()
    df = db.run(con, _ACTUAL_SQL.format(where=flt.where_sql("hours")),
                {**flt.params("hours"), "first": cut + dt.timedelta(days=1),
                 "last": cut + dt.timedelta(days=HORIZON_DAYS)})
    return df.assign(day=pd.to_datetime(df["day"]))


def _wape(forecast: pd.Series, truth: pd.Series) -> float:
    total = truth.sum()
    return float((forecast - truth).abs().sum() / total) if total else math.nan


def evaluate(con: duckdb.DuckDBPyConnection, cut: dt.date, spike_city: str | None = None,
             spike_start: dt.date | None = None) -> dict:
    """Forecast error of a cut (weighted absolute percentage error over store-days, and of each
    store's 14-day total), split into the spike city's stores in the spike's days and the rest;
    and which stores the forecast put at risk against the stores that went over capacity in a
    7-day window of the horizon."""
    ahead = load_ahead(con, Filters(), cut)
    days = ahead["days"].merge(actual(con, Filters(), cut), on=["store_id", "day"], how="left").fillna({"redemptions": 0})
    stores = db.run(con, "SELECT store_id, city FROM stores")
    days = days.merge(stores, on="store_id")
    days["day"] = pd.to_datetime(days["day"]).dt.date
    in_spike = ((days["city"] == spike_city) & (days["day"] >= spike_start)
                & (days["day"] <= spike_start + dt.timedelta(days=6))) if spike_city else pd.Series(False, index=days.index)
    # the spike city's stores in the horizon's days before the spike (its vouchers sold ahead are
    # in the book, not in what is still to be sold: a level holding them counts them twice)
    before_spike = ((days["city"] == spike_city) & (days["day"] < spike_start)) if spike_city else pd.Series(False, index=days.index)
    days = days.sort_values(["store_id", "day"])
    roll = days.groupby("store_id")[["redemptions", "capacity_per_day"]].rolling(RISK_WINDOW_DAYS).sum()
    days["actual_window_utilisation"] = (roll["redemptions"] / roll["capacity_per_day"]).to_numpy()
    went_over = set(days.loc[days["actual_window_utilisation"] > 1, "store_id"])
    flagged = set(ahead["stores"].loc[ahead["stores"]["at_risk"], "store_id"])
    spike_stores = set(days.loc[days["city"] == spike_city, "store_id"]) if spike_city else set()
    totals = days.groupby("store_id")[["expected", "redemptions"]].sum()
    all_stores = set(days["store_id"])
    at_risk = ahead["stores"].set_index("store_id")
    peak_in_spike = [s for s in flagged & spike_stores
                     if spike_start is not None and at_risk.at[s, "peak_window_start"] == spike_start]
    return {
        "cut": str(cut), "spike": f"{spike_city} from {spike_start}" if spike_city else None,
        "store_days": len(days),
        "wape_store_days_outside_spike": _wape(days.loc[~in_spike, "expected"], days.loc[~in_spike, "redemptions"]),
        "wape_store_days_spike": _wape(days.loc[in_spike, "expected"], days.loc[in_spike, "redemptions"]) if in_spike.any() else math.nan,
        "wape_store_14d_totals": _wape(totals["expected"], totals["redemptions"]),
        "mae_store_14d_totals": float((totals["expected"] - totals["redemptions"]).abs().mean()),
        "mean_store_14d_redemptions": float(totals["redemptions"].mean()),
        "recall": len(flagged & spike_stores) / len(spike_stores) if spike_stores else math.nan,
        "false_alarm_share": (len(flagged - spike_stores) / len(all_stores - spike_stores)
                              if all_stores - spike_stores else math.nan),
        "spike_stores_flagged_for_the_spike_week": len(peak_in_spike),
        "bias_outside_spike": float(days.loc[~in_spike, "expected"].sum() / days.loc[~in_spike, "redemptions"].sum() - 1),
        "bias_before_spike": (float(days.loc[before_spike, "expected"].sum() / days.loc[before_spike, "redemptions"].sum() - 1)
                              if before_spike.any() and days.loc[before_spike, "redemptions"].sum() else math.nan),
        "spike_redemptions_forecast_share": (float(days.loc[in_spike, "expected"].sum() / days.loc[in_spike, "redemptions"].sum())
                                             if in_spike.any() else math.nan),
        "stores_over_capacity": len(went_over), "stores_flagged": len(flagged),
        "spike_city_stores": len(spike_stores),
        "spike_city_stores_flagged": len(flagged & spike_stores),
        "over_capacity_stores_flagged": len(flagged & went_over),
        "flagged_not_over_capacity": len(flagged - went_over),
    }


def evaluate_demo(con: duckdb.DuckDBPyConnection, days_before: int = 7) -> list[dict]:
    """:func:`evaluate` with the data cut a week before each planted spike: the cut is the day
    ``days_before`` + 1 days before the spike's Monday (7: the Sunday ending the week before the
    week before, so the 14-day horizon is the week before the spike and the spike's week)."""
    from o2o_ops import demo

    out = []
    for spike in demo.PLANTED["spikes"]:
        cut = spike["start"] - dt.timedelta(days=days_before + 1)
        out.append(evaluate(con, cut, spike["city"], spike["start"]))
    return out
