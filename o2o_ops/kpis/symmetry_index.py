"""The symmetry index, declared once: its components, weights and pseudo-observations.

Everything else reads :data:`INDEX`: the per-store sums (:func:`shrunk_sums_sql`), the score
(:func:`score_sql`), the KPI's one-line definition and the long text of the definitions page
(:func:`describe`). Changing a weight or a constant is one edit here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymmetryIndex:
    # weights of the four components (they sum to 1)
    w_rating: float = 0.35
    w_wait: float = 0.25
    w_described: float = 0.25
    w_complaints: float = 0.15
    # pseudo-observations at "no gap" added to a store's own (empirical-Bayes shrinkage)
    k_reviews: int = 10          # rating gap: pseudo-reviews at gap 0
    k_waits: int = 10            # wait gap: pseudo-waits at gap 0
    k_answers: int = 10          # as-described: pseudo-answers at the prior rate
    prior_described: float = 0.9
    k_redemptions: int = 20      # complaints: pseudo-redemptions at the prior rate
    prior_complaints: float = 0.03
    # scales: the gap that scores 0
    rating_over_stars: float = 1.5      # over-promising by this many stars scores 0
    rating_under_stars: float = 4.5     # under-promising is penalised a third as hard
    wait_over_minutes: float = 20.0     # this many minutes over the promise scores 0
    described_floor: float = 0.5        # an as-described rate at or below this scores 0
    complaints_ceiling: float = 0.2     # a complaint rate at or above this scores 0


INDEX = SymmetryIndex()

# the order measures the per-store sums read, and the contract tables the index needs (the
# promises, stores.listed_rating and stores.listed_wait_minutes, are optional: see describe())
MEASURES = ("count_redemptions", "listed_rating_sum", "rating_sum_listed", "count_reviews_listed", "wait_gap_sum",
            "count_waits", "count_as_described", "count_described_answered", "count_complaints")
INPUTS = ("orders", "redemptions", "reviews")


def _d(value: object) -> str:
    """A constant as DOUBLE: a bare 0.35 is DECIMAL on Spark, and DECIMAL division drifts from
    DuckDB's DOUBLE result (o2o_ops/portable.py lints for it)."""
    return f"CAST({value} AS DOUBLE)"


def shrunk_sums_sql(ix: SymmetryIndex = INDEX) -> str:
    """Per-store select list over the order rollup: redemptions and the four shrunk components."""
    return f"""sum(count_redemptions) AS count_redemptions, sum(count_reviews) AS count_reviews,
    (sum(listed_rating_sum) - sum(rating_sum_listed)) / (sum(count_reviews_listed) + {ix.k_reviews}) AS rgap,
    sum(wait_gap_sum) / (sum(count_waits) + {ix.k_waits}) AS wgap,
    (sum(count_as_described) + {_d(f"{ix.k_answers} * {ix.prior_described}")}) / (sum(count_described_answered) + {ix.k_answers}) AS described,
    (sum(count_complaints) + {_d(f"{ix.k_redemptions} * {ix.prior_complaints}")}) / (sum(count_redemptions) + {ix.k_redemptions}) AS complaints"""


def score_sql(ix: SymmetryIndex = INDEX) -> str:
    """One store's index (0-100) from ``st`` (the sums above) joined to its store row ``s``."""
    always = ix.w_described + ix.w_complaints
    return f"""
    -- one store's symmetry index from its shrunk sums (o2o_ops/kpis/symmetry_index.py)
    CASE WHEN st.count_redemptions > 0 THEN 100 * (
        CASE WHEN s.listed_rating IS NULL THEN 0 ELSE {_d(ix.w_rating)} * (1 - least(1,
            greatest(st.rgap, 0) / {_d(ix.rating_over_stars)} + greatest(-st.rgap, 0) / {_d(ix.rating_under_stars)})) END
      + CASE WHEN s.listed_wait_minutes IS NULL THEN 0 ELSE {_d(ix.w_wait)} * (1 - least(1,
            greatest(st.wgap, 0) / {_d(ix.wait_over_minutes)})) END
      + {_d(ix.w_described)} * least(1, greatest(0, (st.described - {_d(ix.described_floor)}) / (1 - {_d(ix.described_floor)})))
      + {_d(ix.w_complaints)} * (1 - least(1, st.complaints / {_d(ix.complaints_ceiling)}))
    ) / ({_d(f"{always:.2f}")} + CASE WHEN s.listed_rating IS NULL THEN 0 ELSE {_d(ix.w_rating)} END
              + CASE WHEN s.listed_wait_minutes IS NULL THEN 0 ELSE {_d(ix.w_wait)} END)
    END"""


def evidenced_score_sql(ix: SymmetryIndex = INDEX, floor: str = "$min_reviews") -> str:
    """:func:`score_sql` for stores with at least ``floor`` reviews (the review floor, setting
    O2O_MIN_REVIEWS, bound as ``$min_reviews``); NULL below it: with no evidence the index would
    be the prior alone, so the store has none and is left out of every mean above store grain."""
    return f"CASE WHEN st.count_reviews >= {floor} THEN {score_sql(ix)} END"


def _pct(w: float) -> str:
    return f"{w * 100:.0f}%"


def summary(ix: SymmetryIndex = INDEX) -> str:
    """The KPI's one-line definition."""
    return (f"0–100 per store: {_pct(ix.w_rating)} rating gap, {_pct(ix.w_wait)} wait gap, "
            f"{_pct(ix.w_described)} as-described rate, {_pct(ix.w_complaints)} complaint rate, each shrunk towards "
            f"no gap ({ix.k_reviews} pseudo-reviews/waits/answers, {ix.k_redemptions} pseudo-redemptions); above "
            f"store grain, the redemption-weighted mean of store indices. See the KPI definitions page for the "
            f"exact scoring.")


def describe(ix: SymmetryIndex = INDEX, lang: str = "en") -> str:
    """The exact scoring, in Markdown, for the definitions page, the symmetry page and the report
    (in ``lang``; the text is the catalogue's ``symmetry.doc``, filled from ``ix``)."""
    from o2o_ops import i18n
    return i18n.t("symmetry.doc", lang, ix=ix, floor_span=f"{1 - ix.described_floor:g}")
