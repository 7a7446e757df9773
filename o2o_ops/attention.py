"""The attention rule: which stores need attention and why, in words. One rule for the weekly
overview, the symmetry page, the map, the report and the command line.

A store needs attention when it has at least ``min_reviews`` reviews in the period (setting
``O2O_MIN_REVIEWS``: one angry review is not a pattern) and any of:

- it over-promises its rating: listed rating − review rating ≥ ``rating_gap`` stars
  (``O2O_ATTENTION_RATING_GAP``);
- it over-promises its wait: mean wait − promised wait ≥ ``wait_gap`` minutes
  (``O2O_ATTENTION_WAIT_GAP``);
- its symmetry index fell: the last :data:`WEEKS` weeks are ``index_drop`` points or more below the
  :data:`WEEKS` weeks before (``O2O_ATTENTION_INDEX_DROP``; only where that trend is known).

Stores that over-promise their rating come first (largest gap first), then those that keep
customers waiting (longest first), then the biggest falls. Works on any frame with one row per
store and the columns ``reviews``, ``rating_gap``, ``wait_gap_minutes`` and, optionally,
``index_drop`` (with ``index_before``/``index_recent`` for the words). No queries here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from o2o_ops import config, i18n, units

WEEKS = 4                       # the index fall compares the last WEEKS weeks with the WEEKS before
WAIT_MENTION_MINUTES = 2.0      # a wait gap below this is not worth a clause in the reason
DESCRIBED_MENTION = 0.80        # an as-described rate below this gets a clause in the reason

FLAGS = ("is_over_promising", "is_slow", "is_falling")


@dataclass(frozen=True)
class Rule:
    rating_gap: float
    wait_gap: float
    index_drop: float
    min_reviews: int

    @classmethod
    def from_settings(cls, **overrides: float | int | None) -> "Rule":
        """The rule of the settings, with any of its thresholds replaced (``None`` keeps the setting's)."""
        rule = cls(rating_gap=config.get_float("O2O_ATTENTION_RATING_GAP"),
                   wait_gap=config.get_float("O2O_ATTENTION_WAIT_GAP"),
                   index_drop=config.get_float("O2O_ATTENTION_INDEX_DROP"),
                   min_reviews=config.get_int("O2O_MIN_REVIEWS"))
        return replace(rule, **{k: v for k, v in overrides.items() if v is not None})

    def describe(self, lang: str = "en") -> str:
        """The rule in one sentence, for captions and the report, in ``lang``."""
        if i18n.check(lang) != "en":
            return i18n.t("attention.rule", lang, rating_gap=f"{self.rating_gap:g}", wait_gap=f"{self.wait_gap:g}",
                          index_drop=f"{self.index_drop:g}", weeks=WEEKS, min_reviews=self.min_reviews)
        return (f"A store needs attention when its listed rating is {self.rating_gap:g} ★ or more above its reviews, "
                f"its waits are {self.wait_gap:g} min or more over the promise, or its symmetry index fell "
                f"{self.index_drop:g} points or more over the last {WEEKS} weeks (against the {WEEKS} before), "
                f"among stores with at least {self.min_reviews} review{'s' if self.min_reviews != 1 else ''}.")


def judged(stores: pd.DataFrame, rule: Rule) -> pd.Series:
    """Per store of ``stores``, whether the rule can judge it: at least ``rule.min_reviews`` reviews
    (a missing count counts as none)."""
    reviews = pd.to_numeric(stores.get("reviews", pd.Series(0, index=stores.index)), errors="coerce").fillna(0)
    return reviews >= rule.min_reviews


def left_out(stores: pd.DataFrame, rule: Rule) -> int:
    """How many stores of ``stores`` the rule cannot judge: fewer than ``rule.min_reviews`` reviews."""
    return int((~judged(stores, rule)).sum()) if not stores.empty else 0


def none_judged(stores: pd.DataFrame, rule: Rule) -> bool:
    """Whether the rule could judge no store of ``stores``: each has fewer reviews than its floor.
    "No store needs attention" would then be a false all-clear."""
    return not stores.empty and left_out(stores, rule) == len(stores)


def left_out_words(count: int, rule: Rule, lang: str = "en") -> str:
    """``"3 stores with fewer than 5 reviews were left out."`` (empty when none were), in ``lang``."""
    if not count:
        return ""
    if i18n.check(lang) != "en":
        return i18n.t("attention.left_out", lang, count=f"{count:,}", min_reviews=rule.min_reviews)
    return (f"{count:,} store{' was' if count == 1 else 's were'} left out: fewer than {rule.min_reviews} "
            f"review{'' if rule.min_reviews == 1 else 's'}, too little evidence to judge.")


def flag(stores: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """``stores`` with the boolean columns ``is_over_promising``, ``is_slow``, ``is_falling`` and
    ``needs_attention`` (any of them, with enough reviews); a missing value never flags."""
    df = stores.copy()
    enough = judged(df, rule)

    def at_least(column: str, threshold: float) -> pd.Series:
        if column not in df:
            return pd.Series(False, index=df.index)
        return (pd.to_numeric(df[column], errors="coerce") >= threshold).fillna(False).astype(bool)

    df["is_over_promising"] = at_least("rating_gap", rule.rating_gap) & enough
    df["is_slow"] = at_least("wait_gap_minutes", rule.wait_gap) & enough
    df["is_falling"] = at_least("index_drop", rule.index_drop) & enough
    df["needs_attention"] = df["is_over_promising"] | df["is_slow"] | df["is_falling"]
    return df


def reason(row: pd.Series | dict, lang: str = "en") -> str:
    """Why a store is on the attention list, in words a store manager reads at a glance, e.g.
    ``listed 4.8, customers give 3.9; waits 14 min over the promised 10`` (in ``lang``)."""
    def t(key: str, **values) -> str:
        return i18n.t(f"attention.{key}", lang, **values)

    parts: list[str] = []
    listed, actual = row.get("listed_rating"), row.get("avg_rating")
    if not units.is_missing(listed) and not units.is_missing(actual):
        parts.append(t("listed", listed=f"{listed:.1f}", actual=f"{actual:.1f}"))
    gap, promised = row.get("wait_gap_minutes"), row.get("listed_wait_minutes")
    if not units.is_missing(gap) and abs(gap) >= WAIT_MENTION_MINUTES:
        minutes = f"{abs(gap):.0f}"
        if units.is_missing(promised):
            parts.append(t("waits_over" if gap > 0 else "waits_under", minutes=minutes))
        else:
            parts.append(t("waits_over_promised" if gap > 0 else "waits_under_promised", minutes=minutes,
                           promised=f"{promised:.0f}"))
    described = row.get("as_described_rate")
    if not units.is_missing(described) and described < DESCRIBED_MENTION:
        parts.append(t("described", share=f"{described * 100:.0f}"))
    drop, before, now = row.get("index_drop"), row.get("index_before"), row.get("index_recent")
    if row.get("is_falling") and not units.is_missing(drop):
        parts.append(t("fell", drop=f"{drop:.0f}", weeks=WEEKS, before=f"{before:.0f}", now=f"{now:.0f}"))
    return t("separator").join(parts)


def attention_rows(stores: pd.DataFrame, rule: Rule, lang: str = "en") -> pd.DataFrame:
    """The stores of ``stores`` that need attention, most urgent first, each with a ``reason``."""
    df = flag(stores, rule)
    df = df[df["needs_attention"]].copy()
    if df.empty:
        return df.assign(reason=pd.Series(dtype=str))
    df["reason"] = [reason(r, lang) for r in df.to_dict("records")]  # records: iterrows costs ~1 ms a row
    df["_rank_gap"] = df["rating_gap"].where(df["is_over_promising"])
    df["_rank_wait"] = df["wait_gap_minutes"].where(df["is_slow"]) if "wait_gap_minutes" in df else float("nan")
    df["_rank_drop"] = df["index_drop"] if "index_drop" in df else float("nan")
    df = df.sort_values(["is_over_promising", "_rank_gap", "is_slow", "_rank_wait", "_rank_drop", "store_id"],
                        ascending=[False, False, False, False, False, True], na_position="last", kind="mergesort")
    return df.drop(columns=["_rank_gap", "_rank_wait", "_rank_drop"]).reset_index(drop=True)
