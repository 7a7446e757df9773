"""Column-level lineage of the build SQL (o2o_ops/lineage.py): which output columns of a step can
change when given columns of its sources change. Each case is small enough to judge by eye; the
property tests of tests/test_incremental.py check the readers it finds against the full rebuild."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from o2o_ops import db, incremental, lineage
from o2o_ops.lineage import EVERY, changing_columns

FLAG = {"facts": frozenset({"flag"})}


@pytest.mark.parametrize("query, expected", [
    # a select item that names the changing column, and one that does not
    ("SELECT store_id, count(*) FILTER (WHERE flag) AS n_flagged, sum(amount) AS amount FROM facts GROUP BY store_id",
     {"n_flagged"}),
    # count(*) counts rows, which no filter on the flag chooses
    ("SELECT store_id, count(*) AS n FROM facts GROUP BY store_id", set()),
    # rows chosen, joined, grouped or made distinct by it: every column
    ("SELECT store_id, amount FROM facts WHERE flag", EVERY),
    ("SELECT store_id, count(*) AS n FROM facts GROUP BY store_id, flag", EVERY),
    ("SELECT f.store_id FROM facts f JOIN stores s ON s.store_id = f.store_id AND f.flag", EVERY),
    ("SELECT store_id FROM facts JOIN other USING (flag)", EVERY),
    ("SELECT DISTINCT store_id, flag FROM facts", EVERY),
    ("SELECT store_id, sum(amount) AS amount FROM facts GROUP BY store_id HAVING bool_or(flag)", EVERY),
    # a window ordered by it changes its own item only
    ("SELECT store_id, row_number() OVER (PARTITION BY store_id ORDER BY flag) AS k, amount FROM facts", {"k"}),
    # through a CTE and a derived table, under another name
    ("WITH c AS (SELECT store_id, CAST(flag AS INT) AS f, amount FROM facts) "
     "SELECT store_id, sum(f) AS n, sum(amount) AS a FROM (SELECT * FROM c) d GROUP BY store_id", {"n"}),
    ("WITH c AS (SELECT store_id, amount FROM facts) SELECT store_id, sum(amount) AS a FROM c GROUP BY store_id",
     set()),
    # a star passes the changing columns on under their names
    ("SELECT * FROM facts", {"flag"}),
    # a subquery that reads it, or a correlated one that names the outer flag: every column
    ("SELECT store_id FROM stores WHERE store_id IN (SELECT store_id FROM facts WHERE flag)", EVERY),
    ("SELECT s.store_id FROM facts s WHERE EXISTS (SELECT 1 FROM other o WHERE o.k = s.flag)", EVERY),
    # a union: every column if a branch has one
    ("SELECT store_id, flag AS x FROM facts UNION ALL SELECT store_id, 0 AS x FROM other", EVERY),
    ("SELECT store_id, amount FROM facts UNION ALL SELECT store_id, amount FROM other", set()),
    # tables that do not change
    ("SELECT a, b FROM other WHERE c", set()),
    # SQL sqlglot cannot read: every column
    ("SELECT FROM WHERE (", EVERY),
])
def test_changing_columns(query, expected):
    got = changing_columns(query, FLAG)
    assert got == (EVERY if expected == EVERY else frozenset(expected))


def test_a_source_of_which_every_column_changes_changes_what_names_it():
    changing = {"rollup": EVERY}
    assert changing_columns("SELECT a FROM rollup", changing) == frozenset({"a"})
    assert changing_columns("SELECT * FROM rollup", changing) == EVERY
    assert changing_columns("SELECT count(*) AS n FROM rollup WHERE b > 0", changing) == EVERY


def test_readers_follow_the_changing_columns_from_step_to_step():
    steps = {
        "facts": "SELECT 1",
        "day": "SELECT store_id, date, count(*) AS n, count(*) FILTER (WHERE flag) AS n_flag FROM facts GROUP BY 1, 2",
        "totals": "SELECT store_id, sum(n) AS n FROM day GROUP BY store_id",           # reads no flag
        "flags": "SELECT store_id, sum(n_flag) AS n_flag FROM day GROUP BY store_id",  # reads one
        "chosen": "SELECT store_id FROM totals WHERE n > 10",                           # reads none
        "after": "SELECT store_id FROM flags WHERE n_flag > 0",                         # rows move
    }
    found = lineage.readers(steps, {"facts": frozenset({"flag"})})
    assert found == {"facts": {"flag"}, "day": {"n_flag"}, "flags": {"n_flag"}, "after": EVERY}


def test_the_stored_as_of_readers_are_those_of_the_build_sql(tmp_path, monkeypatch):
    """READERS_FILE spares every import the parse; it must be the one this SQL gives (after a
    change of the build SQL: ``python -c "from o2o_ops import incremental; incremental.write_readers_file()"``)."""
    stored = json.loads(incremental.READERS_FILE.read_text())
    found = lineage.readers(dict(incremental._steps(touched=False)),
                            {"order_facts": frozenset(incremental.AS_OF_FLAGS)})
    assert stored["found"] == sorted(found), "READERS_FILE is out of date: write it again (docstring)"
    assert stored["key"] == incremental._readers_key({"order_facts"}), \
        "READERS_FILE was found from another build SQL: write it again (docstring)"
    # the order rollup and what is summed from its breakage and promise counts; not the day totals
    # lift reads (orders and revenue), nor lift's tables, nor the campaigns' stores
    assert set(found) == {"order_facts", "rollup_day_store_channel_campaign", "rollup_week_store_channel_campaign",
                          "rollup_day_store", "rollup_week_store", "rollup_campaign_day"}
    assert found["rollup_day_store_channel_campaign"] == {"count_breakage", "breakage_amount",
                                                          "count_promise_due", "count_late_vs_promise"}
    # a stale file is not used: the readers are found from the SQL
    stale = tmp_path / "readers.json"
    stale.write_text(json.dumps({"key": "another version", "found": ["order_facts"]}))
    assert incremental._load_found(stale, incremental._readers_key({"order_facts"})) is None


def test_copied_columns_are_the_select_items_that_pass_a_column_on_as_it_is():
    query = ("SELECT o.order_id, o.paid_amount, coalesce(o.channel, 'x') AS channel, o.status AS state, "
             "s.city, o.* FROM orders o JOIN stores s USING (store_id)")
    # not the coalesced one, nor the renamed one (the orders step compares order_facts' columns
    # with the orders' by name), nor the star
    assert lineage.copied_columns(query, "orders") == {"order_id", "paid_amount"}
    assert lineage.copied_columns(query, "stores") == {"city"}
    assert lineage.copied_columns("SELECT FROM WHERE (", "orders") == frozenset()


def _build_sql_columns() -> tuple[dict[str, str], list[str]]:
    import sqlglot
    steps = dict(incremental._steps(touched=False))
    return steps, [c.lower() for c in sqlglot.parse_one(steps["order_facts"], read="duckdb").named_selects]


def test_a_step_reads_a_set_of_changing_columns_exactly_when_it_reads_one_of_them():
    """What find_step_reads rests on: the readers of several changing columns of order_facts are
    the union of each one's readers (on the build SQL itself, 40 random sets of 2 to 8 columns)."""
    import random
    steps, columns = _build_sql_columns()
    alone = {c: set(lineage.readers(steps, {"order_facts": frozenset([c])})) for c in columns}
    rng = random.Random(5)
    for _ in range(40):
        chosen = rng.sample(columns, rng.randint(2, 8))
        together = set(lineage.readers(steps, {"order_facts": frozenset(chosen)}))
        assert together == set().union(*(alone[c] for c in chosen)), chosen


def test_the_stored_step_reads_are_those_of_the_build_sql():
    """STEP_READS_FILE spares every import the walk; it must be the one this SQL gives (after a
    change of the build SQL: ``python -c "from o2o_ops import incremental; incremental.write_step_reads_file()"``)."""
    from o2o_ops import db
    stored = json.loads(incremental.STEP_READS_FILE.read_text())
    assert stored["key"] == db.rollups_version(), "STEP_READS_FILE was found from another build SQL: write it again"
    found = incremental.find_step_reads(dict(incremental._steps(touched=False)), incremental._contract_columns())
    assert stored["found"] == found, "STEP_READS_FILE is out of date: write it again (docstring)"
    reads = found
    # by hand: the reviews' rollups read the reviews and order_facts' keys, not the amounts paid
    assert "reviews.rating" in reads["rollup_review_rating_day"]
    assert "order_facts.paid_amount" not in reads["rollup_review_rating_day"]
    assert "order_facts.paid_amount" in reads["rollup_day_store_channel_campaign"]
    # order_facts copies these columns of orders as they are, not the three it fills in
    assert {"paid_amount", "store_id", "ordered_at"} <= set(reads["order_facts copies"])
    assert not {"channel", "discount_amount", "platform_fee"} & set(reads["order_facts copies"])


def test_the_stored_coverage_spans_are_those_of_the_build_sql():
    """COVERAGE_FILE spares every import sqlglot's parse of the coverage query; it must be the one
    this SQL gives (after a change of the build SQL: ``python -c "from o2o_ops import incremental;
    incremental.write_coverage_file()"``)."""
    query = dict(incremental._steps(touched=False))["coverage"]
    stored = json.loads(incremental.COVERAGE_FILE.read_text())
    assert stored["key"] == incremental._coverage_key(query), "COVERAGE_FILE was found from another SQL: write it again"
    found = incremental.find_coverage_spans(query)
    assert stored["found"] == found, "COVERAGE_FILE is out of date: write it again (docstring)"
    # by hand: the orders' span is simple and combines; the template puts the union back in place
    orders = next(span for span in found["spans"] if span["input"] == "orders")
    assert orders["table"] == "orders" and orders["combinable"]
    assert orders["appended_sql"].endswith("FROM orders WHERE rowid > o2o_last_rowid")
    whole = found["template"].replace("o2o_spans_here", " UNION ALL ".join(s["sql"] for s in found["spans"]))
    con = duckdb.connect()
    try:
        db.create_schema(con)
        con.execute("INSERT INTO orders (order_id, customer_id, store_id, ordered_at, list_price, paid_amount, "
                    "discount_amount) VALUES ('O1', 'C1', 'S1', '2026-11-02 10:00', 50, 40, 10), "
                    "('O2', 'C1', 'S1', '2026-11-09 10:00', 50, 50, NULL)")
        rows = con.execute(whole).fetchall()
        assert ("orders", "orders", 2, dt.date(2026, 11, 2), dt.date(2026, 11, 9), False) in rows
        assert con.execute(whole).fetchall() == con.execute(query).fetchall()
    finally:
        con.close()
