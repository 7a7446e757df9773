"""SQL generated from the declarations: rollup columns, the sums a query reads, each KPI's
expression, the reference query on the fact table, and the placeholders of ``o2o_ops/sql/*.sql``.

Everything is text built from :mod:`o2o_ops.kpis.measures` and :mod:`o2o_ops.kpis.catalog`; the
SQL is DuckDB's. No connection here.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from o2o_ops.kpis import symmetry_index
from o2o_ops.kpis.measures import FORMULAS, MEASURE_LIST, MEASURES, Measure, names_in

# ------------------------------------------------------------------------------------------
# Measures
# ------------------------------------------------------------------------------------------


def _filtered(aggregate: str, where: str | None) -> str:
    return f"{aggregate} FILTER (WHERE {where})" if where else aggregate


def order_aggregate(m: Measure) -> str:
    """The aggregate over order_facts rows that gives measure ``m`` for a group of orders."""
    if m.of is not None:
        base = MEASURES[m.of]
        where = f"({base.where}) AND ({m.where})" if base.where else m.where
        return order_aggregate(Measure(m.name, "", m.unit, agg=base.agg, expr=base.expr, where=where,
                                       zero_when_empty=base.zero_when_empty))
    if m.source != "orders" or m.agg is None:
        raise ValueError(f"{m.name} is not an order measure.")
    sql = _filtered("count(*)" if m.agg == "count" else f"sum({m.expr})", m.where)
    return f"coalesce({sql}, 0)" if m.zero_when_empty else sql


def rollup_measure_columns(indent: str = "        ") -> str:
    """The select list of the order rollup's measure columns (``sql/rollups.sql``)."""
    return (",\n" + indent).join(f"{order_aggregate(m)} AS {m.name}" for m in MEASURE_LIST if m.is_rollup_column)


def rollup_measure_names(alias: str | None = None, indent: str = "    ") -> str:
    """The order rollup's measure columns by name (``alias.name``), in declaration order: the
    portable spelling of ``alias.* EXCLUDE (keys)`` (``sql/rollups.sql``)."""
    prefix = f"{alias}." if alias else ""
    return (",\n" + indent).join(f"{prefix}{m.name}" for m in MEASURE_LIST if m.is_rollup_column)


def rollup_measure_sums(indent: str = "       ") -> str:
    """Each order rollup measure column summed under its own name: the portable spelling of
    ``sum(COLUMNS(* EXCLUDE (keys)))`` (the weekly rollup of ``sql/rollups.sql``)."""
    return (",\n" + indent).join(f"sum({m.name}) AS {m.name}" for m in MEASURE_LIST if m.is_rollup_column)


def rollup_sums(names: Sequence[str] | None = None, indent: str = "    ", *, presliced: bool = False) -> str:
    """The order measures ``names`` (default: all) summed over rollup rows (the ``o`` CTE of
    metrics.kpi_sql): one column per rollup measure, and each slice as its base measure's sum over
    the slice's rows — or, on the store-level rollups (``presliced``), which hold every slice as a
    column summed at build (:func:`store_rollup_sums`), the slice column's sum. Always at least
    ``count(*) AS n_rows``, so a query for KPIs that read no order measure still finds its groups."""
    parts = ["count(*) AS n_rows"]
    for m in MEASURE_LIST:
        if names is not None and m.name not in names:
            continue
        if m.is_rollup_column or (presliced and m.source == "orders"):
            parts.append(f"sum({m.name}) AS {m.name}")
        elif m.source == "orders":
            parts.append(f"sum({m.of}) FILTER (WHERE {m.where}) AS {m.name}")
    return (",\n" + indent).join(parts)


def store_rollup_sums(indent: str = "       ") -> str:
    """The store-level rollups' columns (``sql/rollups.sql``), summed from a rollup that keeps
    channels and campaigns apart: every rollup measure, and every slice (deal and full-price
    reviews, new customers won by a campaign) as its own column, since the campaign it is sliced
    by is summed away."""
    slices = [f"sum({m.of}) FILTER (WHERE {m.where}) AS {m.name}" for m in MEASURE_LIST
              if not m.is_rollup_column and m.source == "orders"]
    return (",\n" + indent).join([rollup_measure_sums(indent), *slices])


def cost_sums(names: Sequence[str] | None = None, indent: str = "    ") -> str:
    """The cost measures ``names`` (default: all) over rows of the cost rollup (the ``k`` CTE)."""
    return (",\n" + indent).join(["count(*) AS n_rows"] + [
        f"sum(amount) FILTER (WHERE {m.where}) AS {m.name}"
        for m in MEASURE_LIST if m.source == "costs" and (names is None or m.name in names)])


# ------------------------------------------------------------------------------------------
# Formulas and KPI expressions
# ------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def render_formula(formula: str, term: Callable[[str], str], *, bare_single: bool = False) -> str:
    """``formula`` with each measure replaced by ``term(measure)`` and each named formula by its
    own rendering in parentheses. With ``bare_single``, a formula that is one measure is rendered
    as the measure itself (NULL stays NULL: a ratio of a group without rows is undefined)."""
    names_in(formula)
    stripped = formula.strip()
    if bare_single and stripped in MEASURES:
        return term(stripped)

    def swap(match: re.Match) -> str:
        name = match.group(0)
        if name in FORMULAS:
            return "(" + render_formula(FORMULAS[name], term) + ")"
        return f"coalesce({term(name)}, 0)"

    return _TOKEN.sub(swap, formula)


def _column(name: str) -> str:
    from o2o_ops.kpis.catalog import SOURCE_ALIAS
    return f"{SOURCE_ALIAS[MEASURES[name].source]}.{name}"


def _ratio(num: str, den: str, column: Callable[[str], str]) -> str:
    n = render_formula(num, column, bare_single=True)
    d = render_formula(den, column, bare_single=True)
    n = n if num.strip() in MEASURES else f"({n})"
    d = d if den.strip() in MEASURES else f"({d})"
    return f"CAST({n} AS DOUBLE) / NULLIF({d}, 0)"


def kpi_expression(kpi, column: Callable[[str], str] = _column) -> str:
    """KPI ``kpi``'s expression over the summed measures (``column(measure)`` names them)."""
    if kpi.kind == "sum":
        return render_formula(kpi.numerator, column) if kpi.numerator not in MEASURES \
            else f"coalesce({column(kpi.numerator)}, 0)"
    if kpi.kind == "ratio":
        return _ratio(kpi.numerator, kpi.denominator, column)
    if kpi.kind == "difference":
        return f"{_ratio(kpi.numerator, kpi.denominator, column)} - {_ratio(*kpi.minus, column)}"
    from o2o_ops.kpis.catalog import INDEX_ALIAS, MEDIAN_ALIAS
    if kpi.kind == "median":
        return f"{MEDIAN_ALIAS}.{kpi.name}"
    if kpi.kind == "index":
        return f"{INDEX_ALIAS}.{kpi.name}"
    raise ValueError(f"Unknown KPI kind {kpi.kind!r}.")


def median_selects(kpis: Sequence, indent: str = "    ") -> str:
    """The median KPIs' aggregates over order_facts rows (the ``f`` CTE)."""
    return (",\n" + indent).join(f"{_filtered(f'median({k.column})', k.where)} AS {k.name}"
                                 for k in kpis if k.kind == "median")


def reference_sql(keys: Sequence[tuple[str, str]], kpis: Sequence, table: str = "order_facts",
                  where: str = "TRUE") -> str:
    """KPIs ``kpis`` (sums, ratios, differences and medians of order measures) straight from the
    fact table, one row per group of ``keys`` ((output, expression) pairs): the question the
    rollups answer, asked without them. For tests."""
    needed: list[str] = []
    for k in kpis:
        if k.kind == "index" or any(MEASURES[m].source != "orders" for m in k.measures):
            raise ValueError(f"{k.name} is not computed from order measures alone.")
        needed += [m for m in k.measures if m not in needed]
    key_sql = ", ".join(f"{e} AS {o}" for o, e in keys)
    sums = [f"{order_aggregate(MEASURES[m])} AS {m}" for m in needed]
    medians = median_selects(kpis)
    cols = ",\n    ".join([*sums, *([medians] if medians else [])])
    select = [f"{kpi_expression(k, lambda m: 'o.' + m) if k.kind != 'median' else 'o.' + k.name} AS {k.name}"
              for k in kpis]
    out = ", ".join(o for o, _ in keys)
    return (f"WITH o AS (SELECT {key_sql},\n    {cols}\n  FROM {table} WHERE {where} GROUP BY ALL)\n"
            f"SELECT {out}, {', '.join(select)} FROM o ORDER BY {out}")


# ------------------------------------------------------------------------------------------
# The facts of order_facts that move with the "as of" time
# ------------------------------------------------------------------------------------------

#: order_facts' facts that read the "as of" time (the latest order), as SQL over the inputs named in
#: braces. Declared once: order_facts.sql computes them from an order and its redemption
#: (:data:`AS_OF_INPUTS_OF_ORDERS`, ``{{ as_of_flag:NAME }}``); an import recomputes them from an
#: order's stored facts when nothing else of it can have changed (:data:`AS_OF_INPUTS_OF_FACTS`,
#: o2o_ops/incremental.py), instead of the whole of order_facts.sql over its customer's orders.
#: A promise is due once it was fulfilled or its time has passed; late when fulfilled after the
#: time (or not at all by then) or after a longer wait than promised
AS_OF_FLAGS: dict[str, str] = {
    "is_breakage": "(NOT {redeemed} AND {valid_until} IS NOT NULL AND {valid_until} < {as_of} AND {paid})",
    "is_promise_due": "{paid} AND (\n        ({promised_at} IS NOT NULL AND ({redeemed} OR {promised_at} <= {as_of}))"
                      "\n        OR ({promised_wait} IS NOT NULL AND {wait} IS NOT NULL))",
    "is_late_vs_promise": "{paid} AND (\n        ({promised_at} IS NOT NULL"
                          " AND ({redeemed} OR {promised_at} <= {as_of})"
                          "\n             AND ({redeemed_at} IS NULL OR {redeemed_at} > {promised_at}))"
                          "\n        OR coalesce({wait} > {promised_wait}, FALSE))",
}

#: the inputs as order_facts.sql names them (o: the order, r: its redemption, a: the "as of" time)
AS_OF_INPUTS_OF_ORDERS = {
    "paid": "(coalesce(o.status, 'paid') <> 'cancelled')", "redeemed": "(r.order_id IS NOT NULL)",
    "valid_until": "o.valid_until", "promised_at": "o.promised_at", "promised_wait": "o.promised_wait_minutes",
    "wait": "r.wait_minutes", "redeemed_at": "r.redeemed_at", "as_of": "a.as_of",
}

#: the same inputs among an order's stored facts (f: its row of order_facts; the "as of" time given
#: as ``$as_of``)
AS_OF_INPUTS_OF_FACTS = {
    "paid": "f.is_paid", "redeemed": "f.is_redeemed", "valid_until": "f.valid_until",
    "promised_at": "f.promised_at", "promised_wait": "f.promised_wait_minutes", "wait": "f.wait_minutes",
    "redeemed_at": "f.redeemed_at", "as_of": "$as_of",
}


def as_of_flag(name: str, inputs: dict[str, str]) -> str:
    """The SQL of the "as of" fact ``name`` (:data:`AS_OF_FLAGS`) over ``inputs``."""
    return AS_OF_FLAGS[name].format(**inputs)


# ------------------------------------------------------------------------------------------
# Placeholders in o2o_ops/sql/*.sql
# ------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)(?::([a-z_]+))?\s*\}\}")


def _placeholder(name: str, arg: str | None) -> str:
    if name == "order_measure_columns":
        return rollup_measure_columns()
    if name == "order_measure_names":
        return rollup_measure_names(arg)
    if name == "order_measure_sums":
        return rollup_measure_sums()
    if name == "store_rollup_sums":
        return store_rollup_sums()
    if name == "formula_per_row" and arg in FORMULAS:
        # the formula evaluated per rollup row and summed (each measure 0 where missing)
        return f"sum({render_formula(FORMULAS[arg], lambda m: m)})"
    if name == "as_of_flag" and arg in AS_OF_FLAGS:
        return as_of_flag(arg, AS_OF_INPUTS_OF_ORDERS)
    if name == "symmetry_sums":
        return symmetry_index.shrunk_sums_sql()
    raise ValueError(f"Unknown SQL placeholder {{{{ {name}{':' + arg if arg else ''} }}}}.")


#: ``{{ where_touched KIND: expr, ... }}`` / ``{{ and_touched KIND: expr, ... }}``: the restriction
#: of a build step to the keys a batch touched (o2o_ops/incremental.py). Rendered as nothing for
#: the full build (so the full build's text, and its fingerprint, are what they were without it,
#: and the Spark build never sees it); rendered as `` WHERE <test>`` / `` AND <test>`` over the
#: temp tables of touched keys for the incremental build (DuckDB only).
_TOUCHED = re.compile(r"\{\{\s*(where|and)_touched\s+([a-z_]+)\s*:\s*(.*?)\s*\}\}")

#: ``{{ touched_slice TABLE: NAME }}``: TABLE itself for the full build; for an import, the temp
#: table ``o2o_slice_TABLE_NAME`` the driver gathers once (o2o_ops/incremental.py ``SLICES``): every
#: row of TABLE that the restrictions NAME stands for can select, so that each step reads those rows
#: alone instead of testing every row of TABLE again (its restriction still applies: same result)
_SLICE = re.compile(r"\{\{\s*touched_slice\s+([a-z_]+)\s*:\s*([a-z_]+)\s*\}\}")

#: ``{{ touched_as_of TABLE }}``: the table a step reads its "as of" time (the latest ``ordered_at``)
#: from. TABLE itself for the full build; for an import, the one-row temp table ``o2o_as_of_TABLE``
#: (column ``ordered_at``: the time after the batch), which o2o_ops/incremental.py swaps for
#: ``o2o_was_as_of_TABLE`` (the time before it) where a step kept by deltas reads the changed rows
#: as they were (``AGED``): each side of the delta is bucketed with its own "as of" time
_AS_OF = re.compile(r"\{\{\s*touched_as_of\s+([a-z_]+)\s*\}\}")


def _split_args(text: str) -> list[str]:
    """``text`` split on the commas outside parentheses."""
    args, depth, current = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            continue
        depth += (ch == "(") - (ch == ")")
        current.append(ch)
    args.append("".join(current).strip())
    return args


def _week(expr: str) -> str:
    return f"CAST(date_trunc('week', {expr}) AS DATE)"


def _pair_in(table: str, store: str, date: str, *, week: bool = False) -> str:
    """A (store, date) key among the pairs of ``table`` (columns t_store_id, t_date; with ``week``,
    t_date is the Monday of ``date``'s ISO week), as a test on one hash of the pair: DuckDB plans a
    correlated ``EXISTS`` on two columns as a delim join that materialises every scanned row first
    (6.5 s for one week rollup at 10 million orders, against 0.1 s this way). A hash collision can
    only add a key: the DELETE and the INSERT of a step use the same test, so such a key's rows
    are deleted and recomputed, never lost.

    And ``date`` between the first and the last of those dates (the last week's Sunday): DuckDB
    then skips every row group outside them by its zone maps, where the hash alone reads every row
    of the table. The tables are stored by date, and a day's feed touches about three months of a
    warehouse's two years (the unredeemed vouchers whose validity the new "as of" time passes
    were sold weeks before): at 10 million orders, reading the touched rows of the day rollup
    took 0.11 s, 0.03 s with the dates' range."""
    key_date = _week(date) if week else date
    pair = f"hash(CAST({store} AS VARCHAR), CAST({key_date} AS DATE))"
    last = "max(t_date) + 6" if week else "max(t_date)"
    return (f"({pair} IN (SELECT hash(CAST(t_store_id AS VARCHAR), CAST(t_date AS DATE)) FROM {table})"
            f" AND CAST({date} AS DATE) BETWEEN (SELECT min(t_date) FROM {table}) AND (SELECT {last} FROM {table}))")


def _store_weekday_in(table: str, store: str, weekday: str) -> str:
    """A (store, ISO weekday) key among the pairs of ``table`` (columns t_store_id, t_wd INTEGER),
    as a test on one hash of the pair (see :func:`_pair_in`)."""
    return (f"hash(CAST({store} AS VARCHAR), {weekday}) IN "
            f"(SELECT hash(CAST(t_store_id AS VARCHAR), t_wd) FROM {table})")


def weekday_sql(date: str) -> str:
    """The ISO weekday of ``date``, Monday = 1 (as sql/rollups_lift.sql spells it), as an INTEGER
    (the touched keys' t_wd, made with this same expression in o2o_ops/incremental.py: a hash
    depends on the type)."""
    return f"CAST(date_diff('day', date_trunc('week', {date}), {date}) + 1 AS INTEGER)"


#: the kinds of touched keys found from the changed orders, whose temp tables come in two sets:
#: every changed order's keys (``o2o_touched_<kind>``), and (``o2o_touched_<kind>_no_as_of``) the
#: keys of the changed orders but those of which only the "as of" flags changed, for the steps that
#: do not read those flags (o2o_ops/incremental.py ``AS_OF_FLAGS``)
AS_OF_VARIANTS = ("store_days", "stage_store_days", "store_weeks", "campaigns", "customers", "customer_facts",
                  "campaign_first_facts")

#: the suffix of the key tables a step that does not read the "as of" flags is restricted by
NO_AS_OF = "_no_as_of"


def key_table(kind: str, variant: str = "") -> str:
    """The temp table of touched keys ``kind`` (``variant``: "" or :data:`NO_AS_OF`)."""
    return f"o2o_touched_{kind}{variant if kind in AS_OF_VARIANTS else ''}"


#: each kind of touched keys: (arity, the test over the key expressions, given ``k(kind)``: the
#: key table of a kind). The key tables name their columns t_* so that an unqualified outer column
#: is never theirs. DuckDB only (the full build and the Spark build never see these tests).
TOUCHED_TESTS: dict[str, tuple[int, Callable[..., str]]] = {
    "orders": (1, lambda k, o: f"{o} IN (SELECT order_id FROM {k('orders')})"),
    "customers": (1, lambda k, c: f"{c} IN (SELECT customer_id FROM {k('customers')})"),
    # the rows of order_facts whose customer is touched, by row id (the orders step reads its
    # touched customers' rows once, then keeps those of the customers touched at the end and adds
    # the rows it appended): a test of the customer id hashes all 10 million ids each time
    "customer_facts": (1, lambda k, r: f"{r} IN (SELECT rid FROM {k('customer_facts')})"),
    # those rows of the customers whose first order has a campaign (campaign_order_facts' next
    # order after it): a test of customer_facts' row ids and then of the customer id decodes the
    # customer ids of every row group holding a touched row
    "campaign_first_facts": (1, lambda k, r: f"{r} IN (SELECT rid FROM {k('campaign_first_facts')})"),
    "campaigns": (1, lambda k, c: f"{c} IN (SELECT campaign_id FROM {k('campaigns')})"),
    "store_weekdays": (2, lambda k, s, d: _store_weekday_in(k("store_weekdays"), s, weekday_sql(d))),
    # the same pairs, keyed by the weekday itself (rollup_lift_store_level.wd)
    "store_levels": (2, lambda k, s, w: _store_weekday_in(k("store_weekdays"), s, f"CAST({w} AS INTEGER)")),
    # lift's store-days: every day of some stores, some days of every store, and single store-days
    "lift_store_days": (2, lambda k, s, d: f"({s} IN (SELECT t_store_id FROM {k('lift_stores')}) "
                                           f"OR CAST({d} AS DATE) IN (SELECT t_date FROM {k('lift_days')}) "
                                           f"OR {_pair_in(k('lift_store_days'), s, d)})"),
    "cell_weekdays": (3, lambda k, c, g, d: f"hash(CAST({c} AS VARCHAR), CAST({g} AS VARCHAR), {weekday_sql(d)}) IN "
                                            f"(SELECT hash(CAST(t_city AS VARCHAR), CAST(t_category AS VARCHAR), t_wd) "
                                            f"FROM {k('cell_weekdays')})"),
    "store_days": (2, lambda k, s, d: _pair_in(k("store_days"), s, d)),
    "stage_store_days": (2, lambda k, s, d: _pair_in(k("stage_store_days"), s, d)),
    "store_weeks": (2, lambda k, s, d: _pair_in(k("store_weeks"), s, d, week=True)),
    "cost_days": (2, lambda k, c, d: f"({c} IN (SELECT campaign_id FROM {k('campaigns')}) "
                                     f"OR {d} IN (SELECT date FROM {k('cost_dates')}))"),
    # the campaigns of the cost rows a cost_days step recomputes: their store shares (of all their
    # orders) spread those rows, so only they are needed
    "cost_campaigns": (1, lambda k, c: f"({c} IN (SELECT campaign_id FROM {k('campaigns')}) "
                                       f"OR {c} IN (SELECT campaign_id FROM costs "
                                       f"WHERE date IN (SELECT date FROM {k('cost_dates')})))"),
    "cost_weeks": (2, lambda k, c, d: f"({c} IN (SELECT campaign_id FROM {k('campaigns')}) "
                                      f"OR {_week(d)} IN (SELECT {_week('date')} FROM {k('cost_dates')}))"),
    "events": (2, lambda k, d, c: f"({d} IN (SELECT date FROM {k('event_dates')}) "
                                  f"OR {c} IN (SELECT customer_id FROM {k('customers')}))"),
}


def touched_test(kind: str, *exprs: str, variant: str = "") -> str:
    """The SQL test that a row with key expressions ``exprs`` has keys of ``kind`` a batch touched
    (``variant``: which set of key tables, :func:`key_table`)."""
    if kind not in TOUCHED_TESTS:
        raise ValueError(f"Unknown kind of touched keys {kind!r}.")
    arity, test = TOUCHED_TESTS[kind]
    if len(exprs) != arity:
        raise ValueError(f"Touched keys {kind!r} take {arity} expression(s), got {len(exprs)}.")
    return test(lambda name: key_table(name, variant), *exprs)


def render_template(text: str, *, touched: bool = False, variant: str = "") -> str:
    """``text`` with every ``{{ name }}`` / ``{{ name:arg }}`` replaced by its generated SQL, and
    every ``{{ where_touched ... }}`` restriction by nothing or, with ``touched``, by its test
    (over the key tables of ``variant``, :func:`key_table`)."""
    def restrict(m: re.Match) -> str:
        test = touched_test(m.group(2), *_split_args(m.group(3)), variant=variant)
        return f" {m.group(1).upper()} {test}" if touched else ""

    text = _SLICE.sub(lambda m: f"o2o_slice_{m.group(1)}_{m.group(2)}" if touched else m.group(1), text)
    text = _AS_OF.sub(lambda m: f"o2o_as_of_{m.group(1)}" if touched else m.group(1), text)
    text = _TOUCHED.sub(restrict, text)
    return _PLACEHOLDER.sub(lambda m: _placeholder(m.group(1), m.group(2)), text)


# ------------------------------------------------------------------------------------------
# Inspections (optional table, issue #16)
# ------------------------------------------------------------------------------------------

def inspection_sums(names: Sequence[str] | None = None, indent: str = "    ") -> str:
    """The inspection measures ``names`` (default: all) over rows of ``inspection_facts`` (the
    ``ins`` CTE of metrics.kpi_sql; ``is_passed`` is decided there)."""
    parts = ["count(*) AS n_inspection_rows"]
    for m in MEASURE_LIST:
        if m.source == "inspections" and (names is None or m.name in names):
            parts.append(f"{_filtered('count(*)' if m.agg == 'count' else f'sum({m.expr})', m.where)} AS {m.name}")
    return (",\n" + indent).join(parts)


def event_sums(names: Sequence[str] | None = None, indent: str = "    ") -> str:
    """The event measures ``names`` (default: all) over rows of ``event_facts`` (the ``ev`` CTE of
    metrics.kpi_sql; ``$coupon_redeem_hours`` is bound there)."""
    parts = ["count(*) AS n_event_rows"]
    for m in MEASURE_LIST:
        if m.source == "events" and (names is None or m.name in names):
            parts.append(f"{_filtered('count(*)' if m.agg == 'count' else f'sum({m.expr})', m.where)} AS {m.name}")
    return (",\n" + indent).join(parts)
