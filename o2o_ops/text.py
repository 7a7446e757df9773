"""Text that comes from data or links, shown literally.

Store, campaign and city names, file names and URL parameters are data, not markup. Streamlit
renders markdown (links, emphasis, headings, ``:red[...]`` directives, ``$...$`` maths, bare
URLs) in ``st.markdown``, captions, alerts, labels and help. Every such value goes through
:func:`md` exactly where it is put into markup, never earlier (the core's own sentences stay plain
text). HTML is escaped with ``html.escape`` where it is written (the report); the map's tooltip
is escaped by ``st.pydeck_chart`` itself."""

from __future__ import annotations

import math
import re
import string
from typing import Any
from urllib.parse import quote

# CommonMark lets a backslash escape any ASCII punctuation character, and an escaped character is
# always literal text. Escaping all of them (not a hand-picked few) also defeats extensions that
# are not CommonMark: Streamlit's ``:color[...]`` and ``:emoji:`` directives and ``$`` maths.
# Bare-URL links need more (see WORD_JOINER).
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

MISSING = "—"
# Streamlit's remark-gfm finds bare URLs and e-mail addresses in text *after* escapes are
# resolved (checked in Chromium: ``https\:\/\/evil.example`` still became a link), so a word
# joiner (U+2060, invisible, zero width) is put where those patterns start: between "https" and
# "://", "www" and ".", and before "@". The text reads the same; nothing in it is a link.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?=@)")


def plain(value: Any) -> str:
    """A value as one line of text: missing (None, NaN, NaT) is "—", line breaks become spaces."""
    if value is None:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if type(value).__name__ in ("NaTType", "NAType"):
        return MISSING
    return _CONTROL.sub("", _BREAKS.sub(" ", str(value)))


def md(value: Any) -> str:
    """``value`` as markdown that renders as its text (one line, nothing interpreted; invisible word
    joiners keep bare URLs and e-mail addresses from becoming links)."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, plain(value)))


def url_param(value: Any) -> str:
    """``value`` for a query string (every reserved character percent-encoded)."""
    return quote(str(value), safe="")
