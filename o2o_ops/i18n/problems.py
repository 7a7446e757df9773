"""The importer's messages to users in the reader's language.

:mod:`o2o_ops.ingest` writes every problem in English (``Problem.message``; the CLI, the import
log and the tests read that English, unchanged). :func:`message` gives it in ``lang``: each
English template the importer writes has a pattern here and a catalogue key (``problem.*``) whose
fields are the pattern's groups (a column, a value, a row, a limit), so names and values from the
user's files stay exactly as they were. A message no pattern knows (a rare reader error with
DuckDB's own words) stays English. :func:`where` and :func:`report` frame a problem with its file,
row and column the way ``Problem.__str__`` and ``ImportRejected.report`` do in English.

No streamlit here; ``lang`` is a parameter, as everywhere in the core.
"""

from __future__ import annotations

import re
from typing import Any

from o2o_ops import i18n

_V = r"'(?P<value>.*)'"   # a value from the file, quoted by the importer

#: (English pattern, catalogue key); the key's fields are the pattern's named groups.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.S), k) for p, k in (
    (r"^(?P<column>\w+) is required but empty$", "problem.required_empty"),
    (rf"^(?P<column>\w+) is required but empty: {_V} is an empty value written as text$",
     "problem.required_empty_text"),
    (rf"^(?P<column>\w+): {_V} is not a finite number \(NaN and infinity are refused\)(?P<hint>.*)$",
     "problem.not_finite"),
    (rf"^(?P<column>\w+): {_V} is not a number(?P<hint>.*)$", "problem.not_number"),
    (rf"^(?P<column>\w+): {_V} is not a whole number(?P<hint>.*)$", "problem.not_integer"),
    (rf"^(?P<column>\w+): {_V} is not true/false$", "problem.not_boolean"),
    (rf"^(?P<column>\w+): {_V} is not a date-time \(ISO 8601 like 2016-07-12(?: or (?P<format>[^)]+))?\)"
     r"(?P<hint>.*)$", "problem.not_timestamp"),
    (rf"^(?P<column>\w+): {_V} is not a date \(ISO 8601 like 2016-07-12(?: or (?P<format>[^)]+))?\)"
     r"(?P<hint>.*)$", "problem.not_date"),
    (rf"^(?P<column>\w+): {_V} is not a time of day \(HH:MM, 00:00 to 24:00\)$", "problem.not_time"),
    (r"^(?P<column>\w+) is (?P<length>[\d,]+) characters long; a text value may have at most (?P<limit>[\d,]+)$",
     "problem.too_long"),
    (r"^(?P<column>\w+) must not be negative \(money\), got (?P<value>.*)$", "problem.negative_money"),
    (r"^(?P<column>\w+) must not be negative \(a quantity\), got (?P<value>.*)$", "problem.negative_quantity"),
    (r"^(?P<column>\w+) must be between (?P<low>\S+) and (?P<high>\S+), got (?P<value>.*)$", "problem.between"),
    (r"^(?P<column>\w+) must be >= (?P<low>\S+), got (?P<value>.*)$", "problem.at_least"),
    (r"^(?P<column>\w+) must be <= (?P<high>\S+), got (?P<value>.*)$", "problem.at_most"),
    (rf"^(?P<column>\w+) must be one of (?P<allowed>.*), got {_V}$", "problem.not_allowed"),
    (rf"^(?P<column>\w+): {_V} would count as an? (?P<what>\w+)(?P<hint>.*)$", "problem.counted_text"),
    (rf"^(?P<key>[\w +]+) {_V} appears again \(first on row (?P<first>\d+)\)$", "problem.duplicate_key"),
    (rf"^(?P<column>\w+) {_V} is not in (?P<parent>\w+) \(neither in the warehouse nor in this batch\)$",
     "problem.unknown_reference"),
    (rf"^(?P<column>\w+) {_V} names no (?P<kind>\w+): no store has (?P<parent_column>\w+) '(?P<again>.*)' "
     r"\(neither in the warehouse nor in this batch\)$", "problem.unknown_scope"),
    (r"^(?P<column>\w+) (?P<value>\S+(?: \S+)?) is before its order was placed \((?P<parent_column>\w+) "
     r"(?P<placed>.+)\): an? (?P<what>\w+) cannot come before the order$", "problem.before_order"),
    (r"^(?P<parent_column>\w+) (?P<value>\S+(?: \S+)?) is after this order's (?P<what>\w+) in the warehouse "
     r"\((?P<column>\w+) (?P<at>.+)\): an order cannot be placed after its (?P=what)$", "problem.after_child"),
    (r"^(?P<column>\w+) (?P<value>\S+(?: \S+)?) is before (?P<first>\d{4}-\d\d-\d\d) \(setting O2O_EARLIEST_DATE\)$",
     "problem.before_setting"),
    (r"^(?P<column>\w+) (?P<value>\S+(?: \S+)?) is before (?P<first>\d{4}-\d\d-\d\d)$", "problem.before"),
    (r"^(?P<column>\w+) (?P<value>\S+(?: \S+)?) is after tomorrow \((?P<last>\d{4}-\d\d-\d\d)\): it cannot have "
     r"happened yet$", "problem.in_future"),
    (r"^(?P<column>\w+) (?P<value>\S+(?: \S+)?) is too far ahead: after (?P<last>\d{4}-\d\d-\d\d) "
     r"\(setting O2O_MAX_YEARS_AHEAD\)$", "problem.too_far_ahead"),
    (r"^required column '(?P<column>\w+)' is missing \(the file has: (?P<header>.*)\)$", "problem.missing_column"),
    (r"^required column '(?P<column>\w+)' is missing \(the SQL's result has: (?P<header>.*)\)$",
     "problem.missing_column_sql"),
    (r"^two columns of the file map to '(?P<column>\w+)' \('(?P<first>.*)' and '(?P<second>.*)'\)$",
     "problem.two_columns"),
    (r"^the mapping renames '(?P<source>.*)' to '(?P<target>.*)', which is not a column of any contract table$",
     "problem.bad_rename"),
    (r"^(?:line (?P<line>\d+): )?the SQL reads the source '(?P<source>[^']+)', whose file (?P<file>.+?) is not in "
     r"this batch(?: \(files \[sources\] does not name: (?P<others>[^)]*)\))?: add that file, or take the source out of \[tables\.(?P<table>\w+)\] \(without that section, "
     r"the table is not imported\)(?: — in: (?P<shown>.*))?$", "problem.source_missing"),
    (r"^expected JSON records: an array of objects, or one object per line \(NDJSON\), but (?P<unit>line|record) "
     r"(?P<number>[\d,]+) is not valid JSON(?: \((?P<reason>[^)]*)\))?, at byte (?P<byte>[\d,]+) of it$",
     "problem.json_invalid"),
    (r"^the file is empty \(0 bytes\): expected JSON records: an array of objects, or one object per line "
     r"\(NDJSON\)$", "problem.json_empty"),
    (r"^the text is not valid (?P<encoding>.+?) \((?P<how>named in the mapping|from its byte-order mark|as the "
     r"text before it is|detected)\): byte\(s\) (?P<value>[0-9A-F ]+) at byte (?P<offset>[\d,]+) of the file"
     r"(?P<unpacked> once decompressed)?; name the file's encoding in the mapping \(encoding = \"\.\.\.\"\)$",
     "problem.bad_encoding"),
    (r"^a quoted value that opens in this row is never closed \(the file ends inside it\)$", "problem.never_closed"),
    (r"^cannot use this mapping file: it is not UTF-8 text \(byte (?P<value>[0-9A-F ]+) at byte (?P<offset>[\d,]+), "
     r"line (?P<line>\d+)\): save it as UTF-8$", "problem.mapping_not_utf8"),
    (r"^cannot use this mapping file: line (?P<line>\d+), column (?P<col>\d+): (?P<why>.*?)"
     r"(?P<tabs> \(YAML indents with spaces, not tabs\))?$", "problem.mapping_at"),
    (r"^cannot use this mapping file: (?P<why>.*)$", "problem.mapping_unreadable"),
    (r"^row 1 is 'sep=(?P<delimiter>.)', Excel's hint of the delimiter, not a header: delete that line so that the "
     r"first line names the columns$", "problem.excel_sep"),
    (r"^(?P<table>\w+) is given more than once in this batch$", "problem.table_twice"),
    (r"^file not found$", "problem.not_found"),
    (r"^the file is (?P<size>[\d,.]+) MiB, more than the limit of (?P<limit>[\d.]+) MiB \(setting "
     r"O2O_IMPORT_MAX_MB\); split it or raise the limit$", "problem.too_large"),
    (r"^the row has (?P<count>\d+|fewer) field\(s\) but the header has (?P<width>\d+): a value or a delimiter "
     r"\((?P<delimiter>.+?)\) is missing(?:; the row ends before column (?P<column>.+))?$", "problem.few_fields"),
    (r"^the row has (?P<count>\d+|more) fields but the header has (?P<width>\d+): is a value holding the "
     r"delimiter \((?P<delimiter>.+?)\) not in quotes\?$", "problem.many_fields"),
    (r"^a quoted value in this row is not closed where it should be \(a quote inside a quoted value is "
     r"written \"\"\)$", "problem.open_quote"),
    (r"^the row is not valid UTF-8 text$", "problem.not_utf8"),
    (r"^end_date is before start_date$", "problem.end_before_start"),
    (r"^promised_at is before ordered_at: a promise is for after the order$", "problem.promise_before_order"),
    (r"^closes_at equals opens_at; a day open around the clock is 00:00 to 24:00$", "problem.closes_at_opens"),
    (r"^an inspection needs a result: a score, a pass, or violation counts$", "problem.inspection_result"),
    (r"^scope_id names the store or region of a 'store' or 'region' target and is empty for 'business'$",
     "problem.scope_id"),
    (r"^month is the first day of the month \(e\.g\. 2026-11-01\)$", "problem.first_of_month"),
    (r"^a percent KPI's target is a share between 0 and 1 \(0\.85 for 85%\)$", "problem.share_target"),
))

#: The hints after a number that is not one (``_number_hint``), English -> key.
HINTS = {
    " — it looks like a number a spreadsheet turned into a clock time (\"500:50\" becomes 500:50:00); format "
    "the column as text in the spreadsheet and export again": "problem.hint_clock",
    " — it is written x:y (spend x, get y off); to convert it to the share taken off (y / x), set "
    "discount_rate_x_y = \"spend_off\" in the mapping": "problem.hint_x_y_discount",
    " — it is written x:y, not as one number": "problem.hint_x_y",
    " — it looks like an empty value written as text; to import it as empty, list it in the mapping's "
    "null_values": "problem.hint_null_word",
    " — it is written as a percent, not as one number": "problem.hint_percent",
    " — it looks like a number written with thousands separators (1,234.50); export the column as plain "
    "numbers, without separators": "problem.hint_thousands",
    " — it looks like a number written with a decimal comma (12,5 for 12.5); export the column with a "
    "decimal point": "problem.hint_decimal_comma",
    " — it carries a currency sign; export the column as plain numbers, without the sign": "problem.hint_currency",
    " — it looks like a date written yyyymmdd; set date_format = \"%Y%m%d\" in the mapping": "problem.hint_yyyymmdd",
    " — a spreadsheet's date, day first; set date_format = \"%d/%m/%Y\" in the mapping (and timestamp_format = "
    "\"%d/%m/%Y %H:%M\" for date-times)": "problem.hint_day_first",
    " — a spreadsheet's date, month first; set date_format = \"%m/%d/%Y\" in the mapping (and timestamp_format = "
    "\"%m/%d/%Y %H:%M\" for date-times)": "problem.hint_month_first",
    " — a spreadsheet's date, day first or month first; name its order in the mapping: date_format = "
    "\"%d/%m/%Y\" or \"%m/%d/%Y\" (and timestamp_format for date-times)": "problem.hint_day_or_month",
}

#: DuckDB's reasons a JSON record does not parse (in the importer's message), English -> key.
JSON_REASONS = {"unexpected end of data": "problem.json_end_of_data", "unexpected character": "problem.json_character"}
JSON_UNITS = {"line": "problem.json_line", "record": "problem.json_record"}
#: How the importer came to read a file in an encoding, English -> key.
ENCODING_HOW = {"named in the mapping": "problem.how_named", "from its byte-order mark": "problem.how_bom",
                "as the text before it is": "problem.how_before", "detected": "problem.how_detected"}

#: The importer's kinds of problem as the Data page heads them.
KIND_KEYS = {
    "bad_setting": "problem.kind_bad_setting", "file_too_large": "problem.kind_file_too_large",
    "unreadable_file": "problem.kind_unreadable_file", "bad_mapping": "problem.kind_bad_mapping",
    "missing_column": "problem.kind_missing_column", "duplicate_column": "problem.kind_duplicate_column",
    "missing_value": "problem.kind_missing_value", "wrong_type": "problem.kind_wrong_type",
    "bad_date": "problem.kind_bad_date", "negative_value": "problem.kind_negative_value",
    "out_of_range": "problem.kind_out_of_range", "not_allowed": "problem.kind_not_allowed",
    "invalid_row": "problem.kind_invalid_row", "duplicate_key": "problem.kind_duplicate_key",
    "unknown_reference": "problem.kind_unknown_reference",
}


def kind_label(kind: str, lang: str = i18n.DEFAULT) -> str:
    """A kind of problem in words (``missing_value`` -> ``Required value empty`` / ``必填值为空``)."""
    return i18n.t(KIND_KEYS[kind], lang) if kind in KIND_KEYS else kind


def _what(word: str, lang: str) -> str:
    """A redemption / review / refund (the chronology's ``what``) in ``lang``."""
    key = f"problem.what_{word}"
    from o2o_ops.i18n import catalogue
    return i18n.t(key, lang) if key in catalogue.WORDS else word


def message(english: str | None, lang: str = i18n.DEFAULT) -> str | None:
    """One problem's message (the importer's English) in ``lang``; unknown messages unchanged."""
    if english is None or i18n.check(lang) == "en":
        return english
    for pattern, key in PATTERNS:
        match = pattern.match(english)
        if match is None:
            continue
        fields: dict[str, Any] = {k: (v if v is not None else "") for k, v in match.groupdict().items()}
        if "hint" in fields:
            hint = fields.pop("hint")
            fields["hint"] = i18n.t(HINTS[hint], lang) if hint in HINTS else hint
        if "what" in fields:
            fields["what"] = _what(fields["what"], lang)
        if key in ("problem.not_date", "problem.not_timestamp"):
            fields["format"] = i18n.t("problem.or_format", lang, format=fields["format"]) if fields["format"] else ""
        if key == "problem.few_fields":
            fields["column"] = i18n.t("problem.ends_before", lang, column=fields["column"]) if fields["column"] else ""
            if fields["count"] == "fewer":
                fields["count"] = i18n.t("problem.fewer", lang)
        if key == "problem.json_invalid":
            fields["unit"] = i18n.t(JSON_UNITS[fields["unit"]], lang, number=fields.pop("number"))
            reason = fields["reason"]
            reason = i18n.t(JSON_REASONS[reason], lang) if reason in JSON_REASONS else reason
            fields["reason"] = i18n.t("problem.json_reason", lang, reason=reason) if reason else ""
        if key == "problem.bad_encoding":
            fields["how"] = i18n.t(ENCODING_HOW[fields["how"]], lang)
            fields["unpacked"] = i18n.t("problem.once_decompressed", lang) if fields["unpacked"] else ""
        if key == "problem.mapping_at":
            fields["tabs"] = i18n.t("problem.yaml_tabs", lang) if fields["tabs"] else ""
        if key == "problem.source_missing":   # the mapping's line and SQL text, framed in lang
            fields["line"] = i18n.t("problem.sql_line", lang, line=fields["line"]) if fields["line"] else ""
            fields["shown"] = i18n.t("problem.sql_in", lang, text=fields["shown"]) if fields["shown"] else ""
            fields["others"] = i18n.t("problem.others", lang, files=fields["others"]) if fields["others"] else ""
        if key == "problem.many_fields" and fields["count"] == "more":
            fields["count"] = i18n.t("problem.more", lang)
        fields.pop("again", None)
        return i18n.t(key, lang, **fields)
    return english


def where(problem: Any, lang: str = i18n.DEFAULT, file: str | None = None) -> str:
    """``file, row 3, column paid_amount: message`` in ``lang`` (``file`` overrides the path)."""
    lang = i18n.check(lang)
    parts = [file or problem.file]
    if problem.row is not None:
        parts.append(i18n.t("problem.at_row", lang, row=problem.row))
    if problem.column is not None:
        parts.append(i18n.t("problem.at_column", lang, column=problem.column))
    return i18n.t("problem.where", lang, where=i18n.t("problem.comma", lang).join(parts),
                  message=message(problem.message, lang))


def report(rejected: Any, lang: str = i18n.DEFAULT, first: int = 5) -> str:
    """``ImportRejected.report`` in ``lang``: the count, each kind with its first problems, the
    row numbering."""
    lang = i18n.check(lang)
    lines = [i18n.t("problem.refused", lang, count=f"{rejected.total:,}")]
    for kind, probs in rejected.by_kind().items():
        n = rejected.counts.get(kind, len(probs))
        lines.append(i18n.t("problem.kind_count", lang, kind=kind if lang == "en" else kind_label(kind, lang),
                            count=f"{n:,}"))
        lines += [f"  {where(p, lang)}" for p in probs[:first]]
        if n > first:
            lines.append("  " + i18n.t("problem.and_more", lang, count=f"{n - first:,}"))
    lines.append(i18n.t("problem.rows_numbered", lang))
    return "\n".join(lines)
