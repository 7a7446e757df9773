"""The benchmark runs at a small size so it cannot rot. It reports every figure; no timing is asserted."""

from __future__ import annotations

import io
import math

from o2o_ops import bench


def test_benchmark_completes_and_reports_every_figure(tmp_path):
    out = io.StringIO()
    result = bench.run(5000, tmp_path / "bench.duckdb", runs=1, browser=True, out=out)
    text = out.getvalue()

    assert result["build"]["build_s"] > 0 and result["warehouse_mb"] > 0
    pages = {(row["page"], row["filters"]) for row in result["pages"]}
    assert {p for p, _ in pages} == {name.split("/")[-1][:-3] for name in bench.PAGES}
    assert len({f for _, f in pages}) == 2                       # default and one city · category
    assert all(row["median_s"] >= 0 for row in result["pages"])
    overview = [r for r in result["pages"] if r["page"] == "overview"]
    assert all(r["calls"] > 0 for r in overview)
    assert result["drilldown"]["orders_page_s"] > 0 and result["drilldown"]["whole_drilldown_s"] > 0
    assert result["baseline"]["load_s"] > 0 and result["baseline"]["compute_s"] > 0
    assert math.isfinite(result["ratio_compute"]) and math.isfinite(result["ratio_first_view"])
    app = result["app"]
    assert app["start_to_overview_s"] > 0 and app["navigation_to_cards_s"] > 0 and app["peak_memory_mb"] > 0
    imports = result["imports"]
    # 5,000 orders: a tenth caps the batches, so 500 new orders (twice: ids outside the stored
    # ones' range, and among them) and 500 corrected ones
    assert [c["batch"] for c in imports["cases"]] == ["500 new orders", "500 new (random ids)", "500 corrected orders",
                                                       "500 corrected, recent"]
    for case in imports["cases"]:
        assert case["full_s"] > 0 and case["incremental_s"] > 0
        assert case["full_peak_mb"] > 0 and case["incremental_peak_mb"] > 0
        assert case["incremental_mode"] == case["incremental_again_mode"] == "incremental", case["incremental_reason"]
        assert case["incremental_again_s"] > 0 and case["incremental_again_peak_mb"] > 0
        assert case["incremental_counts"]["changed_orders"] >= 500
    assert imports["copy_mb_s"] > 0
    # the import's own version of the warehouse: cloned or copied, as the file system allows
    assert imports["import_copy_method"] and set(imports["import_copy_method"]) <= {"clone", "copy"}
    for heading in ("page queries", "drill-down", "tutorial baseline", "ours / baseline", "app: start",
                    "imports into a copy", "the import's own copy of the warehouse"):
        assert heading in text

    # a second run reuses the warehouse instead of rebuilding it
    again = bench.run(5000, tmp_path / "bench.duckdb", runs=1, browser=False, out=io.StringIO())
    assert again["build"]["reused"] is True


def test_the_new_orders_of_the_random_ids_case_fall_among_the_stored_ids(tmp_path):
    """The bench's "random ids" batch: each new id sorts right after the stored id it copies, so
    DuckDB cannot skip a row group by the id's zone map; the other batch's ids all sort before the
    stored ones. Both are new, with the same orders' redemptions."""
    import csv

    import duckdb

    from o2o_ops.bench import imports
    from tiny import build_tiny

    wh = build_tiny(tmp_path / "tiny.duckdb")
    con = duckdb.connect(str(wh), read_only=True)
    stored = sorted(r[0] for r in con.execute("SELECT order_id FROM orders").fetchall())
    con.close()
    ids = {}
    for kind in ("new", "new_among"):
        imports.write_batch(wh, tmp_path / kind, kind, 6)
        with open(tmp_path / kind / "orders.csv", newline="") as f:
            ids[kind] = [r["order_id"] for r in csv.DictReader(f)]
        with open(tmp_path / kind / "redemptions.csv", newline="") as f:
            assert {r["order_id"] for r in csv.DictReader(f)} <= set(ids[kind])
    assert sorted(i.removesuffix("-N") for i in ids["new_among"]) == stored
    assert all(i.endswith("-N") for i in ids["new_among"])
    assert all(i < stored[0] for i in ids["new"]) and not set(ids["new"]) & set(stored)


def test_the_import_section_refuses_a_warehouse_of_another_version(tmp_path):
    """Its incremental imports run on copies of the warehouse: on derived tables of another version
    each would be a full rebuild, timed as an incremental import."""
    import duckdb
    import pytest

    from o2o_ops import db
    from o2o_ops.bench import imports
    from tiny import build_tiny

    wh = build_tiny(tmp_path / "tiny.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()
    with pytest.raises(db.StaleWarehouse, match="refresh --warehouse"):
        imports.run(wh, 8, tmp_path / "work", lambda text: None)
    assert not (tmp_path / "work").exists()
