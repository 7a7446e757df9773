"""The warehouse schema refuses rows the KPI layer would misread (schema.sql), and a missing
warehouse gives an error that says how to make one."""

from __future__ import annotations

import duckdb
import pytest

from o2o_ops import db

# the contract's first 13 columns of orders (the promise columns of issue #16 stay empty)
ORDER_COLUMNS = "order_id, customer_id, store_id, ordered_at, list_price, paid_amount, campaign_id, channel, discount_amount, platform_fee, status, valid_until, tracking_code"

STORE = ("S1", "Lakeside Noodles", "restaurant", "Hangzhou", 30.25, 120.13,
         "Xihu", "East", "2020-01-01", 10.0, 4.5, 15.0)
CAMPAIGN = ("C1", "Autumn group buy", "group_buy", "wechat", "2026-11-02", "2026-11-15", 1000.0, 0.2)
CUSTOMER = ("K1", "2026-01-01", "Hangzhou", "silver", "app")
ORDER = ("O1", "K1", "S1", "2026-11-02 12:00", 100.0, 80.0, "C1", "wechat", 20.0, 4.0, "paid",
         "2026-12-02 12:00", "TC1")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """An empty warehouse in memory holding one valid store, campaign, customer and order."""
    con = duckdb.connect(":memory:")
    db.create_schema(con)
    con.execute("INSERT INTO stores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", STORE)
    con.execute("INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CAMPAIGN)
    con.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", CUSTOMER)
    con.execute("INSERT INTO orders (" + ORDER_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ORDER)
    yield con
    con.close()


def test_valid_rows_are_accepted(con):
    con.execute("INSERT INTO redemptions VALUES ('O1', '2026-11-03 12:00', 12, 40, 0)")
    con.execute("INSERT INTO reviews VALUES ('R1', 'O1', 5, '2026-11-04 12:00', true, NULL)")
    con.execute("INSERT INTO refunds VALUES ('O1', '2026-11-05 12:00', 10, 'poor service')")
    con.execute("INSERT INTO refunds VALUES ('O1', '2026-11-06 12:00', 5, 'poor service')")
    con.execute("INSERT INTO costs VALUES ('2026-11-02', 'marketing', 100, NULL, 'C1', NULL)")
    con.execute("INSERT INTO store_hours VALUES ('S1', 7, '18:00', '02:00')")
    con.execute("INSERT INTO inspections VALUES ('S1', '2026-11-04', 62, 1, 2, 3, NULL, 'routine')")
    con.execute("INSERT INTO events VALUES ('click', '2026-11-02 08:00', 3, 'C1', 'wechat', 'S1', 'K1')")
    assert db.table_counts(con) == {
        "stores": 1, "campaigns": 1, "customers": 1, "orders": 1, "redemptions": 1,
        "reviews": 1, "refunds": 2, "costs": 1, "store_hours": 1, "inspections": 1, "events": 1, "targets": 0,
    }


@pytest.mark.parametrize("bad_sql", [
    pytest.param("INSERT INTO store_hours VALUES ('S1', 8, '10:00', '22:00')", id="store_hours-weekday"),
    pytest.param("INSERT INTO inspections VALUES ('S1', '2026-11-04', 120, NULL, NULL, NULL, NULL, NULL)",
                 id="inspections-score"),
    pytest.param("INSERT INTO events VALUES ('purchase', '2026-11-02 08:00', 1, NULL, NULL, NULL, NULL)",
                 id="events-type"),
    pytest.param("INSERT INTO store_hours VALUES ('S404', 1, '10:00', '22:00')", id="store_hours-store"),
    pytest.param("INSERT INTO reviews VALUES ('R1', 'O1', 6, '2026-11-04 12:00', true, NULL)",
                 id="rating 6"),
    pytest.param("INSERT INTO reviews VALUES ('R1', 'O1', 0, '2026-11-04 12:00', true, NULL)",
                 id="rating 0"),
    pytest.param("INSERT INTO stores VALUES ('S2', 'x', 'hotel', 'Beijing', 95, 116.4, "
                 "NULL, NULL, NULL, NULL, NULL, NULL)", id="lat 95"),
    pytest.param("INSERT INTO stores VALUES ('S2', 'x', 'hotel', 'Beijing', 39.9, 181, "
                 "NULL, NULL, NULL, NULL, NULL, NULL)", id="lon 181"),
    pytest.param("INSERT INTO stores VALUES ('S2', 'x', 'hotel', 'Beijing', 39.9, 116.4, "
                 "NULL, NULL, NULL, NULL, 5.5, NULL)", id="listed rating 5.5"),
    pytest.param("INSERT INTO orders (" + ORDER_COLUMNS + ") VALUES ('O2', 'K1', 'S1', '2026-11-02 12:00', 100, -1, "
                 "NULL, 'app', 0, 0, 'paid', NULL, NULL)", id="negative paid_amount"),
    pytest.param("INSERT INTO orders (" + ORDER_COLUMNS + ") VALUES ('O2', 'K1', 'S1', '2026-11-02 12:00', 100, 100, "
                 "NULL, 'app', 0, 0, 'lost', NULL, NULL)", id="unknown status"),
    pytest.param("INSERT INTO redemptions VALUES ('O1', '2026-11-03 12:00', -1, 1, 0)",
                 id="negative wait"),
    pytest.param("INSERT INTO refunds VALUES ('O1', '2026-11-05 12:00', -10, 'poor service')",
                 id="negative refund"),
    pytest.param("INSERT INTO stores VALUES ('S1', 'again', 'hotel', 'Beijing', 39.9, 116.4, "
                 "NULL, NULL, NULL, NULL, NULL, NULL)", id="duplicate store_id"),
    pytest.param("INSERT INTO stores VALUES ('S2', NULL, 'hotel', 'Beijing', 39.9, 116.4, "
                 "NULL, NULL, NULL, NULL, NULL, NULL)", id="NULL store name"),
    pytest.param("INSERT INTO orders (" + ORDER_COLUMNS + ") VALUES ('O2', 'K1', 'S1', NULL, 100, 100, "
                 "NULL, 'app', 0, 0, 'paid', NULL, NULL)", id="NULL ordered_at"),
    pytest.param("INSERT INTO campaigns VALUES ('C2', 'x', 'coupon', 'app', '2026-11-15', "
                 "'2026-11-02', 10, 0.1)", id="end_date before start_date"),
    pytest.param("INSERT INTO campaigns VALUES ('C2', 'x', 'coupon', 'app', '2026-11-02', "
                 "'2026-11-15', 10, 1.5)", id="discount_rate 1.5"),
    pytest.param("INSERT INTO costs VALUES ('2026-11-02', 'staff', -5, 'S1', NULL, 8)",
                 id="negative cost"),
])
def test_bad_row_is_rejected(con, bad_sql):
    before = db.table_counts(con)
    with pytest.raises(duckdb.ConstraintException):
        con.execute(bad_sql)
    assert db.table_counts(con) == before


ORDER_LEVEL = ("orders", "redemptions", "reviews", "refunds")


def test_order_level_tables_hold_no_key_index_and_the_others_do(con):
    """By design (schema.sql): the keys and parents of the order-level tables are enforced by the
    paths that write them (tests/test_ingest.py, tests/test_lake.py), not by DuckDB indexes, which
    cost over a third of a 10-million-order demo build and 0.9 s of each import; the dimension tables keep
    theirs."""
    kinds = {(t, k) for t, k in con.execute(
        "SELECT table_name, constraint_type FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')").fetchall()}
    assert not {(t, k) for t, k in kinds if t in ORDER_LEVEL}
    assert {("stores", "PRIMARY KEY"), ("campaigns", "PRIMARY KEY"), ("customers", "PRIMARY KEY"),
            ("store_hours", "FOREIGN KEY"), ("costs", "FOREIGN KEY"), ("events", "FOREIGN KEY")} <= kinds
    # NOT NULL and CHECKs stay on them
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO refunds VALUES ('O1', NULL, 10, 'poor service')")


def test_a_warehouse_created_with_order_level_keys_keeps_working(tmp_path):
    """One made before schema.sql dropped them: create_schema (run by every write) leaves it as it is."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, customer_id VARCHAR NOT NULL, "
                "store_id VARCHAR NOT NULL, ordered_at TIMESTAMP NOT NULL, list_price DOUBLE NOT NULL, "
                "paid_amount DOUBLE NOT NULL)")
    con.execute("CREATE TABLE redemptions (order_id VARCHAR PRIMARY KEY REFERENCES orders (order_id), "
                "redeemed_at TIMESTAMP NOT NULL)")
    db.create_schema(con)
    con.execute("INSERT INTO orders (order_id, customer_id, store_id, ordered_at, list_price, paid_amount) "
                "VALUES ('O1', 'K1', 'S1', '2026-11-02 12:00', 1, 1)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO redemptions (order_id, redeemed_at) VALUES ('O404', '2026-11-03 12:00')")
    con.close()


def test_create_schema_is_idempotent(con):
    db.create_schema(con)
    assert db.table_counts(con)["orders"] == 1


def test_connect_to_missing_warehouse_says_how_to_build_one(tmp_path):
    with pytest.raises(db.WarehouseError, match="python -m o2o_ops demo"):
        db.connect(tmp_path / "missing.duckdb")


def test_connect_to_a_file_that_is_not_a_warehouse(tmp_path):
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(db.WarehouseError, match="not an o2o-ops warehouse"):
        db.connect(path)
