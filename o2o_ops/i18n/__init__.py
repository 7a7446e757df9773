"""The interface's words in English and 简体中文, and locale-aware formats (issue #20).

One catalogue (:mod:`o2o_ops.i18n.catalogue`) holds every sentence, label and message the app,
the weekly summary and the report show, keyed by a stable dotted key, each with its English and
its Chinese. Two registries stay where they are declared and are translated from their keys, not
copied: the KPIs (:mod:`o2o_ops.kpis.catalog`, English label and definition; Chinese in
:data:`catalogue.KPIS_ZH`) and the warehouse's column names and coded values (:mod:`o2o_ops.words`,
English; Chinese in :data:`catalogue.COLUMNS_ZH` / :data:`catalogue.VALUES_ZH`).

The core never imports streamlit: everything here takes ``lang`` ("en" or "zh") as a parameter;
the app's frame (:mod:`o2o_ops.ui.frame`) decides the reader's language. Templates use
``str.format`` fields (``{count}``); a key that is not in the catalogue raises KeyError (a test
checks every key the code uses exists in both languages).
"""

from __future__ import annotations

import re
from typing import Any

from o2o_ops import text
from o2o_ops.i18n import catalogue

LANGS = ("en", "zh")
DEFAULT = "en"
#: what the language switch shows for each language (in that language)
NAMES = {"en": "English", "zh": "中文"}
#: the babel locale of each language
LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


def normalise(raw: Any) -> str | None:
    """``"zh"``, ``"zh-CN"``, ``"zh_Hans"``, ``"ZH"`` -> ``"zh"``; ``"en-GB"`` -> ``"en"``; else None."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    head = re.split(r"[-_;,\s]", raw.strip().lower())[0]
    return head if head in LANGS else None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an HTTP Accept-Language header this app speaks, by preference
    (``"zh-CN,zh;q=0.9,en;q=0.8"`` -> ``"zh"``); None when it names none of them."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if "q" in params:   # a weight that is not a number: the entry is ignored
            match = re.fullmatch(r"\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*", params)
            q = float(match.group(1)) if match else 0.0
        lang = normalise(tag)
        if lang and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def check(lang: str | None) -> str:
    """``lang`` if the app speaks it, else English (a core function never fails on a language)."""
    return lang if lang in LANGS else DEFAULT


def t(key: str, lang: str = DEFAULT, /, **values: Any) -> str:
    """The catalogue's words for ``key`` in ``lang``, with ``{fields}`` filled from ``values``."""
    words = catalogue.WORDS[key][LANGS.index(check(lang))]
    return words.format(**values) if values else words


# ------------------------------------------------------------------------------------------
# Registries translated from their keys
# ------------------------------------------------------------------------------------------

def kpi_label(name: str, lang: str = DEFAULT) -> str:
    from o2o_ops.kpis.catalog import KPIS
    return KPIS[name].label if check(lang) == "en" else catalogue.KPIS_ZH[name][0]


#: a break opportunity that takes no room: where a card's Chinese label may go onto its next line
WORD_BREAK = "\u200b"


def card_label(label: str, lang: str = DEFAULT) -> str:
    """A KPI label as a narrow card shows it: in Chinese with a break opportunity between two of
    its words (:data:`catalogue.LABEL_WORDS_ZH`, the longest word at each place), the card's CSS
    breaking nowhere else: ``平均\u200b评分``, never "平均评 / 分". A character of no word (a space,
    an arrow) joins its neighbours (a space breaks by itself). English unchanged."""
    if check(lang) != "zh":
        return label
    longest = max(map(len, catalogue.LABEL_WORDS_ZH))
    words: list[str] = []
    at, joins = 0, False     # joins: the piece before was no word, so nothing breaks beside it
    while at < len(label):
        size = next((n for n in range(min(longest, len(label) - at), 0, -1)
                     if label[at:at + n] in catalogue.LABEL_WORDS_ZH), 0)
        piece = label[at:at + (size or 1)]
        if words and (joins or not size):
            words[-1] += piece
        else:
            words.append(piece)
        joins, at = not size, at + len(piece)
    return WORD_BREAK.join(words)


def kpi_description(name: str, lang: str = DEFAULT) -> str:
    from o2o_ops.kpis.catalog import KPIS
    return KPIS[name].description if check(lang) == "en" else catalogue.KPIS_ZH[name][1]


def column_label(name: str, lang: str = DEFAULT) -> str:
    """A column's words (a KPI's label, the words catalogue's, else the name made readable)."""
    from o2o_ops import words
    from o2o_ops.kpis.catalog import KPIS
    if check(lang) == "en":
        return words.column_label(name)
    if name in KPIS:
        return catalogue.KPIS_ZH[name][0]
    if name in catalogue.COLUMNS_ZH:
        return catalogue.COLUMNS_ZH[name]
    return words.column_label(name)


def value_label(column: str, value: Any, lang: str = DEFAULT) -> Any:
    """A coded value in words (``car_rental`` -> ``Car rental`` / ``租车``); unknown ones unchanged."""
    from o2o_ops import words
    if check(lang) == "en":
        return words.value_label(column, value)
    group = words.GROUPS.get(column)
    if group is None or not isinstance(value, str):
        return value
    return catalogue.VALUES_ZH[group].get(value, value)


def unit_label(unit: str, lang: str = DEFAULT) -> str:
    from o2o_ops import units
    return units.UNITS[unit].label if check(lang) == "en" else catalogue.UNITS_ZH[unit]


def exact_help(value: Any, change: Any, unit: str, lang: str = DEFAULT, currency: str | None = None) -> str:
    """The sentence a KPI card's help opens with when the card shows its value or its change short
    (:func:`o2o_ops.units.format_card`): ``"Exact value: ¥269,394,118.52; change +¥12,345,678.00."``;
    ``""`` when the card shows both whole."""
    from o2o_ops import units
    lang = check(lang)
    exact_value = units.format_exact(value, unit, currency) if units.is_card_compact(value, unit, lang) else None
    exact_change = (units.format_exact(change, unit, currency, signed=True)
                    if units.is_card_compact(change, unit, lang) else None)
    if exact_value and exact_change:
        return t("card.exact_both", lang, value=exact_value, change=exact_change)
    if exact_value:
        return t("card.exact_value", lang, value=exact_value)
    return t("card.exact_change", lang, change=exact_change) if exact_change else ""


# ------------------------------------------------------------------------------------------
# The core's reasons, in the reader's language
# ------------------------------------------------------------------------------------------

_FEW_REVIEWS = re.compile(r"^too few reviews \((\d[\d,]*)\)$")
_NO_IMPORTED = re.compile(r"^no (.+) imported$")
_NO_FOR_STORES = re.compile(r"^no (.+) for the filtered stores$")
_COVER_ONLY = re.compile(r"^(.+) cover (.+) – (.+) only$")


def _input_words(english: str, lang: str) -> str:
    from o2o_ops import coverage
    for item, words in coverage.WORDS.items():
        if words == english:
            return catalogue.COVERAGE_ZH.get(item, english) if lang == "zh" else english
    return english


def _day(english: str, lang: str) -> str:
    """``"3 Nov 2026"`` (the core's day format) in ``lang``'s own (``2026年11月3日``)."""
    import datetime as dt
    try:
        day = dt.datetime.strptime(english.strip(), "%d %b %Y").date()
    except ValueError:
        return english
    return format_day(day, lang)


def format_day(day, lang: str = DEFAULT) -> str:
    """A date as people of ``lang`` write it: ``3 Nov 2026`` / ``2026年11月3日``."""
    if check(lang) == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%-d %b %Y}"


#: A Chinese date (:func:`format_day`'s, with or without its year) inside a text.
_CHINESE_DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日")
#: An English date as :func:`format_day` and a week's label write it, with or without its year
#: (``22 Nov 2026``, ``16 Nov``).
_ENGLISH_DATE = re.compile(r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?: \d{4})?\b")
#: A space no line breaks at (U+00A0): it reads as a space, and a page's search finds it as one.
NO_BREAK_SPACE = "\u00a0"


def whole_dates(shown: str) -> str:
    """``shown`` with each date held together, so that a heading that wraps moves a whole date to
    its next line: a Chinese date (``2026年11月22日``, ``11月16日``) by word joiners (U+2060,
    invisible; Chromium broke "2026年11 / 月22日" between a digit and 月 at 1,024 px), an English one
    (``22 Nov 2026``, ``16 Nov``) by no-break spaces (a 390 px phone could break "24 / Nov"). A
    range's dash and the spaces around it may still break. An ISO week (``2026-W47``) is left as it
    is, so that the page still finds it (a search, a test) where a reader looks for it. For a text
    on screen only: a file, an export or a value a test compares keeps its plain characters."""
    shown = _CHINESE_DATE.sub(lambda found: text.WORD_JOINER.join(found.group()), shown)
    return _ENGLISH_DATE.sub(lambda found: found.group().replace(" ", NO_BREAK_SPACE), shown)


#: A sign (``+``, or the minus sign U+2212) standing before a currency symbol: ``−¥16.18``, ``+$5``.
_SIGN_BEFORE_SYMBOL = re.compile("([+\u2212])(?=[¥$€£])")
#: The space between a number and its unit as :mod:`o2o_ops.units` writes them: ``+5.7 pp``,
#: ``12.5 min``, ``4.31 ★``, ``+3.1 个百分点``.
_SPACE_BEFORE_UNIT = re.compile(r"(?<=\d) (?=(?:pp|min|h)\b|★|个百分点|分钟|小时)")


def whole_amounts(shown: str) -> str:
    """``shown`` with each amount held together, so that a line never ends on a sign or before a
    unit: a word joiner (U+2060, invisible) after a sign that stands before a currency symbol
    (Chromium broke "(−" / "¥16.18)" in the overview's summary at 390 px: the sign and ¥ may each
    start a line, while before a digit a sign holds by itself), and a no-break space between a
    number and its unit ("(+5.7" / "pp)" before). For a text on screen only, as :func:`whole_dates`."""
    shown = _SIGN_BEFORE_SYMBOL.sub(rf"\1{text.WORD_JOINER}", shown)
    return _SPACE_BEFORE_UNIT.sub(NO_BREAK_SPACE, shown)


def sentences(parts, lang: str = DEFAULT) -> str:
    """The non-empty ``parts`` (whole sentences) as one text: a space between English sentences,
    none after a Chinese full stop ("。门店需要关注", not "。 门店需要关注")."""
    return ("" if check(lang) == "zh" else " ").join(p for p in parts if p)


#: the colon between a note's head and its detail: ASCII in English, full width in Chinese
_NOTE_COLON = re.compile(r": |：")


def split_note(shown: str) -> tuple[str, str]:
    """A note as :func:`note` writes it, cut into its head and its detail: ("not provided", "no
    costs imported") from "not provided: no costs imported", ("未提供", "未导入成本") from
    "未提供：未导入成本"; the detail is "" when there is none."""
    found = _NOTE_COLON.search(shown)
    return (shown[:found.start()], shown[found.end():]) if found else (shown, "")


def note_detail(shown: str) -> str:
    """What a note (:func:`note`) says after its head, for a sentence that gives the reason in its
    own words: "no reviews imported" from "not provided: no reviews imported" ("未导入评价" from
    "未提供：未导入评价"); a note without a detail ("too few reviews (2)") whole."""
    return split_note(shown)[1] or shown


def note_sentence(note_: str) -> str:
    """A note (:func:`note`) begun as a sentence is: "Not provided: no reviews imported" (a Chinese
    note is unchanged)."""
    return note_[:1].upper() + note_[1:]


def note(reason: str | None, lang: str = DEFAULT) -> str | None:
    """Why a value is blank (:func:`o2o_ops.metrics.notes`: ``"not provided: no costs imported"``,
    ``"too few reviews (2)"``) in ``lang``; English unchanged."""
    if reason is None or check(lang) == "en":
        return reason
    match = _FEW_REVIEWS.match(reason)
    if match:
        return t("note.too_few_reviews", lang, count=match.group(1))
    head, sep, detail = reason.partition(": ")
    if head != "not provided":
        return reason
    parts = []
    for gap in detail.split("; ") if sep else ():
        if m := _NO_IMPORTED.match(gap):
            parts.append(t("note.no_imported", lang, what=_input_words(m.group(1), lang)))
        elif m := _NO_FOR_STORES.match(gap):
            parts.append(t("note.no_for_stores", lang, what=_input_words(m.group(1), lang)))
        elif m := _COVER_ONLY.match(gap):
            parts.append(t("note.cover_only", lang, what=_input_words(m.group(1), lang),
                           first=_day(m.group(2), lang), last=_day(m.group(3), lang)))
        else:
            parts.append(gap)
    words = t("note.not_provided", lang)
    return f"{words}：{'；'.join(parts)}" if parts else words
