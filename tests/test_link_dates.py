"""Dates from a link always give a forward range inside the data, never a traceback.

The demo runs 2025-01-06 → 2026-11-22 (Sunday); its default range is the 13 weeks 2026-08-24 →
2026-11-22. A link with only ``to`` before that start (``/?to=2026-03-31``) used to crash every
page with "start date after end date"; it now shows the 13 weeks up to ``to`` (from the first
order when that is later)."""

from __future__ import annotations

import datetime as dt

import pytest

from apptest_util import open_link, texts

D = dt.date


@pytest.mark.parametrize("query, expected, notice", [
    ({"to": "2026-03-31"}, (D(2025, 12, 31), D(2026, 3, 31)), None),          # the 13 weeks up to it
    ({"to": "2025-02-28"}, (D(2025, 1, 6), D(2025, 2, 28)), None),            # from the first order
    ({"to": "2026-10-31"}, (D(2026, 8, 24), D(2026, 10, 31)), None),
    ({"from": "2026-11-20"}, (D(2026, 11, 20), D(2026, 11, 22)), None),
    ({"from": "2026-02-02"}, (D(2026, 2, 2), D(2026, 11, 22)), None),
    ({"from": "2026-03-01", "to": "2026-02-01"}, (D(2026, 8, 24), D(2026, 11, 22)), "dates run backwards"),
    ({"to": "2024-06-30"}, (D(2025, 1, 6), D(2025, 1, 6)), "to=2024-06-30 is outside the data"),
    ({"from": "31/03/2026"}, (D(2026, 8, 24), D(2026, 11, 22)), "from=31/03/2026 is not a date"),
])
def test_link_dates(query, expected, notice, demo_warehouse):
    at = open_link("pages/quality.py", demo_warehouse, query)
    assert not at.exception and not at.error
    assert at.date_input(key="flt_dates").value == expected
    assert at.session_state["o2o_filters"].start == expected[0] and at.session_state["o2o_filters"].end == expected[1]
    assert at.metric  # the page rendered its cards
    if notice:
        assert notice in texts(at)
    else:
        assert not at.warning
