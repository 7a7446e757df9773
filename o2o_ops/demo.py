"""The demo warehouse: a seeded, deterministic O2O business at any scale, generated in DuckDB SQL.

Every random draw is a hash of (seed, row key, salt) — see the ``u``/``nrm`` macros — so the same
seed and order count give bit-identical tables on any thread count, and nothing is generated row
by row in Python. The build writes a fresh file through :func:`o2o_ops.db.rebuild` (schema, load,
rollups, atomic rename).

Calendar
--------
Orders are placed from Monday 2025-01-06 to Sunday 2026-11-22 inclusive (ISO weeks 2025-W02 ..
2026-W47, 686 days: two years, so every 2026 week has the same ISO week of 2025 to compare
with). Nothing is relative to today. The order count is spread over the whole span. Scale: stores = clamp(orders // 5000, 40, 5000),
campaigns = max(24, stores // 3), customers ≈ orders // 4 (drawn with a skew inside the store's
city, so there are real repeat customers). The order count is exact.

Planted patterns
----------------
These are the facts the dashboard should find; :data:`PLANTED` states them for tests.

* **Over-promisers** — every store whose number is 3 mod 10 (S0003, S0013, S0023, ...; ~10%):
  listed_rating 4.7–4.9 online but true quality ≈ listed − 1.0; real waits 12–15 min longer than
  the listed wait; reviews say "as described" only ~60% of the time.
* **Under-promisers** — every store whose number is 7 mod 10 (S0007, S0017, ...; ~10%):
  listed_rating 3.8–4.0 but true quality ≈ listed + 0.6; waits below the listed wait;
  as described ~97%. Every other store: true quality = listed ± 0.2, waits around the promise,
  as described ~90%.
* **Demand spikes over capacity** — all stores of a city, one ISO week: Hangzhou 2026-W27
  (06-29..07-05) ×3, Chengdu 2026-W36 (08-31..09-06) ×3, Shanghai 2026-W44 (10-26..11-01) ×2.5.
  The extra demand (multiplier − 1 times the week's own) is **sold ahead**: vouchers bought in
  the 3rd and 2nd week before the spike (days 21..8 before its Monday), each booked
  (``orders.promised_at``) for a slot in the spike week, so the over-capacity week is visible in
  the open vouchers a week before it (:mod:`o2o_ops.forecast`). The week's own orders are
  redeemed within a day (a local rush); capacity use passes 100%; everything served in the week
  (its own orders and the vouchers sold for it) waits 20–30 min longer, is rated about one star
  lower, is less often as described, draws more complaints and triple the refunds. Orders are
  counted in the week they were placed, so the spike week has its usual number of orders and the
  two weeks before it about (1 + (multiplier − 1) / 2) times theirs. Outside spikes capacity use
  is ~40–70% (capacity_per_hour is sized from each store's own normal demand over the last year,
  12 open hours a day; a year earlier, before the growth, ~13 % less).
* **Campaign lift** — campaigns run in 2026 (from :data:`CAMPAIGNS_FROM`; 2025 is their stores'
  history). A campaign targets one city, one category and a participating subset of
  those stores (all of them at small scale); while it runs those stores' orders are multiplied by
  the campaign's own true effect, drawn per seed from :data:`CAMPAIGN_EFFECTS` (×1.0 = no effect,
  ×0.85 and ×0.9 = the campaign hurts, up to ×1.5), and ~45% of their orders carry the campaign
  id, its channel and its discount. Where two campaigns overlap on a store, the lower-numbered
  one's effect applies. Each campaign's truth is written to ``warehouse_meta`` (key
  ``demo_campaign_effects``, JSON ``{campaign_id: multiplier}``; :func:`campaign_effects` reads
  it), so ``python -m o2o_ops calibrate`` can check the lift's intervals against it.
* **Deal-customer gap** — reviews of campaign orders are 0.3 stars lower than full-price ones at
  the same store.
* **Breakage** — ~15% of vouchers are never redeemed (~30% for group_buy and flash_sale deals);
  those past valid_until are status 'expired' (15% of them refunded); those still valid at the end
  of the calendar are outstanding.
* **Short opening hours** — every store whose number is 5 mod 10 (S0005, S0015, ...; ~10%) gives
  its opening hours (``store_hours``: every day 11:00–19:00, 8 hours) and is visited only then; its
  capacity is sized on those 8 hours, so its utilisation is ~40–70% read against its own hours and
  a third lower read against the global 12 hours. The other stores give no hours (the global
  setting applies).
* **Per-order promises** — paid orders at every store with an odd number carry the time
  promised for them when bought (``promised_at``, a booked slot): over-promisers fulfil 40% of
  the redeemed ones 10–40 min late, the other odd-numbered stores 10% (else 5–35 min early); a
  voucher never used keeps its slot (so it counts late once the slot has passed). Even-numbered
  stores make no such promise, except for the vouchers sold ahead for a spike week: those carry
  their booked slot at every store.
* **Inspections** — every store is inspected every 8 weeks (scores only, no pass/fail given):
  over-promisers fail half of them (score 45–68, 1–2 critical violations), other stores 10%
  (passing: 75–99, none critical) — rated high online, failing offline.
* **Online funnel** — each campaign has its own click-through (2–8%), receive (30–70% of clicks)
  and received → ordered (20–60%) rates, drawn per seed and recorded in ``warehouse_meta`` (key
  ``demo_funnel_rates``). Every paid campaign order follows a coupon its customer received 10 min
  to 2 days before; the other coupons, clicks and impressions are counted per store and day.
* **Seasonality** — weekday profiles per category (restaurants and hotels peak Fri–Sat, beauty
  Sat–Sun, car rental Fri); a yearly curve by ISO week, the same in both years (±10 %, highest
  in week 30); growth of ×1.15 a year; and Chinese public holidays ×1.6 (restaurants ×0.7 over
  Spring Festival), the days off from the maintained ``holidays`` package (the calendar the
  comparisons use, :func:`holiday_blocks`), so Spring Festival falls on 28 Jan–4 Feb 2025 and
  15–23 Feb 2026.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from typing import Callable

import duckdb

from o2o_ops import config, db

ProgressFn = Callable[[float, str], None]

CALENDAR_START = dt.date(2025, 1, 6)
CALENDAR_END = dt.date(2026, 11, 22)
N_DAYS = (CALENDAR_END - CALENDAR_START).days + 1  # 686 = 98 ISO weeks (2025-W02 .. 2026-W47)
_EPOCH_START = int(dt.datetime.combine(CALENDAR_START, dt.time()).replace(tzinfo=dt.timezone.utc).timestamp())
_END_TS = _EPOCH_START + N_DAYS * 86400 - 1  # 2026-11-22 23:59:59
OPEN_HOURS_PER_DAY = 12
MIN_ORDERS = 1000
MAX_ORDERS = 99_999_999  # order ids are 'O' + 8 digits

# city, weight of stores, hourly staff wage, rent factor, region
CITIES = (
    ("Shanghai", 0.24, 40.0, 1.40, "East"),
    ("Beijing", 0.20, 38.0, 1.35, "North"),
    ("Hangzhou", 0.15, 32.0, 1.00, "East"),
    ("Chengdu", 0.13, 26.0, 0.80, "West"),
    ("Guangzhou", 0.14, 32.0, 1.05, "South"),
    ("Shenzhen", 0.14, 36.0, 1.25, "South"),
)
DISTRICTS = (
    ("Shanghai", "Huangpu", 31.2304, 121.4737), ("Shanghai", "Jing'an", 31.2286, 121.4480),
    ("Shanghai", "Xuhui", 31.1885, 121.4365), ("Shanghai", "Pudong", 31.2215, 121.5447),
    ("Beijing", "Dongcheng", 39.9288, 116.4160), ("Beijing", "Chaoyang", 39.9215, 116.4435),
    ("Beijing", "Haidian", 39.9590, 116.2982),
    ("Hangzhou", "Shangcheng", 30.2425, 120.1694), ("Hangzhou", "Xihu", 30.2592, 120.1300),
    ("Hangzhou", "Binjiang", 30.2084, 120.2119),
    ("Chengdu", "Jinjiang", 30.6570, 104.0833), ("Chengdu", "Wuhou", 30.6420, 104.0434),
    ("Chengdu", "Qingyang", 30.6740, 104.0617),
    ("Guangzhou", "Tianhe", 23.1248, 113.3612), ("Guangzhou", "Yuexiu", 23.1290, 113.2668),
    ("Guangzhou", "Haizhu", 23.0839, 113.3172),
    ("Shenzhen", "Futian", 22.5412, 114.0552), ("Shenzhen", "Nanshan", 22.5329, 113.9305),
    ("Shenzhen", "Luohu", 22.5482, 114.1310),
)
# category, share of stores, list price range, listed wait range (min), validity (days),
# service minutes range, daily rent base, weekday demand profile Mon..Sun, name words
CATEGORIES = (
    ("restaurant", 0.45, 60, 300, 10, 20, 30, 40, 90, 900.0,
     (0.80, 0.75, 0.80, 0.90, 1.30, 1.45, 1.10),
     ("Hotpot", "Noodle House", "Dim Sum", "BBQ", "Dumpling Bar", "Bistro")),
    ("hotel", 0.15, 400, 1500, 5, 10, 90, 5, 15, 2500.0,
     (0.80, 0.75, 0.80, 0.90, 1.35, 1.40, 0.85), ("Hotel", "Inn", "Suites")),
    ("travel", 0.10, 200, 2000, 15, 30, 60, 120, 480, 700.0,
     (0.90, 0.90, 0.90, 1.00, 1.10, 1.15, 1.05), ("Travel", "Tours", "Getaways")),
    ("car_rental", 0.10, 300, 1200, 10, 20, 30, 10, 30, 800.0,
     (0.85, 0.80, 0.85, 1.00, 1.45, 1.15, 0.95), ("Car Rental", "Auto Hire")),
    ("beauty_leisure", 0.20, 100, 600, 10, 20, 60, 45, 120, 600.0,
     (0.75, 0.70, 0.75, 0.85, 1.00, 1.50, 1.40), ("Spa", "Nail Studio", "Salon", "Massage")),
)
# channel, share of full-price orders, platform fee rate
CHANNELS = (
    ("app", 0.35, 0.06), ("wechat", 0.20, 0.05), ("alipay", 0.15, 0.04),
    ("maps", 0.15, 0.08), ("social", 0.08, 0.10), ("web", 0.07, 0.03),
)
CAMPAIGN_KINDS = ("group_buy", "coupon", "discount", "flash_sale", "membership")
HOLIDAY_COUNTRY = "CN"


def holiday_blocks(first: dt.date, last: dt.date, country: str = HOLIDAY_COUNTRY) -> tuple[tuple[str, dt.date, dt.date], ...]:
    """The public holidays between ``first`` and ``last`` as blocks of days off (name, first day,
    last day), from the maintained ``holidays`` package (the calendar the comparisons and the
    forecast use), with the weekend days of each break (:func:`o2o_ops.comparisons.days_off`); a
    block is named after its first holiday that is not an eve or a swapped day off (Spring
    Festival 2026: 15-23 Feb)."""
    import holidays

    from o2o_ops import comparisons

    listed = holidays.country_holidays(country, years=range(first.year - 1, last.year + 2))
    blocks: list[list[dt.date]] = []
    for day in sorted(comparisons.days_off(listed)):
        if blocks and (day - blocks[-1][-1]).days == 1:
            blocks[-1].append(day)
        else:
            blocks.append([day])

    def name(days: list[dt.date]) -> str:
        names = [str(listed[d]) for d in days if d in listed]
        plain = [n for n in names if not re.search(r"(?i)day off|\beve\b|observed", n)]
        return (plain or names or ["Weekend"])[0].split("; ")[0]

    return tuple((name(b), b[0], b[-1]) for b in blocks
                 if b[-1] >= first and b[0] <= last and any(d in listed for d in b))


HOLIDAYS = holiday_blocks(CALENDAR_START, CALENDAR_END)
HOLIDAY_MULTIPLIER = 1.6
SPRING_FESTIVAL_RESTAURANT_MULTIPLIER = 0.7
# Seasonality by ISO week, the same every year (so a week compares with the same week last year):
# demand × (1 + SEASON_AMPLITUDE × sin(2π (ISO week − SEASON_PEAK_WEEK + 13) / 52)), highest in
# the summer week SEASON_PEAK_WEEK, lowest in winter; and a steady growth of the business,
# ×GROWTH_PER_YEAR from one year to the next.
SEASON_AMPLITUDE, SEASON_PEAK_WEEK = 0.10, 30
GROWTH_PER_YEAR = 1.15
# The spikes' extra demand is sold ahead: vouchers bought from PRESALE_DAYS_BEFORE[0] to
# PRESALE_DAYS_BEFORE[1] days before the spike's Monday (the 3rd and 2nd week before), each booked
# (orders.promised_at) for a slot in the spike week.
PRESALE_DAYS_BEFORE = (21, 8)
SPIKES = (
    # city, ISO week, first day, last day, demand multiplier
    ("Hangzhou", "2026-W27", dt.date(2026, 6, 29), dt.date(2026, 7, 5), 3.0),
    ("Chengdu", "2026-W36", dt.date(2026, 8, 31), dt.date(2026, 9, 6), 3.0),
    ("Shanghai", "2026-W44", dt.date(2026, 10, 26), dt.date(2026, 11, 1), 2.5),
)
# The true effects a campaign can have on its stores' orders (one drawn per campaign and seed):
# none (x1.0) three times in twelve, negative twice, positive of several sizes.
CAMPAIGN_EFFECTS = (1.0, 1.0, 1.0, 0.85, 0.9, 1.1, 1.15, 1.2, 1.3, 1.3, 1.4, 1.5)
CAMPAIGN_ORDER_SHARE = 0.45
# Campaigns start on Mondays from this day on (the weeks of 2026, as in the one-year demo before;
# 2025 is their stores' history).
CAMPAIGNS_FROM = dt.date(2026, 1, 5)
DEAL_RATING_PENALTY = 0.3
OVER_PROMISER_MOD, UNDER_PROMISER_MOD = 3, 7
SHORT_HOURS_MOD = 5
# Orders promised for a time (optional orders.promised_at): at stores with an odd number. Share
# fulfilled late.
PROMISE_LATE_SHARE = {"over": 0.40, "other": 0.10}
# Offline inspections: every 8 weeks per store, scored 0-100 (no pass/fail given: the score decides)
INSPECTION_EVERY_DAYS = 56
INSPECTION_FAIL_SHARE = {"over": 0.50, "other": 0.10}
# The online funnel (optional table events): each campaign's own rates, drawn per seed (SQL over
# _campaign) and recorded in warehouse_meta (key demo_funnel_rates).
FUNNEL_RATES = {"ctr": (0.02, 0.08), "receive": (0.30, 0.70), "order": (0.20, 0.60)}
FUNNEL_RATE_SQL = {name: f"round({lo!r} + {hi - lo!r} * u(campaign_no, 'funnel-{name}'), 3)"
                   for name, (lo, hi) in FUNNEL_RATES.items()}
FUNNEL_META_KEY = "demo_funnel_rates"
SHORT_HOURS = ("11:00", "19:00")   # every day; 8 open hours
SHORT_OPEN_HOURS = 8

PLANTED: dict = {
    "calendar_start": CALENDAR_START,
    "calendar_end": CALENDAR_END,
    "iso_weeks": ("2025-W02", "2026-W47"),
    "over_promisers": {
        "rule": f"store number % 10 == {OVER_PROMISER_MOD}",
        "listed_rating": (4.7, 4.9), "true_quality_offset": -1.0,
        "extra_wait_minutes": (12, 15), "as_described_share": 0.60,
    },
    "under_promisers": {
        "rule": f"store number % 10 == {UNDER_PROMISER_MOD}",
        "listed_rating": (3.8, 4.0), "true_quality_offset": +0.6,
        "as_described_share": 0.97,
    },
    "normal_stores": {"true_quality_offset": (-0.2, 0.2), "as_described_share": 0.90},
    "spikes": [
        {"city": c, "iso_week": w, "start": s, "end": e, "multiplier": m,
         "sold_from": s - dt.timedelta(days=PRESALE_DAYS_BEFORE[0]),
         "sold_to": s - dt.timedelta(days=PRESALE_DAYS_BEFORE[1])}
        for c, w, s, e, m in SPIKES
    ],
    "presale": {"days_before": PRESALE_DAYS_BEFORE, "booked_in": "orders.promised_at",
                "rule": "the spike's extra demand, sold 21..8 days before its Monday, booked for a day of its week"},
    "seasonality": {"amplitude": SEASON_AMPLITUDE, "peak_iso_week": SEASON_PEAK_WEEK,
                    "growth_per_year": GROWTH_PER_YEAR},
    "spike_effects": {"extra_wait_minutes": (20, 30), "rating_drop": 1.0, "refund_rate_factor": 3},
    "holidays": [{"name": n, "start": s, "end": e} for n, s, e in HOLIDAYS],
    "holiday_country": HOLIDAY_COUNTRY,
    "holiday_multiplier": HOLIDAY_MULTIPLIER,
    "campaign_effects": {"choices": CAMPAIGN_EFFECTS, "rule": "one per campaign, drawn per seed",
                         "recorded_in": "warehouse_meta key demo_campaign_effects"},
    "campaign_order_share": CAMPAIGN_ORDER_SHARE,
    "deal_rating_penalty": DEAL_RATING_PENALTY,
    "open_hours_per_day": OPEN_HOURS_PER_DAY,
    "normal_capacity_utilisation": (0.40, 0.70),
    "short_hours": {"rule": f"store number % 10 == {SHORT_HOURS_MOD}", "opens_at": SHORT_HOURS[0],
                    "closes_at": SHORT_HOURS[1], "open_hours_per_day": SHORT_OPEN_HOURS,
                    "recorded_in": "store_hours (every ISO weekday)"},
    "order_promises": {"stores": "store number odd (and every voucher sold ahead for a spike)",
                       "column": "orders.promised_at",
                       "late_share": {"over_promisers": PROMISE_LATE_SHARE["over"],
                                      "other_stores": PROMISE_LATE_SHARE["other"]},
                       "rule": "paid orders at those stores; redeemed ones late by 10-40 min, else 5-35 min "
                               "early; unused ones keep the slot they were booked for"},
    "inspections": {"every_days": INSPECTION_EVERY_DAYS,
                    "fail_share": {"over_promisers": INSPECTION_FAIL_SHARE["over"],
                                   "other_stores": INSPECTION_FAIL_SHARE["other"]},
                    "rule": "failing: score 45-68 and 1-2 critical violations; passing: score 75-99, none critical"},
    "funnel": {"rates": FUNNEL_RATES, "rule": "one click-through, receive and received -> ordered rate per campaign, "
               "drawn per seed; a coupon before every paid campaign order, the rest anonymous",
               "recorded_in": "warehouse_meta key demo_funnel_rates"},
}


EFFECTS_META_KEY = "demo_campaign_effects"


def campaign_effects(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Each demo campaign's planted true effect on its stores' orders (``{campaign_id: x}``);
    empty for a warehouse that is not a demo."""
    row = con.execute("SELECT value FROM warehouse_meta WHERE key = $k", {"k": EFFECTS_META_KEY}).fetchone()
    return {str(k): float(v) for k, v in json.loads(row[0]).items()} if row else {}


def store_id(number: int) -> str:
    return f"S{number:04d}"


def planted_store_ids(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Store ids of the over- and under-promisers in a demo warehouse (rule: store number mod 10)."""
    rows = con.execute(
        "SELECT store_id, CAST(substr(store_id, 2) AS INTEGER) % 10 AS m FROM stores "
        "WHERE regexp_full_match(store_id, 'S[0-9]+') ORDER BY store_id").fetchall()
    return {
        "over_promisers": [s for s, m in rows if m == OVER_PROMISER_MOD],
        "under_promisers": [s for s, m in rows if m == UNDER_PROMISER_MOD],
    }


def scale(orders: int) -> dict[str, int]:
    """Row counts that follow from the order count."""
    n_stores = min(max(orders // 5000, 40), 5000)
    return {"orders": orders, "stores": n_stores, "campaigns": max(24, n_stores // 3)}


# --------------------------------------------------------------------------------------------
# SQL. Only integers computed here (seed, sizes) and this module's constants are interpolated;
# no user text ever reaches these strings. Times are carried as BIGINT epoch seconds (local time
# written as if UTC) and turned into TIMESTAMP at insert.

def _pick(value_sql: str, options: list[tuple[str, float]]) -> str:
    """SQL CASE choosing an option by cumulative share, given a uniform draw in [0, 1)."""
    total = sum(w for _, w in options)
    parts, cum = [], 0.0
    for name, weight in options[:-1]:
        cum += weight / total
        parts.append(f"WHEN {value_sql} < {cum!r} THEN '{name}'")
    return f"CASE {' '.join(parts)} ELSE '{options[-1][0]}' END"


def _date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _setup_sql(seed: int) -> str:
    holiday_values = ", ".join(f"('{n.replace(chr(39), chr(39) * 2)}', {_date(s)}, {_date(e)})" for n, s, e in HOLIDAYS)
    spike_values = ", ".join(
        f"('{c}', '{w}', {_date(s)}, {_date(e)}, {m!r})" for c, w, s, e, m in SPIKES)
    city_values = ", ".join(
        f"('{c}', {w!r}, {wage!r}, {rent!r}, '{r}', {i})"
        for i, (c, w, wage, rent, r) in enumerate(CITIES))
    district_values = ", ".join(
        f"('{c}', '{d.replace(chr(39), chr(39) * 2)}', {lat!r}, {lon!r})" for c, d, lat, lon in DISTRICTS)
    category_values = ", ".join(
        f"('{c}', {i}, {w!r}, {plo}, {phi}, {wlo}, {whi}, {val}, {slo}, {shi}, {rent!r}, "
        f"{list(dow)!r}, {list(words)!r})"
        for i, (c, w, plo, phi, wlo, whi, val, slo, shi, rent, dow, words) in enumerate(CATEGORIES))
    return f"""
-- u(key, salt): a uniform draw in [0, 1) that depends only on the seed, the row key and the salt.
-- hash() of several values combines them cheaply (draws with different salts would correlate),
-- so the combined hash is hashed again, which mixes all 64 bits, and its top 32 bits are used.
CREATE OR REPLACE TEMP MACRO u(k, salt) AS (hash(hash({seed}, k, salt)) >> 32) / 4294967296.0;
-- nrm(key, salt): a standard normal draw (Box-Muller on two u draws).
CREATE OR REPLACE TEMP MACRO nrm(k, salt) AS
    sqrt(-2.0 * ln(1.0 - u(k, salt || '/a'))) * cos(2.0 * pi() * u(k, salt || '/b'));
CREATE OR REPLACE TEMP MACRO ts(sec) AS make_timestamp(CAST(sec AS BIGINT) * 1000000);

CREATE OR REPLACE TEMP TABLE _city (city VARCHAR, weight DOUBLE, wage_per_hour DOUBLE,
    rent_factor DOUBLE, region VARCHAR, city_rank INTEGER);
INSERT INTO _city VALUES {city_values};
CREATE OR REPLACE TEMP TABLE _district AS
SELECT *, row_number() OVER (PARTITION BY city ORDER BY district) - 1 AS district_rank,
       count(*) OVER (PARTITION BY city) AS n_districts
FROM (VALUES {district_values}) t(city, district, lat, lon);
CREATE OR REPLACE TEMP TABLE _category (category VARCHAR, category_rank INTEGER, weight DOUBLE,
    price_lo INTEGER, price_hi INTEGER, wait_lo INTEGER, wait_hi INTEGER, validity_days INTEGER,
    service_lo INTEGER, service_hi INTEGER, rent_base DOUBLE, dow_profile DOUBLE[], words VARCHAR[]);
INSERT INTO _category VALUES {category_values};
CREATE OR REPLACE TEMP TABLE _holiday (name VARCHAR, first_day DATE, last_day DATE);
INSERT INTO _holiday VALUES {holiday_values};
CREATE OR REPLACE TEMP TABLE _spike (city VARCHAR, iso_week VARCHAR, first_day DATE,
    last_day DATE, multiplier DOUBLE);
INSERT INTO _spike VALUES {spike_values};

-- _calendar: one row per day of the demo calendar.
CREATE OR REPLACE TEMP TABLE _calendar AS
SELECT CAST(d AS INTEGER) AS day_idx, {_date(CALENDAR_START)} + CAST(d AS INTEGER) AS date,
       isodow({_date(CALENDAR_START)} + CAST(d AS INTEGER)) AS dow,
       weekofyear({_date(CALENDAR_START)} + CAST(d AS INTEGER)) AS iso_week_no,
       {_EPOCH_START} + d * 86400 AS day_start_s
FROM range({N_DAYS}) t(d);
"""


def _stores_sql(n_stores: int) -> str:
    # Cities and categories come from a shifted R2 low-discrepancy sequence, so every city x
    # category cell gets its share of stores even at 40 stores; the shift depends on the seed.
    return f"""
-- _store: one row per store, with its hidden truth (quality offset, wait bias).
CREATE OR REPLACE TEMP TABLE _store AS
WITH numbered AS (
    SELECT CAST(i AS INTEGER) AS store_no,
           (i * 0.7548776662466927 + u(0, 'city-shift')) % 1 AS u_city,
           (i * 0.5698402909980532 + u(0, 'cat-shift')) % 1 AS u_category
    FROM range(1, {n_stores + 1}) t(i)
),
placed AS (
    SELECT n.store_no,
           {_pick('n.u_city', [(c[0], c[1]) for c in CITIES])} AS city,
           {_pick('n.u_category', [(c[0], c[1]) for c in CATEGORIES])} AS category,
           CASE n.store_no % 10 WHEN {OVER_PROMISER_MOD} THEN 'over'
                                WHEN {UNDER_PROMISER_MOD} THEN 'under' ELSE 'normal' END AS promise
    FROM numbered n
),
located AS (
    SELECT p.*, d.district, d.lat AS centre_lat, d.lon AS centre_lon
    FROM placed p
    JOIN _district d ON d.city = p.city
     AND d.district_rank = floor(u(p.store_no, 'district') * d.n_districts)
)
SELECT
    l.store_no, 'S' || lpad(CAST(l.store_no AS VARCHAR), 4, '0') AS store_id,
    l.city || ' ' || l.district || ' '
        || k.words[1 + CAST(floor(u(l.store_no, 'word') * len(k.words)) AS INTEGER)]
        || ' ' || l.store_no AS name,
    l.category, l.city, l.district, c.region, l.promise,
    -- within ~2 km of the district centre (1 degree of latitude ~ 111 km)
    round(l.centre_lat + 2.0 * sqrt(u(l.store_no, 'r')) / 111.0
          * sin(2 * pi() * u(l.store_no, 'angle')), 6) AS lat,
    round(l.centre_lon + 2.0 * sqrt(u(l.store_no, 'r')) / (111.0 * cos(radians(l.centre_lat)))
          * cos(2 * pi() * u(l.store_no, 'angle')), 6) AS lon,
    DATE '2016-01-01' + CAST(floor(u(l.store_no, 'opened') * 3600) AS INTEGER) AS opened_on,
    CASE l.promise WHEN 'over' THEN 4.7 + 0.1 * floor(u(l.store_no, 'listed') * 3)
                   WHEN 'under' THEN 3.8 + 0.1 * floor(u(l.store_no, 'listed') * 3)
                   ELSE 3.6 + 0.1 * floor(u(l.store_no, 'listed') * 11) END AS listed_rating_raw,
    CAST(k.wait_lo + floor(u(l.store_no, 'wait') * (k.wait_hi - k.wait_lo + 1)) AS DOUBLE)
        AS listed_wait_minutes,
    CASE l.promise WHEN 'over' THEN -1.0 + 0.1 * nrm(l.store_no, 'quality')
                   WHEN 'under' THEN 0.6 + 0.05 * nrm(l.store_no, 'quality')
                   ELSE -0.2 + 0.4 * u(l.store_no, 'quality') END AS quality_offset,
    CASE l.promise WHEN 'over' THEN 12.0 + 3.0 * u(l.store_no, 'wait-bias')
                   WHEN 'under' THEN -(0.25 + 0.2 * u(l.store_no, 'wait-bias'))
                                     * (k.wait_lo + k.wait_hi) / 2.0
                   ELSE -2.0 + 4.0 * u(l.store_no, 'wait-bias') END AS wait_bias,
    CASE l.promise WHEN 'over' THEN 0.60 WHEN 'under' THEN 0.97 ELSE 0.90 END AS as_described_p,
    exp(0.5 * nrm(l.store_no, 'popularity')) AS popularity,
    u(l.store_no, 'price-level') AS price_level,
    0.45 + 0.20 * u(l.store_no, 'utilisation') AS target_utilisation,
    l.store_no % 10 = {SHORT_HOURS_MOD} AS has_short_hours,
    CASE WHEN l.store_no % 10 = {SHORT_HOURS_MOD} THEN {SHORT_OPEN_HOURS} ELSE {OPEN_HOURS_PER_DAY} END
        AS open_hours_per_day,
    k.price_lo, k.price_hi, k.validity_days, k.service_lo, k.service_hi, k.dow_profile,
    k.rent_base * c.rent_factor * (0.7 + 0.6 * u(l.store_no, 'rent')) AS rent_per_day,
    c.wage_per_hour
FROM located l
JOIN _category k USING (category)
JOIN _city c USING (city);
"""


def _campaigns_sql(n_campaigns: int, n_stores: int) -> str:
    # A campaign takes its city and category from an "anchor" store (so no campaign targets an
    # empty cell) and enlists a share of that cell's stores small enough that, at any scale,
    # roughly one store-day in six is under a campaign (all of the cell at demo scale).
    participation = min(1.0, 36.0 / n_campaigns)
    first = (CAMPAIGNS_FROM - CALENDAR_START).days     # campaigns run in the last year's weeks
    weeks = (N_DAYS - first) // 7
    return f"""
-- _campaign: one row per campaign, with its (hidden) targeting.
CREATE OR REPLACE TEMP TABLE _campaign AS
WITH drawn AS (
    SELECT CAST(i AS INTEGER) AS campaign_no,
           1 + CAST(floor(u(i, 'anchor') * {n_stores}) AS INTEGER) AS anchor_store_no,
           2 + CAST(floor(u(i, 'weeks') * 5) AS INTEGER) AS n_weeks,
           list_extract({list(CAMPAIGN_KINDS)!r},
                        1 + CAST(floor(u(i, 'kind') * {len(CAMPAIGN_KINDS)}) AS INTEGER)) AS kind,
           list_extract({[c[0] for c in CHANNELS]!r},
                        1 + CAST(floor(u(i, 'channel') * {len(CHANNELS)}) AS INTEGER)) AS channel,
           round(0.10 + 0.40 * u(i, 'discount'), 2) AS discount_rate,
           CAST(list_extract({list(CAMPAIGN_EFFECTS)!r},
                        1 + CAST(floor(u(i, 'effect') * {len(CAMPAIGN_EFFECTS)}) AS INTEGER)) AS DOUBLE) AS effect
    FROM range(1, {n_campaigns + 1}) t(i)
)
SELECT d.campaign_no, 'C' || lpad(CAST(d.campaign_no AS VARCHAR), 4, '0') AS campaign_id,
       s.city, s.category, d.kind, d.channel, d.discount_rate, d.effect,
       {first} + 7 * CAST(floor(u(d.campaign_no, 'start') * ({weeks} - d.n_weeks + 1)) AS INTEGER)
           AS first_day_idx,
       {first} + 7 * CAST(floor(u(d.campaign_no, 'start') * ({weeks} - d.n_weeks + 1)) AS INTEGER)
           + 7 * d.n_weeks - 1 AS last_day_idx
FROM drawn d JOIN _store s ON s.store_no = d.anchor_store_no;

-- _campaign_store: one row per campaign x participating store.
CREATE OR REPLACE TEMP TABLE _campaign_store AS
WITH cell AS (
    SELECT k.campaign_no, s.store_no,
           row_number() OVER (PARTITION BY k.campaign_no
                              ORDER BY u(k.campaign_no * 100000 + s.store_no, 'enlist'), s.store_no)
               AS pick_rank,
           count(*) OVER (PARTITION BY k.campaign_no) AS cell_stores
    FROM _campaign k JOIN _store s ON s.city = k.city AND s.category = k.category
)
SELECT campaign_no, store_no FROM cell
WHERE pick_rank <= greatest(1, ceil(cell_stores * {participation!r}));
"""


def _store_days_sql(n_orders: int) -> str:
    # Integer weights and integer arithmetic make the apportionment exact and deterministic
    # (a parallel float sum could differ in the last bit between runs).
    sale_first, sale_last = PRESALE_DAYS_BEFORE
    sale_days = sale_first - sale_last + 1
    return f"""
-- _store_day: one row per store x day: demand weight, active campaign, exact order count, and how
-- many of those orders are vouchers sold ahead for a spike week (n_presale, booked for the week
-- starting on day spike_day_idx).
CREATE OR REPLACE TEMP TABLE _store_day AS
WITH active AS (
    SELECT cs.store_no, cal.day_idx, min(k.campaign_no) AS campaign_no
    FROM _campaign_store cs
    JOIN _campaign k USING (campaign_no)
    JOIN _calendar cal ON cal.day_idx BETWEEN k.first_day_idx AND k.last_day_idx
    GROUP BY cs.store_no, cal.day_idx
),
base AS (   -- the ordinary demand of a store-day (a spike week's own walk-in demand included)
    SELECT s.store_no, s.city, cal.day_idx, cal.date, a.campaign_no AS active_campaign_no,
           sp.multiplier IS NOT NULL AS in_spike,
           1e6 * s.popularity * s.dow_profile[cal.dow]
                 * CASE WHEN h.name LIKE '%Spring Festival%' AND s.category = 'restaurant'
                        THEN {SPRING_FESTIVAL_RESTAURANT_MULTIPLIER!r}
                        WHEN h.name IS NOT NULL THEN {HOLIDAY_MULTIPLIER!r} ELSE 1.0 END
                 * coalesce(k.effect, 1.0)
                 * (1.0 + {SEASON_AMPLITUDE!r} * sin(2 * pi() * (cal.iso_week_no - {SEASON_PEAK_WEEK} + 13) / 52.0))
                 * pow({GROWTH_PER_YEAR!r}, cal.day_idx / 364.0)
                 * exp(0.15 * nrm(s.store_no * 1000 + cal.day_idx, 'day-noise')) AS w
    FROM _store s
    CROSS JOIN _calendar cal
    LEFT JOIN active a ON a.store_no = s.store_no AND a.day_idx = cal.day_idx
    LEFT JOIN _campaign k ON k.campaign_no = a.campaign_no
    LEFT JOIN _holiday h ON cal.date BETWEEN h.first_day AND h.last_day
    LEFT JOIN _spike sp ON sp.city = s.city AND cal.date BETWEEN sp.first_day AND sp.last_day
),
spike_need AS (   -- per spike store: the week's demand beyond its own (multiplier - 1), sold ahead
    SELECT b.store_no, sp.first_day, min(b.day_idx) AS spike_day_idx,
           (any_value(sp.multiplier) - 1.0) * sum(b.w) / {sale_days}.0 AS presale_per_day
    FROM base b JOIN _spike sp ON sp.city = b.city AND b.date BETWEEN sp.first_day AND sp.last_day
    GROUP BY b.store_no, sp.first_day
),
weighted AS (
    SELECT b.store_no, b.day_idx, b.active_campaign_no, b.in_spike, n.spike_day_idx,
           CAST(round(b.w) AS BIGINT) AS regular_weight,
           coalesce(CAST(round(n.presale_per_day * exp(0.15 * nrm(b.store_no * 1000 + b.day_idx, 'presale-noise')))
                         AS BIGINT), 0) AS presale_weight
    FROM base b
    LEFT JOIN spike_need n ON n.store_no = b.store_no
     AND b.date BETWEEN n.first_day - {sale_first} AND n.first_day - {sale_last}
),
apportioned AS (
    SELECT *, regular_weight + presale_weight AS weight,
           CAST({n_orders} AS HUGEINT) * (regular_weight + presale_weight) // sum(regular_weight + presale_weight) OVER () AS base_orders,
           CAST({n_orders} AS HUGEINT) * (regular_weight + presale_weight) % sum(regular_weight + presale_weight) OVER () AS remainder
    FROM weighted
),
ranked AS (
    SELECT *, {n_orders} - sum(base_orders) OVER () AS n_left,
           row_number() OVER (ORDER BY remainder DESC, store_no, day_idx) AS remainder_rank
    FROM apportioned
),
counted AS (
    SELECT store_no, day_idx, active_campaign_no, in_spike, spike_day_idx, presale_weight, weight,
           CAST(base_orders + CASE WHEN remainder_rank <= n_left THEN 1 ELSE 0 END AS BIGINT) AS n_orders
    FROM ranked
)
SELECT store_no, day_idx, active_campaign_no, in_spike, spike_day_idx, n_orders,
       CASE WHEN presale_weight > 0
            THEN CAST((2 * CAST(n_orders AS HUGEINT) * presale_weight + weight) // (2 * weight) AS BIGINT)
            ELSE 0 END AS n_presale   -- rounded to the nearest
FROM counted;

CREATE OR REPLACE TEMP TABLE _store_day_offset AS
SELECT *, sum(n_orders) OVER (ORDER BY day_idx, store_no) - n_orders AS order_offset
FROM _store_day;

-- _store_capacity: capacity sized so a normal day of the last year uses ~40-70% of it (over the
-- store's open hours); spike weeks and the weeks their vouchers were sold in left out.
CREATE OR REPLACE TEMP TABLE _store_capacity AS
SELECT s.store_no,
       greatest(0.05, round(0.8 * sum(d.n_orders) FILTER (WHERE d.day_idx >= {N_DAYS - 364} AND NOT d.in_spike AND d.spike_day_idx IS NULL)
                        / count(*) FILTER (WHERE d.day_idx >= {N_DAYS - 364} AND NOT d.in_spike AND d.spike_day_idx IS NULL)
                        / s.open_hours_per_day / s.target_utilisation, 2)) AS capacity_per_hour
FROM _store s JOIN _store_day d USING (store_no)
GROUP BY s.store_no, s.target_utilisation, s.open_hours_per_day;

-- _city_customers: each city's pool of customer numbers (about one per four orders).
CREATE OR REPLACE TEMP TABLE _city_customers AS
WITH city_orders AS (
    SELECT s.city, sum(d.n_orders) AS n_orders
    FROM _store_day d JOIN _store s USING (store_no) GROUP BY s.city
)
SELECT city, greatest(1, n_orders // 4) AS n_customers,
       sum(greatest(1, n_orders // 4)) OVER (ORDER BY city) - greatest(1, n_orders // 4)
           AS customer_offset
FROM city_orders;
"""


def _hour_sql(category: str, a: str, b: str, kind: str) -> str:
    """SQL for an hour of day drawn from a category profile (kind 'order' or 'visit')."""
    if kind == "order":  # when people buy vouchers online
        return f"""CASE {category}
            WHEN 'restaurant' THEN CASE WHEN {a} < 0.40 THEN 10 + floor({b} * 3)
                                        WHEN {a} < 0.85 THEN 16 + floor({b} * 4)
                                        ELSE 8 + floor({b} * 16) END
            WHEN 'car_rental' THEN CASE WHEN {a} < 0.50 THEN 8 + floor({b} * 4)
                                        ELSE 8 + floor({b} * 16) END
            WHEN 'beauty_leisure' THEN CASE WHEN {a} < 0.50 THEN 12 + floor({b} * 8)
                                            ELSE 8 + floor({b} * 16) END
            ELSE CASE WHEN {a} < 0.60 THEN 19 + floor({b} * 5) ELSE 8 + floor({b} * 16) END END"""
    # when they are in the store (all within 10:00-22:00 opening hours)
    return f"""CASE {category}
            WHEN 'restaurant' THEN CASE WHEN {a} < 0.42 THEN 11 + floor({b} * 3)
                                        WHEN {a} < 0.92 THEN 17 + floor({b} * 4)
                                        ELSE 10 + floor({b} * 12) END
            WHEN 'hotel' THEN 14 + floor({b} * 8)
            WHEN 'travel' THEN CASE WHEN {a} < 0.70 THEN 10 + floor({b} * 3)
                                    ELSE 10 + floor({b} * 12) END
            WHEN 'car_rental' THEN CASE WHEN {a} < 0.45 THEN 10 + floor({b} * 2)
                                        WHEN {a} < 0.75 THEN 17 + floor({b} * 3)
                                        ELSE 10 + floor({b} * 12) END
            ELSE CASE WHEN {a} < 0.70 THEN 13 + floor({b} * 8) ELSE 10 + floor({b} * 12) END END"""


def _orders_sql(customer_width: int) -> str:
    channel_pick = _pick("u(idx, 'channel')", [(c[0], c[1]) for c in CHANNELS])
    fee_rate = "CASE channel " + " ".join(
        f"WHEN '{c}' THEN {r!r}" for c, _, r in CHANNELS) + " ELSE 0.05 END"
    complaint_other = _pick("u(idx, 'complaint-kind')",
                            [("service", 0.5), ("hygiene", 0.25), ("price", 0.25)])
    return f"""
-- _o: one row per order with everything that happens to it (redemption, review, refunds).
CREATE OR REPLACE TEMP TABLE _o AS
WITH expanded AS (
    SELECT store_no, day_idx, active_campaign_no, in_spike, order_offset, n_presale, spike_day_idx,
           unnest(range(n_orders)) AS k
    FROM _store_day_offset WHERE n_orders > 0
),
placed AS (
    -- the first n_presale orders of a store-day are vouchers sold ahead for a spike week: booked
    -- for one of its days, served in its rush (in_spike), never under a campaign
    SELECT e.order_offset + e.k + 1 AS idx, e.store_no, e.day_idx,
           e.k < e.n_presale AS is_presale,
           CASE WHEN e.k < e.n_presale
                THEN e.spike_day_idx + CAST(floor(7 * u(e.order_offset + e.k + 1, 'booked-day')) AS INTEGER)
           END AS booked_day_idx,
           e.in_spike OR e.k < e.n_presale AS in_spike,
           CASE WHEN e.active_campaign_no IS NOT NULL AND e.k >= e.n_presale
                 AND u(e.order_offset + e.k + 1, 'campaign') < {CAMPAIGN_ORDER_SHARE!r}
                THEN e.active_campaign_no END AS campaign_no,
           s.store_id, s.city, s.category, s.listed_rating_raw AS listed_rating,
           s.listed_wait_minutes, s.quality_offset, s.wait_bias, s.as_described_p,
           s.price_lo, s.price_hi, s.price_level, s.validity_days, s.service_lo, s.service_hi,
           cal.day_start_s, cc.n_customers, cc.customer_offset
    FROM expanded e
    JOIN _store s USING (store_no)
    JOIN _calendar cal USING (day_idx)
    JOIN _city_customers cc ON cc.city = s.city
),
priced AS (
    SELECT p.*, k.campaign_id, k.kind AS campaign_kind, k.discount_rate,
           coalesce(k.channel, {channel_pick}) AS channel,
           -- skewed draw inside the city's pool: low numbers are loyal regulars
           p.customer_offset + 1 + CAST(floor(p.n_customers
               * pow(0.1 + 0.9 * u(idx, 'customer'), 2)) AS BIGINT) AS customer_no,
           round(p.price_lo + (p.price_hi - p.price_lo)
                 * (0.7 * p.price_level + 0.3 * u(idx, 'price'))) AS list_price,
           p.day_start_s + 3600 * CAST({_hour_sql('p.category', "u(idx, 'oh-a')", "u(idx, 'oh-b')", 'order')} AS BIGINT)
               + CAST(floor(u(idx, 'second') * 3600) AS BIGINT) AS ordered_s,
           u(idx, 'cancel') < 0.03 AS is_cancelled
    FROM placed p LEFT JOIN _campaign k USING (campaign_no)
),
paid AS (
    SELECT *,
           CASE WHEN campaign_no IS NOT NULL THEN round(list_price * discount_rate, 2)
                WHEN u(idx, 'small-discount') < 0.25
                THEN round(list_price * (0.05 + 0.05 * floor(u(idx, 'small-rate') * 2)), 2)
                ELSE 0.0 END AS discount_amount,
           ordered_s + 86400 * validity_days AS valid_until_s,
           -- redemption: the day and the hour the customer turns up
           CASE WHEN is_presale THEN booked_day_idx - day_idx
                WHEN in_spike THEN CASE WHEN u(idx, 'delay') < 0.6 THEN 0 ELSE 1 END
                ELSE CASE category
                    WHEN 'restaurant' THEN CASE WHEN u(idx, 'delay') < 0.55 THEN 0
                                                WHEN u(idx, 'delay') < 0.85 THEN 1 ELSE 2 END
                    WHEN 'hotel' THEN 1 + CAST(floor(40 * pow(u(idx, 'delay'), 2)) AS INTEGER)
                    WHEN 'travel' THEN 2 + CAST(floor(50 * pow(u(idx, 'delay'), 2)) AS INTEGER)
                    WHEN 'car_rental' THEN CAST(floor(10 * pow(u(idx, 'delay'), 2)) AS INTEGER)
                    ELSE CAST(floor(14 * pow(u(idx, 'delay'), 2)) AS INTEGER) END
           END AS delay_days,
           -- a store with short hours (11:00-19:00) sees the 10:00-22:00 profile squeezed into them
           3600 * CAST(CASE WHEN store_no % 10 = {SHORT_HOURS_MOD}
                            THEN {int(SHORT_HOURS[0][:2])} + floor(({_hour_sql('category', "u(idx, 'vh-a')", "u(idx, 'vh-b')", 'visit')} - 10)
                                                * {SHORT_OPEN_HOURS} / 12)
                            ELSE {_hour_sql('category', "u(idx, 'vh-a')", "u(idx, 'vh-b')", 'visit')} END AS BIGINT)
               + CAST(floor(u(idx, 'visit-second') * 3600) AS BIGINT) AS visit_second_of_day,
           u(idx, 'redeem') < CASE WHEN campaign_kind IN ('group_buy', 'flash_sale') THEN 0.70
                                   ELSE 0.85 END AS wants_redeem
    FROM priced
),
visited AS (
    SELECT *,
           round(list_price - discount_amount, 2) AS paid_amount,
           day_start_s + 86400 * delay_days + visit_second_of_day
               + CASE WHEN day_start_s + 86400 * delay_days + visit_second_of_day <= ordered_s + 900
                      THEN 86400 ELSE 0 END AS visit_s
    FROM paid
),
redeemed AS (
    SELECT *,
           NOT is_cancelled AND wants_redeem AND visit_s <= valid_until_s
               AND visit_s <= {_END_TS} AS is_redeemed,
           greatest(0.0, round(listed_wait_minutes + wait_bias + 4.0 * nrm(idx, 'wait')
                               + CASE WHEN in_spike THEN 20.0 + 10.0 * u(idx, 'spike-wait')
                                      ELSE 0.0 END, 1)) AS wait_minutes
    FROM visited
),
reviewed AS (
    SELECT *,
           is_redeemed AND u(idx, 'review') < 0.45 AS has_review,
           CAST(greatest(1, least(5, round(listed_rating + quality_offset + 0.6 * nrm(idx, 'rating')
                - CASE WHEN campaign_no IS NOT NULL THEN {DEAL_RATING_PENALTY!r} ELSE 0 END
                - CASE WHEN in_spike THEN 0.5 ELSE 0 END
                - CASE WHEN wait_minutes - listed_wait_minutes > 15 THEN 0.6 ELSE 0 END)))
               AS INTEGER) AS rating,
           CASE WHEN u(idx, 'described-null') < 0.2 THEN NULL
                ELSE u(idx, 'described') < as_described_p
                                           - CASE WHEN in_spike THEN 0.15 ELSE 0 END END
               AS as_described,
           least(visit_s + 1800 + CAST(floor(pow(u(idx, 'posted'), 2) * 72 * 3600) AS BIGINT),
                 greatest({_END_TS}, visit_s + 60)) AS posted_s
    FROM redeemed
),
complained AS (
    SELECT *,
           CASE WHEN has_review AND (rating <= 2 AND u(idx, 'complaint') < 0.85
                                     OR rating = 3 AND u(idx, 'complaint') < 0.20)
                THEN CASE WHEN wait_minutes - listed_wait_minutes > 10
                           AND u(idx, 'complaint-why') < 0.7 THEN 'long_wait'
                          WHEN as_described = false
                           AND u(idx, 'complaint-why') < 0.7 THEN 'not_as_described'
                          ELSE {complaint_other} END
           END AS complaint_category,
           NOT is_cancelled AND NOT is_redeemed AND valid_until_s < {_END_TS} AS is_expired
    FROM reviewed
),
refunded AS (
    -- one refund per order at most here, a second partial one below
    SELECT *,
           CASE WHEN is_cancelled THEN NULL
                WHEN is_expired AND u(idx, 'refund') < 0.15 THEN 'expired voucher'
                WHEN has_review AND rating <= 2
                     AND u(idx, 'refund') < CASE WHEN in_spike THEN 0.35 ELSE 0.25 END
                THEN CASE WHEN wait_minutes - listed_wait_minutes > 10 THEN 'long wait'
                          WHEN as_described = false THEN 'not as described'
                          ELSE 'poor service' END
                WHEN u(idx, 'refund-base') < CASE WHEN in_spike THEN 0.06 ELSE 0.02 END
                THEN CASE WHEN NOT is_redeemed THEN 'changed plans'
                          WHEN in_spike THEN 'long wait' ELSE 'poor service' END
           END AS refund_reason
    FROM complained
)
SELECT *,
       CASE WHEN refund_reason IS NULL THEN NULL
            WHEN refund_reason IN ('expired voucher', 'changed plans')
                 OR u(idx, 'refund-full') < 0.4 THEN paid_amount
            ELSE round(paid_amount * (0.3 + 0.4 * u(idx, 'refund-part')), 2) END AS refund_amount,
       CASE WHEN refund_reason = 'expired voucher'
            THEN least(valid_until_s + 86400 * (1 + CAST(floor(u(idx, 'refund-at') * 10) AS BIGINT)),
                       {_END_TS})
            WHEN refund_reason = 'changed plans'
            THEN ordered_s + 60 + CAST(floor(u(idx, 'refund-at')
                 * greatest(0, least(valid_until_s, {_END_TS}) - ordered_s - 60)) AS BIGINT)
            WHEN has_review
            THEN least(posted_s + 3600 * (1 + CAST(floor(u(idx, 'refund-at') * 48) AS BIGINT)),
                       greatest({_END_TS}, posted_s + 60))
            ELSE least(visit_s + 3600 * (1 + CAST(floor(u(idx, 'refund-at') * 48) AS BIGINT)),
                       greatest({_END_TS}, visit_s + 60)) END AS refunded_s,
       'O' || lpad(CAST(idx AS VARCHAR), 8, '0') AS order_id,
       'K' || lpad(CAST(customer_no AS VARCHAR), {customer_width}, '0') AS customer_id,
       round(paid_amount * {fee_rate}, 2) AS platform_fee,
       -- orders at stores that promise a time (odd store numbers) carry it; late by 10-40 min
       -- with the store's late share, else ready 5-35 min early; a voucher never used keeps the
       -- slot it was booked for (the promise is made when it is bought). A voucher sold ahead for
       -- a spike week carries its booked slot at every store
       CASE WHEN NOT is_cancelled AND NOT is_redeemed AND (store_no % 2 = 1 OR is_presale) THEN visit_s
            WHEN is_redeemed AND (store_no % 2 = 1 OR is_presale)
            THEN greatest(ordered_s + 60,
                 visit_s + CASE WHEN u(idx, 'late') < CASE WHEN store_no % 10 = {OVER_PROMISER_MOD}
                                                          THEN {PROMISE_LATE_SHARE['over']!r}
                                                          ELSE {PROMISE_LATE_SHARE['other']!r} END
                                THEN -(600 + CAST(floor(u(idx, 'late-by') * 1800) AS BIGINT))
                                ELSE 300 + CAST(floor(u(idx, 'early-by') * 1800) AS BIGINT) END)
       END AS promised_s
FROM refunded;
"""


def _insert_sql(seed: int) -> dict[str, str]:
    """One INSERT ... SELECT per contract table, in foreign-key order."""
    return {
        "stores": """
INSERT INTO stores
SELECT s.store_id, s.name, s.category, s.city, s.lat, s.lon, s.district, s.region, s.opened_on,
       c.capacity_per_hour, round(s.listed_rating_raw, 1), s.listed_wait_minutes
FROM _store s JOIN _store_capacity c USING (store_no) ORDER BY s.store_no;""",
        "campaigns": f"""
INSERT INTO campaigns
WITH spend AS (
    -- budget: ~4-12% of the list value of the orders the campaign is expected to carry
    SELECT k.campaign_no, sum(d.n_orders * (s.price_lo + s.price_hi) / 2) AS expected_value
    FROM _campaign k
    JOIN _store_day d ON d.active_campaign_no = k.campaign_no
    JOIN _store s USING (store_no)
    GROUP BY k.campaign_no
)
SELECT k.campaign_id,
       k.city || ' ' || replace(k.category, '_', ' ') || ' ' || replace(k.kind, '_', ' ')
           || ' ' || strftime({_date(CALENDAR_START)} + k.first_day_idx, '%b') || ' #'
           || k.campaign_no,
       k.kind, k.channel,
       {_date(CALENDAR_START)} + k.first_day_idx, {_date(CALENDAR_START)} + k.last_day_idx,
       greatest(1000.0, round(coalesce(sp.expected_value, 0) * {CAMPAIGN_ORDER_SHARE!r}
                              * (0.04 + 0.08 * u(k.campaign_no, 'budget')), -2)),
       k.discount_rate
FROM _campaign k LEFT JOIN spend sp USING (campaign_no)
ORDER BY k.campaign_no;""",
        "store_hours": f"""
INSERT INTO store_hours
SELECT s.store_id, CAST(w.iso_weekday AS INTEGER), TIME '{SHORT_HOURS[0]}', TIME '{SHORT_HOURS[1]}'
FROM _store s CROSS JOIN range(1, 8) w(iso_weekday)
WHERE s.has_short_hours ORDER BY s.store_no, w.iso_weekday;""",
        "inspections": f"""
INSERT INTO inspections
WITH rounds AS (   -- every {INSPECTION_EVERY_DAYS} days from a store's own first day; over-promisers fail more often
    SELECT s.store_no, s.store_id,
           7 * (s.store_no % 8) + (s.store_no * 3) % 5 + {INSPECTION_EVERY_DAYS} * CAST(k.k AS INTEGER) AS day_idx,
           u(s.store_no * 100 + CAST(k.k AS INTEGER), 'inspection') < CASE WHEN s.promise = 'over'
                THEN {INSPECTION_FAIL_SHARE['over']!r} ELSE {INSPECTION_FAIL_SHARE['other']!r} END AS fails
    FROM _store s CROSS JOIN range({N_DAYS // INSPECTION_EVERY_DAYS + 1}) k(k)
)
SELECT store_id, {_date(CALENDAR_START)} + day_idx,
       CASE WHEN fails THEN 45 + floor(24 * u(store_no * 100 + day_idx, 'score'))
            ELSE 75 + floor(25 * u(store_no * 100 + day_idx, 'score')) END,
       CASE WHEN fails THEN 1 + CAST(floor(2 * u(store_no * 100 + day_idx, 'critical')) AS INTEGER) ELSE 0 END,
       CAST(floor(3 * u(store_no * 100 + day_idx, 'major')) AS INTEGER),
       CAST(floor(5 * u(store_no * 100 + day_idx, 'minor')) AS INTEGER),
       NULL, 'routine'
FROM rounds WHERE day_idx < {N_DAYS} ORDER BY store_no, day_idx;""",
        "events": f"""
INSERT INTO events
WITH rates AS (   -- each campaign's planted funnel: click-through, receive and received -> ordered rates
    SELECT campaign_no, {FUNNEL_RATE_SQL['ctr']} AS ctr, {FUNNEL_RATE_SQL['receive']} AS receive_rate,
           {FUNNEL_RATE_SQL['order']} AS order_rate
    FROM _campaign
),
cells AS (        -- paid campaign orders per campaign x store x day, and the events behind them
    SELECT o.campaign_no, o.campaign_id, o.channel, o.store_id, o.day_idx, count(*) AS n_paid,
           any_value(r.ctr) AS ctr, any_value(r.receive_rate) AS receive_rate, any_value(r.order_rate) AS order_rate
    FROM _o o JOIN rates r USING (campaign_no)
    WHERE NOT o.is_cancelled
    GROUP BY o.campaign_no, o.campaign_id, o.channel, o.store_id, o.day_idx
),
counted AS (
    SELECT *, CAST(round(n_paid / order_rate) AS BIGINT) AS n_received FROM cells
),
funnel AS (
    SELECT *, CAST(round(n_received / receive_rate) AS BIGINT) AS n_clicks,
           CAST(round(n_received / receive_rate / ctr) AS BIGINT) AS n_impressions
    FROM counted
)
-- one coupon received by each customer before each paid campaign order (10 min to 2 days before)
SELECT 'coupon_received', ts(ordered_s - 600 - CAST(floor(u(idx, 'coupon-at') * 172200) AS BIGINT)), 1,
       campaign_id, channel, store_id, customer_id
FROM _o WHERE campaign_no IS NOT NULL AND NOT is_cancelled
UNION ALL   -- coupons received by visitors who never ordered, counted per store and day
SELECT 'coupon_received', ts({_EPOCH_START} + 86400 * day_idx + 9 * 3600), n_received - n_paid,
       campaign_id, channel, store_id, NULL
FROM funnel WHERE n_received > n_paid
UNION ALL
SELECT 'click', ts({_EPOCH_START} + 86400 * day_idx + 8 * 3600), n_clicks, campaign_id, channel, store_id, NULL
FROM funnel WHERE n_clicks > 0
UNION ALL
SELECT 'impression', ts({_EPOCH_START} + 86400 * day_idx + 8 * 3600), n_impressions, campaign_id, channel,
       store_id, NULL
FROM funnel WHERE n_impressions > 0;""",
        "customers": """
INSERT INTO customers
WITH firsts AS (
    SELECT customer_no, customer_id,
           arg_min(city, (ordered_s, idx)) AS city,
           arg_min(channel, (ordered_s, idx)) AS acquisition_channel,
           min(ordered_s) AS first_ordered_s,
           count(*) AS n_orders
    FROM _o GROUP BY customer_no, customer_id
)
SELECT customer_id,
       CAST(ts(first_ordered_s) AS DATE) - CASE WHEN u(customer_no, 'signup') < 0.5 THEN 0
           ELSE CAST(floor(u(customer_no, 'signup-days') * 900) AS INTEGER) END,
       city,
       CASE WHEN n_orders >= 12 OR u(customer_no, 'tier') < 0.03 THEN 'gold'
            WHEN n_orders >= 4 OR u(customer_no, 'tier') < 0.15 THEN 'silver'
            ELSE 'bronze' END,
       acquisition_channel
FROM firsts ORDER BY customer_no;""",
        "orders": f"""
INSERT INTO orders
SELECT order_id, customer_id, store_id, ts(ordered_s), list_price, paid_amount, campaign_id,
       channel, discount_amount, platform_fee,
       CASE WHEN is_cancelled THEN 'cancelled' WHEN refund_reason IS NOT NULL THEN 'refunded'
            WHEN is_expired THEN 'expired' ELSE 'paid' END,
       ts(valid_until_s),
       -- an affine map mod 2^32 with an odd factor is a bijection: unique, random-looking codes
       'TC' || printf('%08X', (idx * 2654435761 + {seed % 4294967296}) % 4294967296),
       ts(promised_s), NULL
FROM _o
-- Key checks dominate this insert at scale: each row inserts into the order_id index and looks
-- up its customer. Blocks of a million ids, customers sorted inside each block, keep both index
-- walks local (measured at 10M orders: 2x faster than order_id order or customer order).
ORDER BY idx // 1000000, customer_no;""",
        "redemptions": """
INSERT INTO redemptions
SELECT order_id, ts(visit_s), wait_minutes,
       round(service_lo + (service_hi - service_lo) * u(idx, 'service'), 0),
       CASE WHEN u(idx, 'upsell') < 0.3 THEN round(list_price * (0.05 + 0.25 * u(idx, 'upsell-amount')), 2)
            ELSE 0.0 END
FROM _o WHERE is_redeemed ORDER BY idx;  -- in key order: index inserts and lookups stay local""",
        "reviews": """
INSERT INTO reviews
SELECT 'R' || lpad(CAST(idx AS VARCHAR), 8, '0'), order_id, rating, ts(posted_s), as_described,
       complaint_category
FROM _o WHERE has_review ORDER BY idx;""",
        "refunds": """
INSERT INTO refunds
SELECT order_id, ts(refunded_s), refund_amount, refund_reason
FROM _o WHERE refund_reason IS NOT NULL
UNION ALL
-- a few partial refunds are followed by a second, smaller one
SELECT order_id, ts(refunded_s + 86400 + CAST(floor(u(idx, 'refund2-at') * 86400) AS BIGINT)),
       round(paid_amount * (0.1 + 0.1 * u(idx, 'refund2-amount')), 2), refund_reason
FROM _o
WHERE refund_reason IS NOT NULL AND refund_amount < paid_amount AND u(idx, 'refund2') < 0.15;""",
        "costs": f"""
INSERT INTO costs
WITH store_costs AS (
    SELECT cal.date, s.store_no, s.store_id,
           round(c.capacity_per_hour * s.open_hours_per_day * 0.3
                 * (0.9 + 0.2 * u(s.store_no * 1000 + cal.day_idx, 'staff')), 1) AS staff_hours,
           s.wage_per_hour, s.rent_per_day,
           u(s.store_no * 1000 + cal.day_idx, 'other') AS u_other
    FROM _store s JOIN _store_capacity c USING (store_no) CROSS JOIN _calendar cal
)
SELECT date, 'staff', round(staff_hours * wage_per_hour, 2), store_id, NULL, staff_hours
FROM store_costs
UNION ALL
SELECT date, 'rent', round(rent_per_day, 2), store_id, NULL, NULL FROM store_costs
UNION ALL
SELECT date, 'other', round(rent_per_day * (0.1 + 0.2 * u_other), 2), store_id, NULL, NULL
FROM store_costs
UNION ALL
SELECT {_date(CALENDAR_START)} + cal.day_idx, 'marketing',
       round(k.budget / (k.end_date - k.start_date + 1)
             * (0.8 + 0.4 * u(kk.campaign_no * 1000 + cal.day_idx, 'marketing')), 2),
       NULL, k.campaign_id, NULL
FROM _campaign kk
JOIN campaigns k USING (campaign_id)
JOIN _calendar cal ON cal.day_idx BETWEEN kk.first_day_idx AND kk.last_day_idx;""",
    }


#: The demo's targets (table ``targets``), set the way a planner would: each month's goal from the
#: month before — the whole business 5 % more orders and a tenth less refunding, each region a
#: tenth of a star more on its average rating.
TARGET_ORDERS_GROWTH, TARGET_REFUND_CUT, TARGET_RATING_STEP = 1.05, 0.9, 0.1

_TARGETS_SQL = f"""
INSERT INTO targets
WITH monthly AS (
    SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS month, count(*) AS n_orders,
           CAST(count(DISTINCT f.order_id) AS DOUBLE) / count(*) FILTER (WHERE o.status <> 'cancelled') AS refund_rate
    FROM orders o LEFT JOIN refunds f USING (order_id)
    GROUP BY 1
), regional AS (
    SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS month, s.region, avg(r.rating) AS avg_rating
    FROM reviews r JOIN orders o USING (order_id) JOIN stores s USING (store_id)
    WHERE s.region IS NOT NULL
    GROUP BY 1, 2
)
SELECT 'orders', 'business', NULL, CAST(month + INTERVAL 1 MONTH AS DATE),
       round(n_orders * {TARGET_ORDERS_GROWTH}, -1) FROM monthly
UNION ALL
SELECT 'refund_rate', 'business', NULL, CAST(month + INTERVAL 1 MONTH AS DATE),
       round(refund_rate * {TARGET_REFUND_CUT}, 3) FROM monthly
UNION ALL
SELECT 'avg_rating', 'region', region, CAST(month + INTERVAL 1 MONTH AS DATE),
       round(least(5.0, avg_rating + {TARGET_RATING_STEP}), 2) FROM regional
"""


def build_demo(
    path: str | os.PathLike | None = None,
    *,
    orders: int = 400_000,
    seed: int = 42,
    progress: ProgressFn | None = None,
) -> dict:
    """Build the demo warehouse at ``path`` (default: the configured warehouse), replacing it.

    ``progress(fraction, message)`` is called as the build advances. Returns a summary:
    ``{"path", "orders", "seed", "seconds", "counts": {table: rows}}``.
    """
    orders, seed = int(orders), int(seed)
    if not MIN_ORDERS <= orders <= MAX_ORDERS:
        raise ValueError(f"orders must be between {MIN_ORDERS:,} and {MAX_ORDERS:,}, not {orders:,}")
    if seed < 0:
        raise ValueError(f"seed must be zero or positive, not {seed}")
    report = progress or (lambda fraction, message: None)
    sizes = scale(orders)
    customer_width = max(6, len(str(orders // 4 + 1)))
    started = time.perf_counter()
    inserts = _insert_sql(seed)
    # how far the build is after writing each table (the optional tables are small: 0.86)
    fractions = dict(zip(db.CONTRACT_TABLES, (0.37, 0.38, 0.45, 0.65, 0.75, 0.80, 0.82, 0.86)))
    # (fraction done after the step, message, SQL)
    steps = [
        (0.02, "stores and campaigns", _setup_sql(seed) + _stores_sql(sizes["stores"])
         + _campaigns_sql(sizes["campaigns"], sizes["stores"])),
        (0.06, "daily demand per store", _store_days_sql(orders)),
        (0.35, f"{orders:,} orders and what happened to them", _orders_sql(customer_width)),
    ] + [
        (fractions.get(table, 0.86), f"writing {table}", inserts[table]) for table in db.CONTRACT_TABLES
        if table in inserts   # targets are written after the rollups' inputs (_TARGETS_SQL)
    ]
    with db.rebuild(path, start_empty=True) as con:
        report(0.0, "starting")
        for fraction, message, sql in steps:
            report(fraction - 0.01, message)
            con.execute(sql)
        con.execute(_TARGETS_SQL)
        counts = db.table_counts(con)
        now = dt.datetime.now().replace(microsecond=0)
        con.executemany(
            "INSERT INTO import_log VALUES ($1, 'demo', $2, $3, $4, 0, 0)",
            [(now, f"demo seed={seed}", table, n) for table, n in counts.items()])
        effects = dict(con.execute("SELECT campaign_id, effect FROM _campaign ORDER BY campaign_no").fetchall())
        funnel = {cid: {"ctr": ctr, "receive": receive, "order": order} for cid, ctr, receive, order in con.execute(
            f"SELECT campaign_id, {FUNNEL_RATE_SQL['ctr']}, {FUNNEL_RATE_SQL['receive']}, {FUNNEL_RATE_SQL['order']} "
            "FROM _campaign ORDER BY campaign_no").fetchall()}
        con.executemany("INSERT OR REPLACE INTO warehouse_meta VALUES ($1, $2)", [
            ("source", "demo"), ("demo_seed", str(seed)), ("demo_orders", str(orders)),
            (EFFECTS_META_KEY, json.dumps(effects, sort_keys=True)),
            (FUNNEL_META_KEY, json.dumps(funnel, sort_keys=True)),
        ])
        con.execute("DROP TABLE _o; DROP TABLE _store_day; DROP TABLE _store_day_offset")
        report(0.87, "building rollups")
    seconds = round(time.perf_counter() - started, 2)
    report(1.0, f"done in {seconds:.1f} s")
    return {"path": str(config.warehouse_path(path)), "orders": orders, "seed": seed,
            "seconds": seconds, "counts": counts}
