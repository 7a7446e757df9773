"""Imports that were refused or failed, recorded for the failed-import alert rule.

The importer's entry points carry the :func:`recorded` decorator (a one-line hook in
``o2o_ops/ingest.py``): when one raises, a row goes into the alerts state file's
``import_failures`` table and the exception continues unchanged. A refused import is recorded
with its problem counts by kind only — never row values, which could name another store — so an
alert about it is safe to send to anyone subscribed.

Recording must never turn an import error into a different error: any problem writing the
record is logged and swallowed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import inspect
import logging
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

from o2o_ops import config
from o2o_ops.alerts import store

log = logging.getLogger("o2o_ops.alerts")
F = TypeVar("F", bound=Callable[..., Any])
_inside = contextvars.ContextVar("o2o_import_recorded", default=False)


def describe_sources(value: Any) -> str:
    """What was imported, in words: ``orders.csv (orders)``, or a folder's name."""
    if isinstance(value, (str, os.PathLike)):
        return Path(value).name or str(value)
    try:
        items = list(value)
    except TypeError:
        return str(value)
    names = [f"{Path(getattr(s, 'path', s)).name} ({getattr(s, 'table', '?')})" for s in items]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") or "no files"


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(kind, message): ``refused`` with the problem counts by kind, or ``failed`` with the error."""
    counts = getattr(exc, "counts", None)
    if isinstance(counts, dict) and counts:
        total = sum(counts.values())
        kinds = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
        return "refused", f"{total:,} problem(s): {kinds}; nothing was written."
    text = " ".join(str(exc).split())[:300]
    return "failed", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record(warehouse: str | os.PathLike | None, what: str, imported_by: str | None, exc: BaseException, *,
           at: dt.datetime | None = None) -> None:
    """Write one ``import_failures`` row; ``what`` names the files (errors writing it are logged,
    never raised)."""
    wh = config.warehouse_path(warehouse).resolve()
    kind, message = describe_error(exc)
    try:
        with store.connect(store.db_path(wh)) as state:
            state.execute("INSERT INTO import_failures (at, warehouse, imported_by, sources, kind, message) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          (store.iso(at or store.utc_now()), str(wh), imported_by, what,
                           kind, message))
    except Exception as err:  # noqa: BLE001 - the import's own error matters more
        log.warning("could not record the failed import for alerts: %s", err)


def recorded(func: F) -> F:
    """Record a failure of the import entry point ``func`` (first argument: what is imported;
    keywords ``warehouse`` and ``imported_by``). Nested entry points record once."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return func(*args, **kwargs)
        token = _inside.set(True)
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            bound = signature.bind_partial(*args, **kwargs).arguments
            what = bound.get("sources", bound.get("folder", bound.get("path")))
            what = describe_sources(what) + (f" ({bound['table']})" if "table" in bound else "")
            record(bound.get("warehouse"), what, bound.get("imported_by") or os.environ.get("USER"), exc)
            raise
        finally:
            _inside.reset(token)

    return wrapper  # type: ignore[return-value]
