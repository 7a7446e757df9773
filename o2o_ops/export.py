"""Exports users take away: CSV bytes that are safe to open in a spreadsheet."""

from __future__ import annotations

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads the encoding) with text cells neutralised.

    Numbers stay numbers: a negative ROI is a float, not text, and is left alone.
    """
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [str(neutralise_cell(str(c))) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8-sig")


def file_name(page: str, filters_slug: str, ext: str = "csv") -> str:
    safe_page = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in page.lower())
    return f"o2o-ops_{safe_page}_{filters_slug}.{ext}"
