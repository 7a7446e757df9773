"""The symmetry drill's card notes read from the store's row of the store table (no query) are
the notes of the store's own totals (frame.card_notes with ``totals``): on the demo, for every
store, over the default weeks and a single week (where many stores have too few reviews)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import metrics, symmetry
from o2o_ops.filters import Filters

DRILL = ("symmetry_index", "avg_rating", "rating_gap", "wait_gap_minutes")
ASKED = ("orders", "reviews", *DRILL)


@pytest.mark.parametrize("days", [7, 91])
def test_notes_from_the_store_row_equal_the_store_totals(ro_con, days):
    end = pd.Timestamp(ro_con.execute("SELECT max(date) FROM rollup_day_store").fetchone()[0]).date()
    end -= dt.timedelta(days=(end.isoweekday() % 7))   # the last Sunday
    flt = Filters(start=end - dt.timedelta(days=days - 1), end=end)
    stores = symmetry.store_table(ro_con, flt).set_index("store_id")
    few = 0
    for store_id, row in stores.iterrows():
        one = flt.replace(stores=(store_id,))
        queried = metrics.notes(ro_con, metrics.compute(ro_con, one, "total", ASKED), one, "total", ASKED)[0]
        from_row = metrics.notes(ro_con, pd.DataFrame([row[list(ASKED)]]).reset_index(drop=True), one, "total", ASKED)[0]
        assert from_row == queried, store_id
        few += bool(queried)
    if days == 7:   # in a single week some store's cards carry a note (too few reviews)
        assert few > 0
