"""One error boundary: every failure, on every page, is a plain message with what to do.

Each failure is injected for real where it can be: the row cap through ``O2O_MAX_ROWS=1``; the
time limit through a tiny ``O2O_QUERY_TIMEOUT_S`` on a query that takes seconds (DuckDB is
interrupted by db.run's own timer); a corrupt file; a stale warehouse whose refresh is refused;
a missing warehouse whose first-start build fails; a page that raises. Failures are put both
into the sidebar (it runs first) and into the page itself (the sidebar's choices served from
before the failure).
"""

from __future__ import annotations

import logging
import re
import shutil

import duckdb
import pytest
import streamlit as st

from apptest_util import open_link, rendered_texts, shown
from o2o_ops import db, demo
from o2o_ops.ui import frame, warehouse as data

PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")
# Pages that query the warehouse beyond the sidebar (definitions reads only the registry).
QUERYING = PAGES[:-1]
SLOW_SQL = "SELECT count(*) AS n FROM range(20000000000) t(i) WHERE i % 7 = 3"


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test sees the warehouse, not answers cached by an earlier test in this process."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def warehouse(partial_warehouse, tmp_path):
    """A private copy of a complete small warehouse (tests below damage it)."""
    path = tmp_path / "o2o.duckdb"
    shutil.copyfile(partial_warehouse("fresh_week"), path)
    return path


def plain_error(at) -> str:
    """The one error message shown: no exception element, no traceback, nothing that leaks."""
    assert not at.exception, at.exception[0].message
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert not any("Traceback" in t or 'File "' in t for t in rendered_texts(at))
    return errors[0]


def sidebar_choices_before_failure(monkeypatch, warehouse):
    """Serve the sidebar's choices as they were, so a failure hits the page's own queries."""
    con = db.connect(warehouse)
    try:
        choices = data.dimension_values.__wrapped__(con)
    finally:
        con.close()
    monkeypatch.setattr(data, "dimension_values", lambda: choices)


@pytest.mark.parametrize("where", ["sidebar", "page"])
@pytest.mark.parametrize("page", QUERYING)
def test_row_cap(page, where, warehouse, monkeypatch):
    if where == "page":
        sidebar_choices_before_failure(monkeypatch, warehouse)
    monkeypatch.setenv("O2O_MAX_ROWS", "1")
    message = plain_error(open_link(page, warehouse))
    assert re.search(r"more than the limit of 1; narrow the filters\.$", message), message


def slow_run(real_run):
    def run(con, sql, params=None, **kwargs):
        return real_run(con, SLOW_SQL, None, **kwargs)
    return run


@pytest.mark.parametrize("where", ["sidebar", "page"])
@pytest.mark.parametrize("page", QUERYING)
def test_time_limit(page, where, warehouse, monkeypatch):
    if where == "page":
        sidebar_choices_before_failure(monkeypatch, warehouse)
    monkeypatch.setenv("O2O_QUERY_TIMEOUT_S", "0.05")
    monkeypatch.setattr(db, "run", slow_run(db.run))
    message = plain_error(open_link(page, warehouse))
    assert message.startswith("The query took longer than 0.05 s; narrow the filters."), message
    assert "O2O_QUERY_TIMEOUT_S" in message


@pytest.mark.parametrize("page", PAGES)
def test_corrupt_warehouse(page, warehouse):
    with open(warehouse, "r+b") as f:  # keep the size, ruin the header and the first blocks
        f.write(b"\x00garbage" * 4096)
    message = plain_error(open_link(page, warehouse))
    assert message.startswith(f"Cannot open the warehouse at {warehouse}")
    assert "python -m o2o_ops demo" in message


@pytest.mark.parametrize("page", PAGES)
def test_stale_warehouse_that_cannot_be_refreshed(page, warehouse, monkeypatch):
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE warehouse_meta SET value = 'older' WHERE key = 'rollups_version'")
    con.close()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(warehouse.parent / ".o2o.duckdb.1.tmp"))
    monkeypatch.setattr(db, "rebuild", refuse)
    message = plain_error(open_link(page, warehouse))
    assert "prepared by another version of o2o-ops and refreshing it failed" in message
    assert "permission denied" in message and "python -m o2o_ops refresh" in message
    assert str(warehouse.parent) not in message


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/data.py"])
def test_missing_warehouse_whose_first_build_fails(page, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(demo, "build_demo", no_space)
    message = plain_error(open_link(page, tmp_path / "absent.duckdb"))
    assert message.startswith("Building the demo warehouse failed") and "python -m o2o_ops demo" in message


@pytest.mark.parametrize("page", PAGES)
def test_a_page_that_raises(page, warehouse, monkeypatch, caplog):
    real_header = frame.header

    def header_then_fail(*args, **kwargs):
        real_header(*args, **kwargs)
        raise RuntimeError(f"internal detail at {warehouse}")
    monkeypatch.setattr(frame, "header", header_then_fail)
    with caplog.at_level(logging.ERROR, logger="o2o_ops.ui"):
        at = open_link(page, warehouse)
    message = plain_error(at)
    reference = re.search(r"logged as error ([0-9a-f]{8})\.", message)
    assert reference and "internal detail" not in message and str(warehouse) not in message
    logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "internal detail" in str(logged[0].exc_info[1])


def test_a_fragment_that_raises_leaves_the_rest_of_the_page(warehouse, monkeypatch):
    from o2o_ops import analysis

    def broken(*args, **kwargs):
        raise KeyError("peer")
    monkeypatch.setattr(analysis, "peer_view", broken)
    at = open_link("pages/quality.py", warehouse)
    assert plain_error(at).startswith("Something went wrong while showing this page")
    assert "Quality by store" in [s.value for s in at.subheader]  # after the fragment: still there


def test_sign_in_page_errors_are_caught_too(warehouse, monkeypatch):
    from o2o_ops.ui import auth as auth_ui

    def broken():
        raise RuntimeError("users file parser blew up")
    monkeypatch.setattr(auth_ui, "require_user", broken)
    assert "logged as error" in plain_error(open_link("pages/overview.py", warehouse))
