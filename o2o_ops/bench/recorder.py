"""Record the warehouse calls a page makes, so the benchmark can time exactly what a page asks.

Every page reaches the warehouse through :func:`o2o_ops.ui.warehouse.cached` functions (``ui_warehouse.kpis``
included). While a :class:`Recorder` is active, each such call is noted (function key, arguments)
as the page runs in Streamlit's AppTest; :func:`replay` then times the same calls uncached.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from o2o_ops.ui import warehouse as ui_warehouse


@dataclass
class Recorder:
    calls: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    def __enter__(self) -> "Recorder":
        self._original = ui_warehouse._cached_call

        def recording(fn_key: str, stamp: tuple, args: tuple, kwargs: tuple) -> Any:
            self.calls.append((fn_key, args, kwargs))
            return self._original(fn_key, stamp, args, kwargs)

        ui_warehouse._cached_call = recording
        return self

    def __exit__(self, *exc: object) -> None:
        ui_warehouse._cached_call = self._original


def record_page(page: str, warehouse: Path, query: dict[str, Any] | None = None,
                timeout: float = 600) -> list[tuple[str, tuple, tuple]]:
    """Run ``page`` of the app once in AppTest on ``warehouse``; return the calls it made."""
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[2]
    previous = os.environ.get("O2O_WAREHOUSE")
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    try:
        ui_warehouse._cached_call.clear()
        at = AppTest.from_file(str(root / "dashboard.py"), default_timeout=timeout)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        with Recorder() as rec:
            at.run()
            if page != "pages/overview.py":
                rec.calls.clear()   # only the target page's calls (the sidebar's are cached anyway)
                at.switch_page(page)
                at.run()
    finally:
        if previous is None:
            os.environ.pop("O2O_WAREHOUSE", None)
        else:
            os.environ["O2O_WAREHOUSE"] = previous
    if at.exception:
        raise RuntimeError(f"{page} failed in AppTest: {at.exception[0].message}")
    # the sidebar's choices are computed once per warehouse, not per page view; a call the page
    # repeats with the same arguments (the symmetry page's store table, for its list and its
    # ranking) is answered by the result cache the second time, so it is timed once
    unique = list(dict.fromkeys(repr(c) for c in rec.calls))
    by_repr = {repr(c): c for c in rec.calls}
    return [by_repr[r] for r in unique if not by_repr[r][0].endswith("dimension_values")]


def replay(con: duckdb.DuckDBPyConnection, calls: list[tuple[str, tuple, tuple]], runs: int = 5) -> dict[str, float]:
    """Median seconds over ``runs`` to make every call once, uncached; plus the slowest call."""
    totals: list[float] = []
    per_call: dict[str, list[float]] = {}
    for _ in range(runs):
        start = time.perf_counter()
        for key, args, kwargs in calls:
            t0 = time.perf_counter()
            ui_warehouse._REGISTERED[key](con, *args, **dict(kwargs))
            per_call.setdefault(key.rsplit(".", 1)[-1], []).append(time.perf_counter() - t0)
        totals.append(time.perf_counter() - start)
    slowest = max(per_call.items(), key=lambda kv: statistics.median(kv[1])) if per_call else ("", [0.0])
    return {"median_s": statistics.median(totals), "calls": len(calls),
            "slowest": slowest[0], "slowest_s": statistics.median(slowest[1])}
