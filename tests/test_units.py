"""One formatter per unit; every kind of missing value reads as "—"."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from o2o_ops import metrics, units

MISSING_VALUES = [None, float("nan"), np.nan, pd.NA, pd.NaT, float("inf"), float("-inf"), np.float64("nan")]


@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_missing_values_are_missing(value):
    assert units.is_missing(value)


@pytest.mark.parametrize("value", [0, 0.0, -1.5, 3, np.int64(2), "text", "", False, pd.Timestamp("2026-01-05")], ids=repr)
def test_present_values_are_not_missing(value):
    assert not units.is_missing(value)


@pytest.mark.parametrize("unit", list(units.UNITS))
@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_every_unit_shows_missing_as_a_dash(unit, value):
    assert units.format_value(value, unit, "CNY") == "—"
    assert units.format_change(value, unit, "CNY") == "—"
    assert units.metric_delta(value, unit, "CNY") == "—"


@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_shares_and_relative_changes_never_read_nan(value):
    assert units.format_relative(value) == "—"    # was "+nan%"
    assert units.format_share(value) == "—"
    assert units.format_number(value) == "—"


@pytest.mark.parametrize("value, unit, text", [
    (0.031, "percent", "+3.1 pp"), (-1200, "currency", "\u2212¥1,200"), (0.25, "stars", "+0.25 ★"),
    (12, "count", "+12"), (-2.5, "minutes", "\u22122.5 min"), (1.5, "score", "+1.5"), (0.1, "ratio", "+10.0 pp"),
])
def test_changes_in_their_unit(value, unit, text):
    assert units.format_change(value, unit, "CNY") == text


def test_relative_and_share():
    assert units.format_relative(0.031) == "+3.1%" and units.format_relative(-0.2) == "\u221220.0%"
    assert units.format_share(0.42) == "42%"


def test_relative_and_share_write_the_minus_sign_of_values():
    # 100 -> 87.7 is -12.3%: the minus sign (U+2212) of every value, never the hyphen
    assert units.format_relative((87.7 - 100) / 100) == units.MINUS + "12.3%" == "\u221212.3%"
    assert units.format_relative(-0.123, digits=0) == "\u221212%"
    assert units.format_share(-0.2) == "\u221220%" and units.format_share(-0.125, digits=1) == "\u221212.5%"
    # a negative that rounds to zero has no sign (as format_value writes it); zero and rises keep "+"
    assert units.format_relative(-0.0004) == "0.0%" and units.format_share(-0.004) == "0%"
    assert units.format_relative(0) == "+0.0%" and units.format_relative(0.125) == "+12.5%"
    # a change in a sentence too ("-12.3 pp" before); only st.metric's delta keeps the ASCII "-"
    assert units.format_change(-0.123, "percent") == "\u221212.3 pp"
    assert units.format_card_change(-150_200, "count") == "\u2212150.2k"
    assert units.metric_delta(-150_200, "count") == "-150.2k"


def test_metrics_formats_are_the_units_formats():
    for kpi in metrics.KPI_LIST:
        assert kpi.format(1.25) == units.format_value(1.25, kpi.unit)
        assert metrics.format_change(kpi.name, 0.5) == units.format_change(0.5, kpi.unit)
        assert kpi.format(math.inf) == "—"


def test_every_unit_has_an_axis_and_a_column_format():
    for name, unit in units.UNITS.items():
        assert units.axis_format(name) == unit.axis != ""
        assert units.column_format(name, "CNY")
    # named formats, which group thousands in the table (¥221,499, 1,225)
    assert units.column_format("currency", "CNY") == "yen"
    assert units.column_format("currency", "USD") == "dollar"
    assert units.column_format("currency", "GBP") == "localized"
    assert units.column_format("count") == "localized"
    assert units.format_tick(1_250_000, "currency") == "1.3M" and units.format_tick(0.42, "percent") == "42%"


# KPI cards: a large amount or count short, by hand (units.CARD_COMPACT_FROM: ¥1,000,000 and 100,000)
@pytest.mark.parametrize("value, unit, en, zh", [
    (269_394_118.52, "currency", "¥269.4M", "¥2.69亿"),
    (-269_394_118.52, "currency", "−¥269.4M", "−¥2.69亿"),
    (1_270_000_000, "currency", "¥1.27B", "¥12.7亿"),
    (999_999, "currency", "¥999,999", "¥100万"),        # below the English threshold: exact
    (999_999.6, "currency", "¥1M", "¥100万"),           # reads ¥1,000,000 exact, so it is compact
    (1_000_000, "currency", "¥1M", "¥100万"),           # trailing zeros dropped: ¥1M, not ¥1.00M
    (2_500_000, "currency", "¥2.5M", "¥250万"),
    (12_345_678, "currency", "¥12.3M", "¥1235万"),
    (9_996_000, "currency", "¥10M", "¥999.6万"),        # 9.996M rounds to 10M, not ¥10.00M
    (999_950_000, "currency", "¥1B", "¥10亿"),          # into the next step, never ¥1000.0M
    (999_949_999, "currency", "¥999.9M", "¥10亿"),
    (269_394, "currency", "¥269,394", "¥26.9万"),
    (99_995_000, "currency", "¥100M", "¥1亿"),          # 9999.5万 rounds into 亿, never ¥10000万
    (12.5, "currency", "¥12.50", "¥12.50"),
    (99_999, "count", "99,999", "10万"),
    (100_000, "count", "100k", "10万"),
    (123_456, "count", "123.5k", "12.3万"),
    (999_960, "count", "1M", "100万"),                  # 999.96k rounds to 1M, not 1000.0k
    (999_949, "count", "999.9k", "100万"),                # 99.9949万: one decimal above 10
    (12_345_678, "count", "12.3M", "1235万"),
    (0.8421, "percent", "84.2%", "84.2%"),              # short already: as format_value
    (12.5, "hours", "12.5 h", "12.5 小时"),
])
def test_card_values_by_hand(value, unit, en, zh):
    assert units.format_card(value, unit, "CNY") == en
    assert units.format_card(value, unit, "CNY", lang="zh") == zh


# One writer of short numbers (units.compact_number), every caller on the same values, by hand.
# English sizes k, M, B from 1,000; Chinese 万, 亿 from 10,000; a half rounded up (9.9995亿: 10亿).
SHORT_VALUES = (0, 950, 1_000, 1_050_000, 999_950_000, -200_000)


@pytest.mark.parametrize("caller, en, zh", [
    # the writer itself: about three significant digits (a card's precision)
    (lambda v, lang: units.compact_number(v, lang),
     ["0", "950", "1k", "1.05M", "1B", "−200k"], ["0", "950", "1,000", "105万", "10亿", "−20万"]),
    # a card (English short from ¥1,000,000 and 100,000; Chinese from 万, as format_value)
    (lambda v, lang: units.format_card(v, "currency", "CNY", lang),
     ["¥0.00", "¥950", "¥1,000", "¥1.05M", "¥1B", "−¥200,000"],
     ["¥0.00", "¥950", "¥1,000", "¥105万", "¥10亿", "−¥20万"]),
    (lambda v, lang: units.format_card(v, "count", "CNY", lang),
     ["0", "950", "1,000", "1.05M", "1B", "−200k"], ["0", "950", "1,000", "105万", "10亿", "−20万"]),
    (lambda v, lang: units.format_card_change(v, "count", "CNY", lang),
     ["+0", "+950", "+1,000", "+1.05M", "+1B", "−200k"], ["+0", "+950", "+1,000", "+105万", "+10亿", "−20万"]),
    (lambda v, lang: units.metric_delta(v, "count", "CNY", lang),   # st.metric's: an ASCII "-"
     ["+0", "+950", "+1,000", "+1.05M", "+1B", "-200k"], ["+0", "+950", "+1,000", "+105万", "+10亿", "-20万"]),
    # a table or sentence in Chinese reads 万 and 亿 too; in English every digit
    (lambda v, lang: units.format_value(v, "count", "CNY", lang),
     ["0", "950", "1,000", "1,050,000", "999,950,000", "−200,000"], ["0", "950", "1,000", "105万", "10亿", "−20万"]),
    # the report's small charts: one decimal (1.05M: 1.1M), whole below the first size
    (lambda v, lang: units.format_tick(v, "currency", lang),
     ["0", "950", "1k", "1.1M", "1B", "−200k"], ["0", "950", "1,000", "105万", "10亿", "−20万"]),
])
def test_every_writer_of_short_numbers_by_hand(caller, en, zh):
    assert [caller(v, "en") for v in SHORT_VALUES] == en
    assert [caller(v, "zh") for v in SHORT_VALUES] == zh


@pytest.mark.parametrize("ticks, en, zh", [
    ([0, 500_000, 1_000_000, 1_500_000], ["0", "500k", "1M", "1.5M"], ["0", "50万", "100万", "150万"]),
    ([1_000_000, 1_050_000, 1_100_000], ["1M", "1.05M", "1.1M"], ["100万", "105万", "110万"]),   # the step needs 2
    ([-200_000, 0, 200_000], ["−200k", "0", "200k"], ["−20万", "0", "20万"]),
    ([0, 50_000_000, 100_000_000, 150_000_000], ["0", "50M", "100M", "150M"], ["0", "5000万", "1亿", "1.5亿"]),
    ([0, 500_000_000, 1_000_000_000], ["0", "500M", "1B"], ["0", "5亿", "10亿"]),
    ([0, 5_000, 10_000], ["0", "5k", "10k"], ["0", "5,000", "1万"]),   # the largest reaches 10,000
    ([0, 2_000, 4_000, 6_000, 8_000], None, None),                   # below it: plotly's grouped digits
    ([0.25, 0.5, 0.75], None, None),
])
def test_axis_tick_labels_by_hand(ticks, en, zh):
    assert units.tick_labels(ticks) == en
    assert units.tick_labels(ticks, "zh") == zh


def test_tick_decimals_follow_the_step():
    assert units.tick_decimals(1_500_000, 500_000) == 1      # 1.5M
    assert units.tick_decimals(1_050_000, 50_000) == 2       # 1.05M
    assert units.tick_decimals(500_000, 500_000) == 0        # 500k
    assert units.tick_decimals(150_000_000, 50_000_000, "zh") == 1   # 1.5亿
    assert units.tick_decimals(50_000_000, 50_000_000, "zh") == 0    # 5000万
    assert units.tick_decimals(0, 500_000) == 0


@pytest.mark.parametrize("unit", list(units.UNITS))
@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_card_values_missing_read_a_dash(unit, value):
    for lang in ("en", "zh"):
        assert units.format_card(value, unit, "CNY", lang) == "—"
        assert units.format_card_change(value, unit, "CNY", lang) == "—"
        assert units.metric_delta(value, unit, "CNY", lang) == "—"
        assert not units.is_card_compact(value, unit, lang)
    assert units.format_exact(value, unit, "CNY") == "—"


def test_metric_deltas_compact_with_an_ascii_sign():
    # st.metric reads a delta's direction from a leading ASCII "-"
    assert units.metric_delta(12_345_678, "currency", "CNY") == "+¥12.3M"
    assert units.metric_delta(-12_345_678, "currency", "CNY") == "-¥12.3M"
    assert units.metric_delta(-150_200, "count", "CNY") == "-150.2k"
    assert units.metric_delta(-999_999, "currency", "CNY") == "-¥999,999"   # exact below ¥1M
    assert units.metric_delta(-12_345_678, "currency", "CNY", "zh") == "-¥1235万"
    assert units.metric_delta(0.031, "percent", "CNY") == "+3.1 pp"
    # a fall that rounds to zero keeps its "-" (a down arrow), as the cards showed it
    assert units.metric_delta(-0.0001, "percent") == "-0.0 pp"


def test_card_changes_in_text_write_the_minus_sign():
    """The report's cards are text, not st.metric: the same short changes with the minus sign."""
    assert units.format_card_change(-12_345_678, "currency", "CNY") == "\u2212¥12.3M"
    assert units.format_card_change(-999_999, "currency", "CNY") == "\u2212¥999,999"
    assert units.format_card_change(-12_345_678, "currency", "CNY", "zh") == "\u2212¥1235万"
    assert units.format_card_change(12_345_678, "currency", "CNY") == "+¥12.3M"
    assert units.format_card_change(-0.0001, "percent") == "0.0 pp"   # no sign on a zero, as values


def test_exact_values_for_the_help():
    assert units.format_exact(269_394_118.52, "currency", "CNY") == "¥269,394,118.52"
    assert units.format_exact(-269_394_118.52, "currency", "CNY") == "−¥269,394,118.52"
    assert units.format_exact(12_345_678, "currency", "CNY", signed=True) == "+¥12,345,678.00"
    assert units.format_exact(-123_456, "count", signed=True) == "−123,456"
    assert units.format_exact(12_345_678, "count") == "12,345,678"
    assert units.is_card_compact(1_000_000, "currency") and not units.is_card_compact(999_999, "currency")
    assert units.is_card_compact(12_345.67, "currency", "zh")   # ¥1.23万: short in Chinese
    assert not units.is_card_compact(9_999_999, "percent")


def test_tables_keep_exact_values():
    # only cards are short: format_value (sentences, report tables) and column formats keep every digit
    assert units.format_value(269_394_118.52, "currency", "CNY") == "¥269,394,119"
    assert units.format_value(123_456, "count") == "123,456"


@pytest.mark.parametrize("value, unit, lang, shown", [
    (-200_000, "count", "en", "\u2212200,000"), (-200_000, "count", "zh", "\u221220万"),
    (-1_200, "currency", "en", "\u2212¥1,200"), (-0.123, "percent", "en", "\u221212.3%"),
    (-0.123, "percent", "zh", "\u221212.3%"),           # babel's Chinese wrote a hyphen too
    (-1.5, "hours", "en", "\u22121.5 h"), (-1.5, "hours", "zh", "\u22121.5 小时"),
    (-0.4, "count", "en", "0"), (-0.0004, "percent", "en", "0.0%"), (-0.004, "currency", "zh", "¥0.00"),
])
def test_a_negative_value_reads_with_the_minus_sign(value, unit, lang, shown):
    """A negative value reads with the minus sign (U+2212) in both languages, as the cards did
    (English values wrote '-200,000'); one that rounds to zero has no sign ('-0' before)."""
    assert units.format_value(value, unit, "CNY", lang) == shown


@pytest.mark.parametrize("change, unit, lang, shown", [
    (-520, "currency", "en", "\u2212¥520"), (-520, "currency", "zh", "\u2212¥520"),
    (-200_000, "count", "en", "\u2212200,000"), (-20_000, "count", "zh", "\u22122万"),
    (-0.031, "percent", "en", "\u22123.1 pp"), (-0.031, "percent", "zh", "\u22123.1 个百分点"),
    (-2.5, "minutes", "en", "\u22122.5 min"), (-2.5, "minutes", "zh", "\u22122.5 分钟"),
    (-0.25, "stars", "en", "\u22120.25 ★"), (-1.5, "score", "zh", "\u22121.5"),
    (-0.0001, "percent", "en", "0.0 pp"), (0.0, "count", "en", "+0"),
])
def test_a_change_in_words_reads_with_the_minus_sign(change, unit, lang, shown):
    """A change in a sentence ("orders fell (−¥520)") has the minus sign as values do; it wrote the
    ASCII '-' of st.metric's delta, which read as a hyphen ("(-¥520)")."""
    assert units.format_change(change, unit, "CNY", lang) == shown


def test_only_the_metric_delta_keeps_the_ascii_sign():
    """st.metric reads a delta's direction (arrow, colour) from an ASCII '-': only its delta has one."""
    assert units.metric_delta(-1_200, "currency", "CNY") == "-¥1,200"
    assert units.metric_delta(-200_000, "count", "CNY") == "-200k"
    assert units.metric_delta(-20_000, "count", "CNY", "zh") == "-2万"
    assert units.metric_delta(-0.031, "percent", "CNY", "zh") == "-3.1 个百分点"
    for change, unit, lang in ((-1_200, "currency", "en"), (-0.031, "percent", "zh"), (-2.5, "minutes", "en")):
        assert units.metric_delta(change, unit, "CNY", lang).replace("-", units.MINUS, 1) == \
            units.format_change(change, unit, "CNY", lang)
