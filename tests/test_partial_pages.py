"""Every page on every partial warehouse (tests/partial_shapes.py): no exception, no error box,
no traceback, and no nan / None / NaT / inf / +nan% in anything rendered."""

from __future__ import annotations

import pytest

from apptest_util import leaks, open_page, rendered_texts
from partial_shapes import SHAPES

PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_page_works_on_every_partial_warehouse(shape, page, partial_warehouse):
    at = open_page(page, partial_warehouse(shape))
    assert not at.exception, at.exception[0].message if at.exception else ""
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert not leaks(at), leaks(at)
    assert rendered_texts(at)
