"""Shared fixtures.

``demo_warehouse`` is one small demo warehouse (60,000 orders, seed 7) built once per test session;
tests that read it open it read-only through ``ro_con``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from o2o_ops import demo

DEMO_ORDERS = 60_000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a demo warehouse (orders=60_000, seed=7), built once per session. Do not write to it."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_demo(path, orders=DEMO_ORDERS, seed=DEMO_SEED)
    return path


@pytest.fixture
def ro_con(demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``demo_warehouse``, closed after the test."""
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def partial_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """``partial_warehouse(shape)``: the path of a warehouse imported from one of
    ``partial_shapes.SHAPES`` through the real importer, built once per session. Do not write to it."""
    from partial_shapes import build_shape

    built: dict[str, Path] = {}

    def get(shape: str) -> Path:
        if shape not in built:
            folder = tmp_path_factory.mktemp(f"partial-{shape}")
            built[shape] = build_shape(shape, folder / "files", folder / f"{shape}.duckdb")
        return built[shape]

    return get
