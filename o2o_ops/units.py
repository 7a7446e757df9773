"""Units and their formats, one place: how a value, a change, a chart axis and a table column of
each unit read, and :func:`is_missing`, the one test for "there is no value".

Every screen, chart, export heading and report formats through here, so a value of a unit reads
the same everywhere and a missing value (None, NaN, NaT, pandas NA, ±inf) is always ``—``.

Formats take the reader's language (``lang="en"|"zh"``). Chinese large counts and amounts read in
万 and 亿 (``¥47.7万``, ``1.23亿``: one decimal, two below 10), smaller ones with grouped digits
(``¥9,876``), percentages by babel (the CLDR data of the zh_Hans_CN locale);
units are written in Chinese (``12.5 小时``, ``+3.1 个百分点``). English keeps its own formats.

KPI cards are narrow: :func:`format_card` and :func:`format_card_change` show a large amount or count
short (``¥269.4M``, ``123.5k``) and :func:`format_exact` gives every digit for the card's help;
tables, exports and sentences keep the exact formats. Chart axes of large counts and amounts read
short too (:func:`tick_labels`); every short number is written by :func:`compact_number`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Sequence

import pandas as pd

from o2o_ops import config

MISSING = "—"
#: The sign of a negative value a reader sees, in every format and both languages: the minus sign
#: (U+2212, ``−200,000``, ``−¥1,200``, ``−12.0%``), as cards and Chinese values wrote it while English
#: values wrote a hyphen; shares, relative changes and changes in sentences too (:func:`format_share`,
#: :func:`format_relative`, :func:`format_change`: "(−¥520)", where a hyphen read as a dash). Only
#: the delta handed to st.metric keeps the ASCII ``-`` (:func:`metric_delta`): st.metric reads a
#: delta's direction (arrow, colour) from it. Exports keep numbers, never these texts.
MINUS = "\u2212"
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
#: Streamlit's named table formats per currency: "yen" draws "¥" with no decimals (the narrow
#: symbol, so CNY reads right); other currencies get grouped digits without a symbol.
TABLE_CURRENCY_FORMATS = {"CNY": "yen", "JPY": "yen", "USD": "dollar", "EUR": "euro"}


@dataclass(frozen=True)
class Unit:
    name: str
    label: str          # in the definitions table
    axis: str           # d3 tick/hover format for charts
    column: str         # st.column_config.NumberColumn format (printf or a named format)


UNITS: dict[str, Unit] = {u.name: u for u in (
    Unit("count", "count", ",.0f", "localized"),
    Unit("currency", "money", ",.0f", "%.0f"),
    Unit("percent", "percent", ".0%", "percent"),
    Unit("hours", "hours", ".1f", "%.1f h"),
    Unit("minutes", "minutes", "+.1f", "%+.1f min"),
    Unit("stars", "stars (1–5)", ".2f", "%.2f ★"),
    Unit("star_gap", "stars (difference)", "+.2f", "%+.2f ★"),
    Unit("score", "score 0–100", ".0f", "%.0f"),
    Unit("ratio", "ratio (percent)", ".0%", "percent"),
    Unit("per_item", "number per item", ",.2f", "%.2f"),
)}


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT, pandas NA and ±inf: values that must read as "no value"."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (str, bytes)):
        return False
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):   # lists, arrays: not a scalar, so not "missing"
        return False
    try:
        return math.isinf(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def currency_symbol(currency: str | None = None) -> str:
    currency = currency or config.get("O2O_CURRENCY")
    return CURRENCY_SYMBOLS.get(currency, currency + " ")


ZH_LOCALE = "zh_Hans_CN"
#: from this size on, Chinese numbers read in 万 (and from 1e8 in 亿)
ZH_COMPACT_FROM = 10_000
#: From this size on a chart's value axis of counts or amounts reads short, in both languages
#: (``0  10k  20k``; ``0  1万  2万``; a card's English thresholds are higher because a card holds
#: eleven characters, while axis labels sit side by side or in the plot's narrow left margin).
#: Below it an axis keeps plotly's grouped digits (``2,000  4,000``).
AXIS_COMPACT_FROM = 10_000


#: The sizes a short number is written in: English thousands, Chinese 万 (10⁴) and 亿 (10⁸).
_EN_STEPS = ((1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))
_ZH_STEPS = ((1e4, "万"), (1e8, "亿"), (1e12, "万亿"))


def _steps(lang: str) -> tuple[tuple[float, str], ...]:
    return _ZH_STEPS if lang == "zh" else _EN_STEPS


def _rounded(number: float, digits: int) -> Decimal:
    """``number`` to ``digits`` decimals, a half rounded up as by hand: 9.9995 to 10.00 (as a binary
    float 9.9995 is 9.99949999..., which Python's own formats round to 9.99)."""
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _trimmed(shown: str) -> str:
    """``2.50`` -> ``2.5``, ``1.00`` -> ``1``: trailing zeros of a fraction dropped."""
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def compact_number(value: float, lang: str = "en", *, decimals: int | None = None) -> str:
    """The one writer of short numbers (KPI cards, Chinese values, chart axes, the report's charts):
    ``123.5k``, ``269.4M``, ``−200k``; in Chinese ``47.7万``, ``2.69亿``; below the first size
    (1,000; 万) grouped digits (``950``, ``9,876``). A negative value gets the minus sign ``−``.

    ``decimals=None`` writes about three significant digits, as a card does: two decimals below
    10, one below 1,000, none above (``1.27B``, ``123.5k``, ``1235万``; below the first size up to
    two: ``12.5``); ``decimals=n`` at most ``n`` (an axis tick: as many as its step needs, see
    :func:`tick_labels`). Trailing zeros are dropped (``1M``, ``2.5M``), and a number that would
    read a thousand of its size (English) or a 万 of it (Chinese) reads one of the next:
    999,950,000 is ``1B``, never ``1000.0M``; 99,995,000 is ``1亿``, never ``10000万``."""
    amount = abs(float(value))
    steps = _steps(lang)
    step = sum(amount >= size for size, _ in steps) - 1
    if step < 0:
        shown = _trimmed(f"{_rounded(amount, 2 if decimals is None else decimals):,f}")
    else:
        size, suffix = steps[step]
        mantissa = amount / size
        digits = (2 if mantissa < 10 else 1 if mantissa < 1000 else 0) if decimals is None else decimals
        if step + 1 < len(steps) and _rounded(mantissa, digits) >= steps[step + 1][0] / size:
            return compact_number(math.copysign(steps[step + 1][0], value), lang, decimals=decimals)
        shown = _trimmed(f"{_rounded(mantissa, digits):f}") + suffix
    return (MINUS if value < 0 and shown != "0" else "") + shown


def _with_minus(shown: str) -> str:
    """A formatted value with its leading hyphen written as :data:`MINUS`; a negative that rounds
    to zero (``-0``, ``-0.0%``) without a sign."""
    if not shown.startswith("-"):
        return shown
    return (MINUS if any(c in "123456789" for c in shown) else "") + shown[1:]


def zh_number(amount: float) -> str:
    """A non-negative number as Chinese readers write it: ``9,876``, ``47.7万``, ``1.23亿`` (one
    decimal, two below 10; below 万 grouped digits): :func:`compact_number` in Chinese."""
    return compact_number(amount, "zh")


_ZH_UNITS = {"hours": "小时", "minutes": "分钟", "pp": "个百分点"}


def _format_value_zh(value: float, unit: str, currency: str | None) -> str:
    from babel.numbers import format_decimal, format_percent

    if unit == "count":
        return ("-" if value < 0 else "") + zh_number(abs(round(value)))
    if unit == "currency":
        sign = "-" if value < 0 else ""
        amount = abs(value)
        if amount < 100:
            return f"{sign}{currency_symbol(currency)}{format_decimal(amount, '#,##0.00', locale=ZH_LOCALE)}"
        return f"{sign}{currency_symbol(currency)}{zh_number(round(amount))}"
    if unit == "percent":
        return format_percent(value, "#,##0.0%", locale=ZH_LOCALE)
    if unit == "hours":
        return f"{format_decimal(value, '#,##0.0', locale=ZH_LOCALE)} {_ZH_UNITS['hours']}"
    if unit == "minutes":
        return f"{value:+.1f} {_ZH_UNITS['minutes']}" if value else f"0.0 {_ZH_UNITS['minutes']}"
    if unit == "ratio":
        return f"{value * 100:+.0f}%"
    return _format_value_en(value, unit, currency)   # stars, score, per-item: the same digits in both


def format_value(value: Any, unit: str, currency: str | None = None, lang: str = "en") -> str:
    """A value as people read it: ``¥12,340``, ``84.2%``, ``4.31 ★``, ``12.5 min``, ``−200,000``
    (a negative with the minus sign, :data:`MINUS`); ``—`` if missing. In Chinese
    (``lang="zh"``): ``¥47.7万``, ``84.2%``, ``12.5 小时``."""
    if is_missing(value):
        return MISSING
    value = float(value)
    shown = _format_value_zh(value, unit, currency) if lang == "zh" else _format_value_en(value, unit, currency)
    return _with_minus(shown)


def _format_value_en(value: float, unit: str, currency: str | None) -> str:
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "currency":
        sign = "-" if value < 0 else ""
        amount = abs(value)
        symbol = currency_symbol(currency)
        return f"{sign}{symbol}{amount:,.0f}" if amount >= 100 else f"{sign}{symbol}{amount:,.2f}"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "minutes":
        return f"{value:+.1f} min" if value else "0.0 min"
    if unit == "stars":
        return f"{value:.2f} ★"
    if unit == "star_gap":
        return f"{value:+.2f} ★"
    if unit == "score":
        return f"{value:.0f}"
    if unit == "ratio":
        return f"{value * 100:+.0f}%"
    return f"{value:,.2f}"


def format_change(change: Any, unit: str, currency: str | None = None, lang: str = "en") -> str:
    """A change in the unit, signed, as a sentence, the report or a card's help writes it:
    ``+3.1 pp``, ``−¥1,200`` (the minus sign, :data:`MINUS`; a change that rounds to zero unsigned,
    ``0.0 pp``); ``—`` if missing. In Chinese: ``+3.1 个百分点``, ``−¥1.2万``, ``+1.5万``. Not for
    st.metric, which reads a delta's direction from an ASCII ``-``: :func:`metric_delta`."""
    return MISSING if is_missing(change) else _with_minus(_ascii_change(float(change), unit, currency, lang))


def _ascii_change(change: float, unit: str, currency: str | None, lang: str) -> str:
    """:func:`format_change`'s text with an ASCII sign (``-¥1,200``, ``-0.0 pp``), as st.metric
    reads it."""
    if lang == "zh":
        sign = "+" if change >= 0 else "-"
        if unit in ("percent", "ratio"):
            return f"{change * 100:+.1f} {_ZH_UNITS['pp']}"
        if unit == "count":
            return sign + zh_number(abs(round(change)))
        if unit == "currency":
            return sign + format_value(abs(change), "currency", currency, lang)
        if unit in ("hours", "minutes"):
            return f"{change:+.1f} {_ZH_UNITS[unit]}"
    if unit in ("percent", "ratio"):
        return f"{change * 100:+.1f} pp"
    if unit in ("stars", "star_gap"):
        return f"{change:+.2f} ★"
    if unit == "count":
        return f"{change:+,.0f}"
    if unit == "score":
        return f"{change:+.1f}"
    if unit == "currency":
        return ("+" if change >= 0 else "-") + format_value(abs(change), "currency", currency)
    if unit in ("hours", "minutes"):
        return f"{change:+.1f} {'h' if unit == 'hours' else 'min'}"
    return f"{change:+,.2f}"


#: From these sizes on an English KPI card reads compact (``¥269.4M``, ``123.5k``). A card holds
#: eleven characters of its value at 1,400 px (four cards a row beside the sidebar: "¥56,371,810"
#: fits, "¥258,574,430" is cut to "¥258,574,…") and fewer in narrower windows, so an exact card value
#: stays at most eight (``¥999,999``, ``99,999``; nine with a minus) and so does a compact one
#: (``−¥999.9M``). Chinese cards read in 万 and 亿 from :data:`ZH_COMPACT_FROM` on, as everywhere.
CARD_COMPACT_FROM = {"currency": 1_000_000, "count": 100_000}


def is_card_compact(value: Any, unit: str, lang: str = "en") -> bool:
    """True when a KPI card shows ``value`` short (so its exact value goes in the card's help)."""
    if is_missing(value) or unit not in CARD_COMPACT_FROM:
        return False
    threshold = ZH_COMPACT_FROM if lang == "zh" else CARD_COMPACT_FROM[unit]
    # rounded as format_value rounds it: 999,999.6 reads ¥1,000,000 exact, so ¥1M
    return abs(round(float(value))) >= threshold


def format_card(value: Any, unit: str, currency: str | None = None, lang: str = "en") -> str:
    """A value as a KPI card shows it: :func:`format_value`, but a large amount or count short so it
    fits its card (``¥269.4M``, ``123.5k``; Chinese ``¥2.69亿``, ``26.9万``; see
    :data:`CARD_COMPACT_FROM`). Tables and exports keep :func:`format_value`'s exact digits."""
    if lang == "zh" or not is_card_compact(value, unit, lang):
        return format_value(value, unit, currency, lang)   # Chinese is short already (万, 亿)
    value = float(value)
    sign = MINUS if value < 0 else ""
    symbol = currency_symbol(currency) if unit == "currency" else ""
    return f"{sign}{symbol}{compact_number(abs(value))}"


def format_card_change(change: Any, unit: str, currency: str | None = None, lang: str = "en") -> str:
    """A change as a KPI card shows it under its value: :func:`format_change`, short from the same
    sizes as :func:`format_card` (``+¥12.3M``, ``−150.2k``), with the minus sign (the report's
    cards); the app's cards hand st.metric :func:`metric_delta` instead."""
    return MISSING if is_missing(change) else _with_minus(metric_delta(change, unit, currency, lang))


def metric_delta(change: Any, unit: str, currency: str | None = None, lang: str = "en") -> str:
    """:func:`format_card_change` as st.metric's ``delta``: the same text with an ASCII ``-``
    (``-¥12.3M``, ``-150.2k``, ``-0.0 pp``), from which st.metric reads the delta's direction (its
    arrow, and its colour under ``delta_color``); a :data:`MINUS` would read as a rise."""
    if is_missing(change):
        return MISSING
    change = float(change)
    if lang == "zh" or not is_card_compact(change, unit, lang):
        return _ascii_change(change, unit, currency, lang)
    return ("+" if change >= 0 else "-") + format_card(abs(change), unit, currency, lang)


def format_exact(value: Any, unit: str, currency: str | None = None, *, signed: bool = False) -> str:
    """A value (or, ``signed``, a change) with every digit, for where a card shows it short:
    ``¥269,394,118.52``, ``12,345,678``, ``+¥1,234,567.00``, ``−¥4,997,590.00`` (the minus sign
    format_value writes); the same digits in both languages. ``—`` if missing."""
    if is_missing(value):
        return MISSING
    value = float(value)
    sign = MINUS if value < 0 else "+" if signed else ""
    if unit == "currency":
        return f"{sign}{currency_symbol(currency)}{abs(value):,.2f}"
    if unit == "count":
        return f"{sign}{abs(value):,.0f}"
    return format_change(value, unit, currency) if signed else format_value(value, unit, currency)


def format_share(value: Any, digits: int = 0) -> str:
    """A plain share (0.42 -> ``42%``, -0.2 -> ``−20%`` with :data:`MINUS`); signed relative changes
    use :func:`format_relative`."""
    return MISSING if is_missing(value) else _with_minus(f"{float(value) * 100:.{digits}f}%")


def format_relative(value: Any, digits: int = 1) -> str:
    """A relative change in a sentence or a chart (0.031 -> ``+3.1%``, -0.123 -> ``−12.3%`` with
    :data:`MINUS`); ``—`` if missing (never ``+nan%``). Not for an st.metric delta, which reads
    its direction from an ASCII ``-`` (:func:`metric_delta`)."""
    return MISSING if is_missing(value) else _with_minus(f"{float(value) * 100:+.{digits}f}%")


def format_number(value: Any, spec: str = ",.0f") -> str:
    """Any other number with a format spec; ``—`` if missing."""
    return MISSING if is_missing(value) else format(float(value), spec)


def axis_format(unit: str) -> str:
    """The d3 format of a chart axis or hover value in ``unit``."""
    return UNITS[unit].axis if unit in UNITS else ""


def column_format(unit: str, currency: str | None = None) -> str:
    """The st.column_config.NumberColumn format of a table column in ``unit``."""
    if unit == "currency":
        # Streamlit's named formats group thousands (¥221,499); printf formats cannot
        currency = currency or config.get("O2O_CURRENCY")
        return TABLE_CURRENCY_FORMATS.get(currency, "localized")
    return UNITS[unit].column if unit in UNITS else "%.2f"


def format_tick(value: float, unit: str, lang: str = "en") -> str:
    """A short axis label in ``unit`` (``42%``, ``1.2M``, ``4.31``) for the report's small charts,
    whose three ticks are the low, middle and high values, not round ones: counts and amounts by
    :func:`compact_number` with one decimal (``1.2M``; Chinese ``120万``), whole below its first
    size (``950``; ``9,000``); a negative with the minus sign (``−14%``)."""
    if unit in ("count", "currency"):
        first = _steps(lang)[0][0]
        return compact_number(value, lang, decimals=1 if abs(value) >= first else 0)
    if unit in ("percent", "ratio"):
        shown = f"{value * 100:.0f}%"
    elif unit in ("stars", "star_gap"):
        shown = f"{value:.2f}"
    else:
        shown = f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"
    return _with_minus(shown)   # −14%, as the values and the sentences beside the chart ("-14%" before)


def tick_decimals(tick: float, step: float, lang: str = "en") -> int:
    """How many decimals :func:`compact_number` needs to write ``tick`` apart from the ticks
    ``step`` away: 1.5M with a 500k step needs one, 1.05M with 50k two, 500k none."""
    steps = _steps(lang)
    size = max((s for s, _ in steps if abs(tick) >= s), default=1.0)
    if not step > 0 or size <= step:
        return 0
    return max(0, math.ceil(math.log10(size / step) - 1e-9))


def tick_labels(ticks: Sequence[float], lang: str = "en") -> list[str] | None:
    """The labels of evenly spaced round ticks (``charts.nice_ticks``) on a value axis of counts
    or amounts: short once the largest reaches :data:`AXIS_COMPACT_FROM`, each with as many
    decimals as the step between ticks needs (``0  500k  1M  1.5M``, ``1.05M  1.1M``;
    ``0  5000万  1亿  1.5亿``); None below it, where the axis keeps its grouped digits."""
    ticks = [float(t) for t in ticks]
    if not ticks or max(abs(t) for t in ticks) < AXIS_COMPACT_FROM:
        return None
    step = min((b - a for a, b in zip(ticks, ticks[1:])), default=0.0)
    return [compact_number(t, lang, decimals=tick_decimals(t, step, lang)) for t in ticks]
