"""Partial warehouses as real users make them, imported through the real importer.

``tests/fixtures/partial/base`` is one small, complete data set (5 stores in 2 cities, 2
campaigns, 8 customers, 60 orders from Mon 2026-10-05 to Tue 2026-11-03) written the way real
exports are: the text ``null`` / ``NULL`` / empty in optional text columns, a store and a campaign
whose names are markdown attacks. Each *shape* takes some of its tables, drops or blanks some
columns, or keeps some days, writes the result as CSV files into a folder and imports that
folder with :func:`o2o_ops.ingest.import_dir`, exactly as ``python -m o2o_ops import-dir`` does
with a mapping naming the null markers (``NULL_MARKERS``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from o2o_ops import ingest

BASE = Path(__file__).resolve().parent / "fixtures" / "partial" / "base"
ALL_TABLES = ("stores", "campaigns", "customers", "orders", "redemptions", "reviews", "refunds", "costs")
# Orders up to the last complete ISO week of the base data (2026-W44 ends Sunday 2026-11-01).
LAST_SUNDAY = "2026-11-01"
EVIL_STORE = "Evil](https://evil.example) **x**"
EVIL_CAMPAIGN = "Coupon [week](https://evil.example)"


@dataclass(frozen=True)
class Shape:
    name: str
    tables: tuple[str, ...]
    drop: dict[str, tuple[str, ...]] = field(default_factory=dict)     # table -> columns left out
    blank: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)  # table -> column -> keys blanked
    first_day: str = "2026-10-05"
    last_day: str = LAST_SUNDAY


WITHOUT_CAMPAIGNS = {"orders": ("campaign_id",)}
SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("stores_only", ("stores",)),
    Shape("orders_only", ("stores", "customers", "orders"), drop=WITHOUT_CAMPAIGNS),
    Shape("no_reviews", ("stores", "campaigns", "customers", "orders", "redemptions", "refunds", "costs")),
    Shape("no_promises", ALL_TABLES,
          drop={"stores": ("listed_rating", "listed_wait_minutes", "capacity_per_hour")}),
    Shape("no_costs_no_campaigns", ("stores", "customers", "orders", "redemptions", "reviews", "refunds"),
          drop=WITHOUT_CAMPAIGNS),
    Shape("no_coordinates", ALL_TABLES, blank={"stores": {"lat": ("s2", "s4"), "lon": ("s2", "s4")}}),
    Shape("single_day", ALL_TABLES, first_day="2026-10-21", last_day="2026-10-21"),
    Shape("fresh_week", ALL_TABLES, last_day="2026-11-03"),
)}
NO_COORDINATES = ("s2", "s4")
#: How the base files write an empty value, as a user lists it in the mapping.
NULL_MARKERS = {"null_values": ["null", "NULL"]}


def _read(table: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(BASE / f"{table}.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def shape_rows(shape: Shape) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """The shape's tables as (columns, rows), text exactly as in the base files."""
    out: dict[str, tuple[list[str], list[dict[str, str]]]] = {}
    kept_orders: set[str] = set()
    for table in ALL_TABLES:
        if table not in shape.tables:
            continue
        columns, rows = _read(table)
        columns = [c for c in columns if c not in shape.drop.get(table, ())]
        if table == "orders":
            rows = [r for r in rows if shape.first_day <= r["ordered_at"][:10] <= shape.last_day]
            kept_orders = {r["order_id"] for r in rows}
        elif table in ("redemptions", "reviews", "refunds"):
            rows = [r for r in rows if r["order_id"] in kept_orders]
        elif table == "costs":
            rows = [r for r in rows if shape.first_day <= r["date"] <= shape.last_day]
        key = "store_id" if table == "stores" else None
        for column, keys in shape.blank.get(table, {}).items():
            for r in rows:
                if key and r[key] in keys:
                    r[column] = ""
        out[table] = (columns, [{c: r[c] for c in columns} for r in rows])
    return out


def build_shape(shape: str | Shape, folder: Path, warehouse: Path) -> Path:
    """Write the shape's files (a name in SHAPES, or a Shape) into ``folder`` and import them
    into a new ``warehouse``."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, (columns, rows) in shape_rows(SHAPES[shape] if isinstance(shape, str) else shape).items():
        with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    # As a user does once told: the complaint category refuses its "NULL" until the mapping
    # names the markers (and then no other column keeps them as text either).
    ingest.import_dir(folder, warehouse=warehouse, imported_by="tests", mapping=NULL_MARKERS)
    return warehouse
