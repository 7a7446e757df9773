-- Warehouse contract: the core tables, one per entity (see DESIGN.md "Warehouse contract").
-- Grain is stated per table. NOT NULL on required columns and range CHECKs are enforced here so
-- that no load path (demo, import, assemble) can write a row the KPI layer would misread; so are
-- the keys of the dimension tables and of the small ones.
--
-- The order-level tables (orders, redemptions, reviews, refunds) have no PRIMARY KEY or REFERENCES
-- here: their keys and parents are enforced by every path that writes them instead. The importer
-- merges a batch by key and refuses a row whose parent is in neither the warehouse nor the batch
-- (o2o_ops/ingest.py), the demo writes them so, and `assemble` checks a source's keys before it
-- copies it (o2o_ops/lake.py). DuckDB keeps a PRIMARY KEY or a REFERENCES as an index (an ART)
-- that every write loads and updates and every checkpoint writes again: at 10 million orders they
-- took 3.2 of the file's 5.5 GB, over a third of the demo build (163.6 s with them, 101.6 s
-- without, back to back) and 0.9 s of each import of 1,000 orders (9.4 s with them, 8.4-8.5 s
-- without; 2026-12-04).
-- A warehouse created with those keys keeps them (DuckDB cannot drop a key): it works as before.

CREATE TABLE IF NOT EXISTS stores (            -- one row per store
    store_id            VARCHAR PRIMARY KEY,
    name                VARCHAR NOT NULL,
    category            VARCHAR NOT NULL,
    city                VARCHAR NOT NULL,
    lat                 DOUBLE  CHECK (lat BETWEEN -90 AND 90),     -- optional: not every listing has one
    lon                 DOUBLE  CHECK (lon BETWEEN -180 AND 180),
    district            VARCHAR,
    region              VARCHAR,
    opened_on           DATE,
    capacity_per_hour   DOUBLE  CHECK (capacity_per_hour >= 0),
    listed_rating       DOUBLE  CHECK (listed_rating BETWEEN 1 AND 5),
    listed_wait_minutes DOUBLE  CHECK (listed_wait_minutes >= 0)
);

CREATE TABLE IF NOT EXISTS campaigns (         -- one row per campaign
    campaign_id   VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    start_date    DATE    NOT NULL,
    end_date      DATE    NOT NULL,
    budget        DOUBLE  CHECK (budget >= 0),
    discount_rate DOUBLE  CHECK (discount_rate BETWEEN 0 AND 1),
    CHECK (end_date >= start_date)
);

CREATE TABLE IF NOT EXISTS customers (         -- one row per customer (opaque id, no personal data)
    customer_id         VARCHAR PRIMARY KEY,
    signup_date         DATE NOT NULL,
    city                VARCHAR,
    tier                VARCHAR,
    acquisition_channel VARCHAR
);

CREATE TABLE IF NOT EXISTS orders (            -- one row per online order / voucher
    order_id        VARCHAR   NOT NULL,
    -- uncompressed: as DICT_FSST, reading the customers of 1,000 orders spread over 10 million
    -- took 0.10 s, against 0.01 s (the import of corrections reads them; db.UNCOMPRESSED_COLUMNS)
    customer_id     VARCHAR   NOT NULL USING COMPRESSION uncompressed,
    store_id        VARCHAR   NOT NULL,
    ordered_at      TIMESTAMP NOT NULL,
    list_price      DOUBLE    NOT NULL CHECK (list_price >= 0),
    paid_amount     DOUBLE    NOT NULL CHECK (paid_amount >= 0),
    campaign_id     VARCHAR,
    channel         VARCHAR,
    discount_amount DOUBLE    CHECK (discount_amount >= 0),
    platform_fee    DOUBLE    CHECK (platform_fee >= 0),
    status          VARCHAR   CHECK (status IN ('paid', 'refunded', 'cancelled', 'expired')),
    valid_until     TIMESTAMP,
    tracking_code   VARCHAR,
    -- optional (issue #16): what was promised for this order — a time (an estimated delivery, a
    -- booked slot) and/or a wait in the store
    promised_at           TIMESTAMP,
    promised_wait_minutes DOUBLE    CHECK (promised_wait_minutes >= 0)
);
-- a warehouse created before the promise columns existed gets them (empty)
ALTER TABLE orders ADD COLUMN IF NOT EXISTS promised_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS promised_wait_minutes DOUBLE;

CREATE TABLE IF NOT EXISTS redemptions (       -- one row per offline fulfilment of an order
    order_id        VARCHAR   NOT NULL,
    redeemed_at     TIMESTAMP NOT NULL,
    wait_minutes    DOUBLE    CHECK (wait_minutes >= 0),
    service_minutes DOUBLE    CHECK (service_minutes >= 0),
    extra_spend     DOUBLE    CHECK (extra_spend >= 0)
);

CREATE TABLE IF NOT EXISTS reviews (           -- one row per review
    review_id          VARCHAR   NOT NULL,
    order_id           VARCHAR   NOT NULL,
    rating             INTEGER   NOT NULL CHECK (rating BETWEEN 1 AND 5),
    posted_at          TIMESTAMP NOT NULL,
    as_described       BOOLEAN,
    complaint_category VARCHAR
);

CREATE TABLE IF NOT EXISTS refunds (           -- one row per refund (an order may have several)
    order_id    VARCHAR   NOT NULL,
    refunded_at TIMESTAMP NOT NULL,
    amount      DOUBLE    NOT NULL CHECK (amount >= 0),
    reason      VARCHAR
);

CREATE TABLE IF NOT EXISTS costs (             -- one row per store or campaign per day per cost type
    date        DATE    NOT NULL,
    cost_type   VARCHAR NOT NULL,
    amount      DOUBLE  NOT NULL CHECK (amount >= 0),
    store_id    VARCHAR REFERENCES stores (store_id),
    campaign_id VARCHAR REFERENCES campaigns (campaign_id),
    staff_hours DOUBLE  CHECK (staff_hours >= 0)
);

-- Optional tables of the contract (issue #16): a warehouse without rows in them works as before.

CREATE TABLE IF NOT EXISTS store_hours (       -- one row per store x ISO weekday x opening span
    store_id    VARCHAR NOT NULL REFERENCES stores (store_id),
    iso_weekday INTEGER NOT NULL CHECK (iso_weekday BETWEEN 1 AND 7),   -- Monday = 1
    opens_at    TIME    NOT NULL,
    closes_at   TIME    NOT NULL,              -- at or before opens_at: the span runs past midnight
    PRIMARY KEY (store_id, iso_weekday, opens_at)
);

CREATE TABLE IF NOT EXISTS inspections (       -- one row per offline inspection / audit of a store and day
    store_id            VARCHAR NOT NULL REFERENCES stores (store_id),
    inspected_on        DATE    NOT NULL,
    score               DOUBLE  CHECK (score BETWEEN 0 AND 100),
    violations_critical INTEGER CHECK (violations_critical >= 0),
    violations_major    INTEGER CHECK (violations_major >= 0),
    violations_minor    INTEGER CHECK (violations_minor >= 0),
    passed              BOOLEAN,
    inspection_type     VARCHAR,               -- routine, follow-up, complaint, ...
    PRIMARY KEY (store_id, inspected_on)
);

CREATE TABLE IF NOT EXISTS events (            -- one row per online funnel event (or a count of like events)
    event_type  VARCHAR   NOT NULL CHECK (event_type IN ('impression', 'click', 'coupon_received', 'shared',
                                                         'favourited')),
    occurred_at TIMESTAMP NOT NULL,
    event_count INTEGER   CHECK (event_count >= 1),   -- like events this row stands for; empty = 1
    campaign_id VARCHAR   REFERENCES campaigns (campaign_id),
    channel     VARCHAR,
    store_id    VARCHAR   REFERENCES stores (store_id),
    customer_id VARCHAR                               -- no key: a visitor need not be a customer
);

CREATE TABLE IF NOT EXISTS targets (           -- one row per KPI x scope x month (o2o_ops/targets.py)
    kpi          VARCHAR NOT NULL,              -- a KPI of the registry (checked on import)
    scope        VARCHAR NOT NULL CHECK (scope IN ('store', 'region', 'business')),
    scope_id     VARCHAR,                       -- the store_id or region; NULL for the whole business
    month        DATE    NOT NULL,              -- first day of the month
    target_value DOUBLE  NOT NULL
);

-- Bookkeeping: what was loaded, when, by whom. Written by demo and import.
CREATE TABLE IF NOT EXISTS import_log (
    imported_at   TIMESTAMP NOT NULL,
    imported_by   VARCHAR,
    source        VARCHAR,
    table_name    VARCHAR NOT NULL,
    rows_added    BIGINT,
    rows_updated  BIGINT,
    rows_rejected BIGINT
);

CREATE TABLE IF NOT EXISTS warehouse_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
