"""Words for the warehouse's names (o2o_ops.words): labels of columns and coded values."""

from __future__ import annotations

import pandas as pd

from o2o_ops import metrics, words


def test_columns_take_the_kpi_label_then_the_catalogue_then_readable_words():
    assert words.column_label("redemption_rate") == metrics.KPIS["redemption_rate"].label == "Redemption rate"
    assert words.column_label("store_name") == "Store"
    assert words.column_label("count_refunds") == "Refunds"
    assert words.column_label("some_new_column") == "Some new column"
    assert words.column_unit("paid_amount") == "currency" and words.column_unit("store_id") is None
    assert words.column_unit("refund_rate") == "percent"


def test_coded_values_in_words_and_the_raw_frame_untouched():
    raw = pd.DataFrame({"store_category": ["car_rental", "hotel", None, "karaoke"],
                        "campaign_kind": ["flash_sale", "group_buy", "full price", None],
                        "store_name": ["car_rental", "x", "y", "z"]})
    shown = words.for_display(raw)
    assert shown["store_category"].fillna("—").tolist() == ["Car rental", "Hotel", "—", "karaoke"]  # unknown kept
    assert shown["campaign_kind"].fillna("—").tolist() == ["Flash sale", "Group buy", "Full price", "—"]
    assert shown["store_name"].tolist() == ["car_rental", "x", "y", "z"]                 # names are data
    assert raw["store_category"].tolist()[0] == "car_rental"                             # exported as is


def test_a_frame_without_coded_columns_is_returned_as_is():
    df = pd.DataFrame({"orders": [1, 2]})
    assert words.for_display(df) is df
