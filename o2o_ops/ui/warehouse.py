"""Cached access to the warehouse for pages.

One read-only connection per warehouse file version (``st.cache_resource``); each query runs on
its own cursor (see :func:`o2o_ops.db.run`). Results are cached with ``st.cache_data`` keyed by the
function, its (hashable) arguments and the warehouse file's version, so an import that replaces
the file makes every cached answer stale at once.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import duckdb
import streamlit as st

from o2o_ops import config, coverage, db, metrics
from o2o_ops.filters import Filters

T = TypeVar("T")


def warehouse_stamp() -> tuple[str, int, int]:
    """(path, inode, mtime) of the warehouse; changes when an import swaps the file."""
    path = config.warehouse_path()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return (str(path), 0, 0)
    return (str(path), stat.st_ino, stat.st_mtime_ns)


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(stamp: tuple[str, int, int]) -> duckdb.DuckDBPyConnection:
    return _open_version(stamp)


def _open_version(stamp: tuple[str, int, int]) -> duckdb.DuckDBPyConnection:
    """A read-only connection to this version of the warehouse file.

    ``duckdb.connect(path)`` hands back the database instance the process already has open for
    ``path`` (it resolves the path, symlinks included) — after an import replaced the file that
    is the *old* file, for as long as the previous version's cached connection lives. So each
    version is opened through a hard link of its own (same inode, new path, removed at once: the
    open instance keeps the file). Where a hard link cannot be made, the plain path is used.
    """
    path = Path(stamp[0])
    if not stamp[1]:
        return db.connect(path, read_only=True)  # missing: db.connect says what to do
    link = path.with_name(f".{path.name}.{stamp[1]}-{stamp[2]}.{os.getpid()}.version")
    try:
        link.unlink(missing_ok=True)
        os.link(path, link)
    except OSError:
        return db.connect(path, read_only=True)
    try:
        return db.connect(link, read_only=True)
    except db.WarehouseError:
        return db.connect(path, read_only=True)  # the message names the real file
    finally:
        link.unlink(missing_ok=True)


def connection() -> duckdb.DuckDBPyConnection:
    return _connection(warehouse_stamp())


@st.cache_data(ttl=3600, max_entries=1024, show_spinner=False)
def _cached_call(fn_key: str, stamp: tuple[str, int, int], args: tuple, kwargs: tuple) -> Any:
    fn = _REGISTERED[fn_key]
    return fn(_connection(stamp), *args, **dict(kwargs))


_REGISTERED: dict[str, Callable[..., Any]] = {}


def cached(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap a core function ``fn(con, *args, **kwargs)`` as a cached ``fn(*args, **kwargs)``.

    Arguments must be hashable values (Filters, str, tuples, dates); the result is copied out of
    the cache by Streamlit, so callers may modify it.
    """
    key = f"{fn.__module__}.{fn.__qualname__}"
    _REGISTERED[key] = fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return _cached_call(key, warehouse_stamp(), args, tuple(sorted(kwargs.items())))

    return wrapper


@cached
def _kpis(con: duckdb.DuckDBPyConnection, filters: Filters, by: str, names: tuple[str, ...] | None, as_of=None):
    return metrics.compute(con, filters, by, names, as_of=as_of)


def kpis(filters: Filters, by: str = "total", names: tuple[str, ...] | list[str] | None = None, *, as_of=None):
    """Cached :func:`o2o_ops.metrics.compute` (``as_of``: the period as it stood then)."""
    return _kpis(filters, by, tuple(names) if names is not None else None, as_of)


equal_age = cached(coverage.equal_age)


@cached
def dimension_values(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Choices for the sidebar filters, and the data's date span and freshness."""
    run = functools.partial(db.run, con)
    values = {
        "cities": run("SELECT DISTINCT city FROM stores ORDER BY 1")["city"].tolist(),
        "districts": run("SELECT DISTINCT district FROM stores WHERE district IS NOT NULL ORDER BY 1")["district"].tolist(),
        "categories": run("SELECT DISTINCT category FROM stores ORDER BY 1")["category"].tolist(),
        "channels": run("SELECT DISTINCT channel FROM rollup_day_store_channel_campaign ORDER BY 1")["channel"].tolist(),
        "campaign_kinds": run("SELECT DISTINCT kind FROM campaigns ORDER BY 1")["kind"].tolist(),
        "campaigns": run("SELECT campaign_id FROM campaigns ORDER BY 1")["campaign_id"].tolist(),
    }
    stores = run("SELECT store_id, name FROM stores ORDER BY store_id")
    values["stores"] = stores["store_id"].tolist()
    values["store_names"] = dict(zip(stores["store_id"], stores["name"]))
    span = run("SELECT min(date) AS first, max(date) AS last FROM rollup_day_store_channel_campaign")
    values["first_date"] = span.iat[0, 0]
    values["last_date"] = span.iat[0, 1]
    values["as_of"] = db.scalar(con, "SELECT value FROM warehouse_meta WHERE key = 'as_of'")
    return values
