"""Alert rules: what each kind checks, how its parameters are validated, and its evaluation.

Kinds (parameters in brackets, defaults after ``=``):

- ``threshold``  a registry KPI above or below a value over the last ``window_days`` (=7) days of
  data (ending at the latest order), either for each store of the scope (``grain = "store"``) or
  for the scope as a whole (``"total"``), counting only what has at least ``min_orders`` (=0)
  orders in the window [kpi, op = above|below, value, window_days, grain, min_orders].
  ``value`` is in the KPI's own unit as the registry stores it (a percentage as a fraction:
  5% = 0.05).
- ``symmetry``   the symmetry attention list (over-promising stores, falling symmetry index) of
  the last ``window_days`` (=28) days: one finding per listed store, with the reason in words.
- ``freshness``  no import logged in the warehouse's ``import_log`` for ``days`` (=2) days.
- ``failed_import`` an import the importer refused or that failed in the last ``within_hours``
  (=24) hours (recorded by the importer in the state file's ``import_failures``).
- ``anomaly``    a store's week unusual *for that store* (:mod:`o2o_ops.anomalies`: weekday-,
  holiday- and trend-aware, robust) in the last ``weeks`` (=1) complete ISO weeks of data, for
  the watched ``kpis`` (= all of :data:`o2o_ops.anomalies.KPIS`); with ``only_worse`` (=true)
  a rating, wait or refund rate is reported only when it is worse than usual, while orders are
  reported both ways (a surge is a capacity risk, a slump lost business). One finding per store,
  KPI and week, with the reason in words [weeks, kpis, only_worse].

- ``target_missed`` a KPI's target (the ``targets`` table, :mod:`o2o_ops.targets`) missed in
  any of the last ``weeks`` (=1) complete ISO weeks, for every target scope — a store, a region or
  the whole business — the rule's and the reader's scopes cover, optionally only the ``kpis``
  listed. A KPI that matures after the order (redemption rate, ratings, refunds...) is judged on
  the weeks that ended at least ``O2O_MATURITY_DAYS`` before the newest data, so a week whose
  vouchers are still being used is never "missed". One finding per scope, KPI and week
  [weeks, kpis].

A rule's ``scope`` (stores, regions, cities, categories) narrows what it looks at; a person's
own scope is ANDed in on top (:func:`o2o_ops.auth.scoped`), so a store manager's findings only
ever concern their stores. A finding's ``key`` identifies it across runs (``store:S0007``,
``total``, ``stale``, ``failure:12``): the same key while open is the same alert.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import duckdb
import pandas as pd

from o2o_ops import anomalies, coverage, db, i18n, metrics, symmetry, targets, units, weekly
from o2o_ops.alerts import messages, store
from o2o_ops.alerts.people import Webhook, webhook_from
from o2o_ops.filters import Filters

KINDS: dict[str, str] = {
    "threshold": "A KPI above or below a value, per store or for the scope as a whole",
    "symmetry": "Stores on the symmetry attention list (over-promising or a falling symmetry index)",
    "freshness": "No data imported for some days",
    "failed_import": "An import was refused or failed",
    "anomaly": "A store's week unusual for that store (orders, wait, rating, refund rate)",
    "target_missed": "A KPI missed its target (a store's, a region's or the business's)",
}
ANOMALY_KPIS = {k.name: k for k in anomalies.KPIS}
#: The app page that shows each watched KPI (a link back from an anomaly alert).
ANOMALY_PAGES = {"orders": "", "avg_wait_minutes": "symmetry", "avg_rating": "quality", "refund_rate": "quality"}
MAX_ANOMALY_WEEKS = 52
SCOPE_KEYS = ("stores", "regions", "cities", "categories")
MAX_WINDOW_DAYS = 366


class RuleError(ValueError):
    """A rule that cannot be saved or evaluated; the message says which field and why."""


@dataclass(frozen=True)
class Rule:
    rule_id: int | None
    name: str
    kind: str
    params: Mapping[str, Any]
    scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    webhook: Webhook | None = None
    enabled: bool = True
    created_by: str | None = None

    def filters(self) -> Filters:
        return Filters(stores=self.scope.get("stores", ()), regions=self.scope.get("regions", ()),
                       cities=self.scope.get("cities", ()), categories=self.scope.get("categories", ()))

    def page(self) -> str:
        """The app page (url path) that shows what this rule watches."""
        if self.kind == "threshold":
            return messages.AREA_PAGES.get(metrics.KPIS[self.params["kpi"]].area, "")
        if self.kind == "anomaly":
            pages = {ANOMALY_PAGES[k] for k in self.params["kpis"]}
            return pages.pop() if len(pages) == 1 else ""
        if self.kind == "target_missed":
            pages = {messages.AREA_PAGES.get(metrics.KPIS[k].area, "") for k in self.params["kpis"]}
            return pages.pop() if len(pages) == 1 else ""
        return "symmetry" if self.kind == "symmetry" else "data"

    def describe(self, *, with_scope: bool = True, lang: str = "en") -> str:
        """The rule in one sentence, e.g. ``Refund rate above 5.0% per store, last 7 days · Shanghai``
        (``with_scope=False`` leaves out the scope, which may name stores a reader may not see), in
        ``lang``."""
        from o2o_ops import i18n
        p = self.params
        t = lambda key, **v: i18n.t(f"alerts.{key}", lang, **v)  # noqa: E731
        kpi_words = lambda name: i18n.kpi_label(name, lang).lower() if lang == "en" else i18n.kpi_label(name, lang)  # noqa: E731
        sep = t("rule_list_separator")
        weeks = (t("rule_last_week") if p.get("weeks") == 1 else t("rule_last_weeks", weeks=p.get("weeks")))
        if self.kind == "threshold":
            kpi = metrics.KPIS[p["kpi"]]
            text = t("rule_threshold", kpi=i18n.kpi_label(p["kpi"], lang), op=t(f"rule_op_{p['op']}"),
                     value=units.format_value(p["value"], kpi.unit, lang=lang),
                     grain=t("rule_per_store") if p["grain"] == "store" else t("rule_as_whole"),
                     days=p["window_days"])
            if p.get("min_orders"):
                text += t("rule_min_orders", count=f"{p['min_orders']:,}")
        elif self.kind == "symmetry":
            text = t("rule_symmetry", days=p["window_days"])
        elif self.kind == "freshness":
            text = t("rule_freshness", days=p["days"])
        elif self.kind == "target_missed":
            what = sep.join(kpi_words(k) for k in p["kpis"]) or t("rule_any_kpi")
            text = t("rule_target_missed", what=what, weeks=weeks)
        elif self.kind == "anomaly":
            what = sep.join(i18n.t(f"anomaly.kpi_{k}", lang).lower() if lang == "en" else i18n.t(f"anomaly.kpi_{k}", lang)
                            for k in p["kpis"])
            text = t("rule_anomaly", what=what, worse=t("rule_only_worse") if p["only_worse"] else "", weeks=weeks)
        else:
            text = t("rule_failed_import", hours=p["within_hours"])
        where = self.filters().describe(lang)
        return text + ("" if where == i18n.t("filters.all_data", lang) or not with_scope else f" · {where}")


@dataclass(frozen=True)
class Finding:
    key: str
    summary: str
    link: str | None = None
    window: tuple[dt.date, dt.date] | None = None   # the days looked at, for a link to several findings


def _int(params: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
        if isinstance(raw, float) and raw != value:
            raise ValueError
    except (TypeError, ValueError):
        raise RuleError(f"{name} must be a whole number, not {raw!r}.") from None
    if not lo <= value <= hi:
        raise RuleError(f"{name} must be between {lo} and {hi}, not {value}.")
    return value


def clean(name: str, kind: str, params: Mapping[str, Any], scope: Mapping[str, Any] | None = None,
          webhook: Webhook | None = None, *, rule_id: int | None = None, enabled: bool = True,
          created_by: str | None = None) -> Rule:
    """A checked :class:`Rule` (defaults filled in); :class:`RuleError` names what is wrong."""
    name = str(name or "").strip()
    if not name:
        raise RuleError("The rule needs a name.")
    if len(name) > 120:
        raise RuleError("The rule's name is longer than 120 characters.")
    if kind not in KINDS:
        raise RuleError(f"Unknown rule kind {kind!r}; choose one of {', '.join(KINDS)}.")
    params = dict(params or {})
    if kind == "threshold":
        kpi = params.get("kpi")
        if kpi not in metrics.KPIS:
            raise RuleError(f"Unknown KPI {kpi!r}; `python -m o2o_ops kpis --list` lists them.")
        op = params.get("op")
        if op not in ("above", "below"):
            raise RuleError(f"op must be 'above' or 'below', not {op!r}.")
        try:
            value = float(params.get("value"))
        except (TypeError, ValueError):
            raise RuleError(f"value must be a number, not {params.get('value')!r}.") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise RuleError("value must be a finite number.")
        grain = params.get("grain", "store")
        if grain not in ("store", "total"):
            raise RuleError(f"grain must be 'store' or 'total', not {grain!r}.")
        params = {"kpi": kpi, "op": op, "value": value, "grain": grain,
                  "window_days": _int(params, "window_days", 7, 1, MAX_WINDOW_DAYS),
                  "min_orders": _int(params, "min_orders", 0, 0, 10_000_000)}
    elif kind == "symmetry":
        params = {"window_days": _int(params, "window_days", 28, 7, MAX_WINDOW_DAYS)}
    elif kind == "freshness":
        params = {"days": _int(params, "days", 2, 1, 365)}
    elif kind == "target_missed":
        kpis = params.get("kpis") or []
        if isinstance(kpis, str):
            kpis = [k.strip() for k in kpis.split(",") if k.strip()]
        unknown = [k for k in kpis if k not in metrics.KPIS]
        if unknown:
            raise RuleError(f"Unknown KPI {', '.join(map(repr, unknown))}; `python -m o2o_ops kpis --list` lists them.")
        params = {"weeks": _int(params, "weeks", 1, 1, MAX_ANOMALY_WEEKS),
                  "kpis": [k for k in metrics.KPIS if k in kpis]}
    elif kind == "anomaly":
        kpis = params.get("kpis") or list(ANOMALY_KPIS)
        if isinstance(kpis, str):
            kpis = [k.strip() for k in kpis.split(",") if k.strip()]
        unknown = [k for k in kpis if k not in ANOMALY_KPIS]
        if unknown:
            raise RuleError(f"Anomalies are watched for {', '.join(ANOMALY_KPIS)}; not for {', '.join(map(repr, unknown))}.")
        only_worse = params.get("only_worse", True)
        if not isinstance(only_worse, bool):
            raise RuleError(f"only_worse must be true or false, not {only_worse!r}.")
        params = {"weeks": _int(params, "weeks", 1, 1, MAX_ANOMALY_WEEKS),
                  "kpis": [k for k in ANOMALY_KPIS if k in kpis], "only_worse": only_worse}
    else:
        params = {"within_hours": _int(params, "within_hours", 24, 1, 24 * 31)}
    scope_clean: dict[str, tuple[str, ...]] = {}
    for key, values in (scope or {}).items():
        if key not in SCOPE_KEYS:
            raise RuleError(f"Unknown scope {key!r}; a rule can be scoped by {', '.join(SCOPE_KEYS)}.")
        values = tuple(sorted({str(v).strip() for v in (values or ()) if str(v).strip()}))
        if values:
            scope_clean[key] = values
    return Rule(rule_id, name, kind, params, scope_clean, webhook, enabled, created_by)


# ------------------------------------------------------------------------------------------
# Storage
# ------------------------------------------------------------------------------------------

def _from_row(row: sqlite3.Row) -> Rule:
    hook = json.loads(row["webhook"]) if row["webhook"] else None
    return Rule(row["rule_id"], row["name"], row["kind"], json.loads(row["params"]),
                {k: tuple(v) for k, v in json.loads(row["scope"]).items()},
                Webhook(**hook) if hook else None, bool(row["enabled"]), row["created_by"])


def save(state: sqlite3.Connection, rule: Rule, *, now: dt.datetime | None = None) -> int:
    """Insert (``rule_id`` None) or update a rule; returns its id."""
    hook = store.dumps({"url": rule.webhook.url, "format": rule.webhook.format, "secret": rule.webhook.secret}) \
        if rule.webhook else None
    values = (rule.name, rule.kind, store.dumps(dict(rule.params)), store.dumps(dict(rule.scope)), hook,
              int(rule.enabled))
    if rule.rule_id is None:
        cur = state.execute("INSERT INTO rules (name, kind, params, scope, webhook, enabled, created_by, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (*values, rule.created_by, store.iso(now or store.utc_now())))
        return int(cur.lastrowid)
    cur = state.execute("UPDATE rules SET name = ?, kind = ?, params = ?, scope = ?, webhook = ?, enabled = ? "
                        "WHERE rule_id = ?", (*values, rule.rule_id))
    if cur.rowcount != 1:
        raise RuleError(f"There is no rule {rule.rule_id}.")
    return rule.rule_id


def delete(state: sqlite3.Connection, rule_id: int) -> None:
    """Remove a rule with its open alerts (delivered messages stay in the log)."""
    if state.execute("DELETE FROM rules WHERE rule_id = ?", (rule_id,)).rowcount != 1:
        raise RuleError(f"There is no rule {rule_id}.")
    state.execute("UPDATE alerts SET cleared_at = ? WHERE rule_id = ? AND cleared_at IS NULL",
                  (store.iso(store.utc_now()), rule_id))


def load_all(state: sqlite3.Connection, *, enabled_only: bool = False) -> list[Rule]:
    sql = "SELECT * FROM rules" + (" WHERE enabled = 1" if enabled_only else "") + " ORDER BY rule_id"
    return [_from_row(r) for r in state.execute(sql)]


def rule_webhook(url: Any, fmt: Any, secret: Any) -> Webhook | None:
    try:
        return webhook_from(url, fmt, secret, where="rule")
    except ValueError as exc:
        raise RuleError(str(exc)) from None


# ------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------

@dataclass
class Context:
    """What an evaluation reads: the warehouse, the state file, the warehouse's path, the time."""

    con: duckdb.DuckDBPyConnection | None    # None without a warehouse: only failed_import can run
    state: sqlite3.Connection
    warehouse: Path
    now: dt.datetime


def _last_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    last = db.scalar(con, "SELECT max(date) FROM rollup_day_store_channel_campaign")
    return None if last is None or pd.isna(last) else pd.Timestamp(last).date()


def _window(con: duckdb.DuckDBPyConnection, days: int) -> tuple[dt.date, dt.date] | None:
    last = _last_date(con)
    return None if last is None else (last - dt.timedelta(days=days - 1), last)


def attention_stores(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The symmetry attention list for ``filters``: store_id, store_name, store_city, reason.

    The one place alerts call the attention rule, so switching to a merged rule is one edit.
    """
    return symmetry.attention_list(con, filters)[["store_id", "store_name", "store_city", "reason"]]


def reader_filters(filters: Filters) -> Filters:
    """``filters`` as their reader may see them written (in a summary or a link): a rule's stores
    outside the reader's scope are left out, so a message never names a store they cannot see."""
    if filters.scope_stores is None and filters.scope_regions is None:
        return filters
    keep = set(filters.scope_stores or ())
    return filters.replace(stores=tuple(s for s in filters.stores if s in keep))


def _threshold(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    p = rule.params
    window = _window(ctx.con, p["window_days"])
    if window is None:
        return []
    flt = filters.replace(start=window[0], end=window[1])
    kpi = metrics.KPIS[p["kpi"]]
    df = metrics.compute(ctx.con, flt, p["grain"], list(dict.fromkeys([kpi.name, "orders"])))
    # too few orders to judge (a store with one review is not "rated 2 stars"): no finding
    df = df[df[kpi.name].notna() & (df["orders"].fillna(0) >= p.get("min_orders", 0))]
    hit = df[df[kpi.name] > p["value"]] if p["op"] == "above" else df[df[kpi.name] < p["value"]]
    page = messages.AREA_PAGES.get(kpi.area, "")
    span = f"{window[0]} → {window[1]}"
    out = []
    if p["grain"] == "total":
        shown = reader_filters(flt)
        for _, row in hit.iterrows():
            out.append(Finding("total", f"{kpi.label} {kpi.format(row[kpi.name])} is {p['op']} "
                                        f"{kpi.format(p['value'])} ({shown.replace(start=None, end=None).describe()}, "
                                        f"{span})", messages.app_link(page, shown), window))
        return out
    for _, row in hit.sort_values("store_id").iterrows():
        out.append(Finding(f"store:{row['store_id']}",
                           f"{row['store_name']} ({row['store_id']}, {row['store_city']}): {kpi.label} "
                           f"{kpi.format(row[kpi.name])}, {p['op']} {kpi.format(p['value'])} ({span})",
                           messages.app_link(page, flt.replace(stores=(row["store_id"],))), window))
    return out


def _symmetry(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    window = _window(ctx.con, rule.params["window_days"])
    if window is None:
        return []
    flt = filters.replace(start=window[0], end=window[1])
    listed = attention_stores(ctx.con, flt).sort_values("store_id")
    return [Finding(f"store:{r.store_id}", f"{r.store_name} ({r.store_id}, {r.store_city}): {r.reason}",
                    messages.app_link("symmetry", flt.replace(stores=(r.store_id,))), window)
            for r in listed.itertuples()]


def last_import(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When the import log's newest entry was written (local time, as the importer logs it)."""
    value = db.scalar(con, "SELECT max(imported_at) FROM import_log")
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _freshness(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    days = rule.params["days"]
    last = last_import(ctx.con)
    now_local = ctx.now.astimezone().replace(tzinfo=None)   # import_log holds local, naive times
    link = messages.app_link("data")
    if last is None:
        return [Finding("stale", "No import has ever been logged in the warehouse.", link)]
    age = now_local - last
    if age < dt.timedelta(days=days):
        return []
    return [Finding("stale", f"No data imported for {age.days} days (last import {last:%Y-%m-%d %H:%M}); "
                             f"the rule allows {days}.", link)]


def _failed_import(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    since = ctx.now - dt.timedelta(hours=rule.params["within_hours"])
    rows = ctx.state.execute(
        "SELECT failure_id, at, imported_by, sources, kind, message FROM import_failures "
        "WHERE warehouse = ? AND at >= ? ORDER BY failure_id",
        (str(ctx.warehouse.resolve()), store.iso(since))).fetchall()
    link = messages.app_link("data")
    return [Finding(f"failure:{r['failure_id']}",
                    f"Import {r['kind']} at {r['at'][:16].replace('T', ' ')} UTC (by {r['imported_by'] or 'unknown'}, "
                    f"{r['sources']}): {r['message']}", link) for r in rows]


def complete_weeks(con: duckdb.DuckDBPyConnection, weeks: int) -> tuple[dt.date, dt.date] | None:
    """(Monday, Sunday) spanning the last ``weeks`` complete ISO weeks of data (the newest week
    counts when the data reaches its Sunday)."""
    last = _last_date(con)
    if last is None:
        return None
    end = weekly.sunday_on_or_before(last)
    return end - dt.timedelta(days=7 * weeks - 1), end


def _anomaly(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    p = rule.params
    window = complete_weeks(ctx.con, p["weeks"])
    if window is None:
        return []
    flt = filters.replace(start=window[0], end=window[1])
    found = anomalies.flags(ctx.con, flt)
    found = found[found["kpi"].isin(p["kpis"])]
    if p["only_worse"]:
        def watched(higher_is: str) -> pd.Series:
            return found["kpi"].isin([k for k, w in ANOMALY_KPIS.items() if w.higher_is == higher_is])
        worse = ((watched("bad") & (found["direction"] == "high")) | (watched("good") & (found["direction"] == "low")))
        found = found[worse | watched("neutral")]
    if found.empty:
        return []
    names = db.run(ctx.con, "SELECT store_id, name AS store_name FROM stores WHERE list_contains($ids, store_id)",
                   {"ids": sorted(set(found["store_id"]))})
    found = found.merge(names, on="store_id", how="left").sort_values(["store_id", "week_start", "kpi"])
    out = []
    for r in found.itertuples():
        monday = pd.Timestamp(r.week_start).date()
        week = (monday, monday + dt.timedelta(days=6))
        out.append(Finding(f"anomaly:{r.store_id}:{r.kpi}:{r.iso_week}",
                           f"{r.store_name or r.store_id} ({r.city}): {r.reason}",
                           messages.app_link(ANOMALY_PAGES[r.kpi],
                                             flt.replace(stores=(r.store_id,), start=week[0], end=week[1])),
                           window))
    return out


def _target_missed(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    """Targets missed (targets table, issue #15) in the last complete ISO weeks: one finding per
    target scope the reader may see, KPI and week. A KPI that matures after the order (redemption
    rate, ratings, refunds...) is judged on the last weeks that ended at least O2O_MATURITY_DAYS
    before the newest data, so a week whose vouchers are still being used is never 'missed'."""
    p = rule.params
    last = _last_date(ctx.con)
    if last is None:
        return []
    tg = targets.load(ctx.con)
    if p["kpis"]:
        tg = tg[tg["kpi"].isin(p["kpis"])]
    if tg.empty:
        return []
    out: list[Finding] = []
    for (kind, scope_id), part in tg.groupby(["scope", "scope_id"], dropna=False, sort=True):
        scope_id = None if pd.isna(scope_id) else str(scope_id)
        scope = targets.Scope(kind, scope_id)
        flt = filters.replace(stores=(scope_id,) if kind == "store" else (),
                              regions=(scope_id,) if kind == "region" else ())
        if targets.scope_of(flt) != scope:       # the rule's or the reader's scope does not cover it
            continue
        for mature in (False, True):
            names = sorted(k for k in part["kpi"].unique() if metrics.KPIS[k].matures == mature)
            if not names:
                continue
            newest = last - dt.timedelta(days=coverage.maturity_days()) if mature else last
            sunday = weekly.sunday_on_or_before(newest)
            first = sunday - dt.timedelta(days=7 * p["weeks"] - 1)
            # one query for every judged week of this scope (week grain), not one per week
            per_week = metrics.compute(ctx.con, flt.replace(start=first, end=sunday), "week", names)
            for _, row in per_week.sort_values("week_start", ascending=False).iterrows():
                week = weekly.Week.of(row["week_start"])
                start, end, iso = week.start, week.end, week.iso
                for name in names:
                    goal = targets.goal(part, name, start, end)
                    share, met = targets.attainment(name, row.get(name), goal)
                    if met is None or met:
                        continue
                    kpi = metrics.KPIS[name]
                    out.append(Finding(
                        f"target:{kind}:{scope_id or ''}:{name}:{iso}",
                        f"{scope.describe()[:1].upper()}{scope.describe()[1:]}, {iso}: {kpi.label.lower()} "
                        f"{kpi.format(row.get(name))}, "
                        f"{targets.words(name, row.get(name), goal)}",
                        messages.app_link(messages.AREA_PAGES.get(kpi.area, ""), flt.replace(start=start, end=end)),
                        (start, end)))
    return out


EVALUATORS = {"threshold": _threshold, "symmetry": _symmetry, "freshness": _freshness,
              "failed_import": _failed_import, "anomaly": _anomaly, "target_missed": _target_missed}


def blind_to(rule: Rule, con: duckdb.DuckDBPyConnection, filters: Filters | None = None,
             lang: str = "en") -> str:
    """What ``rule`` cannot see in the warehouse now, in ``lang``: each KPI it watches whose data
    was never imported over the stretch it looks at, with why ("average rating (no reviews
    imported)"); for an anomaly rule, each watched KPI no store-week of its weeks was judged on
    (:func:`o2o_ops.anomalies.not_judged`). "" when it sees all it watches, or watches no KPI
    (freshness, failed imports). A rule blind to everything it watches never fires: its silence
    is not an all-clear, and the alerts page says so beside it."""
    filters = filters or rule.filters()
    p = rule.params
    if rule.kind == "anomaly":
        window = complete_weeks(con, p["weeks"])
        if window is None:
            return ""
        unjudged = anomalies.not_judged(con, filters.replace(start=window[0], end=window[1]), tuple(p["kpis"]), lang)
        return i18n.t("weekly.item_separator", lang).join(unjudged.values())
    if rule.kind in ("threshold", "symmetry"):
        window = _window(con, p["window_days"])
        names = [p["kpi"]] if rule.kind == "threshold" else ["reviews"]   # the attention rule's floor
    elif rule.kind == "target_missed":
        last = _last_date(con)
        names = sorted(set(targets.load(con)["kpi"]) & set(p["kpis"] or metrics.KPIS))
        sunday = weekly.sunday_on_or_before(last) if last else None
        window = (sunday - dt.timedelta(days=7 * p["weeks"] - 1), sunday) if sunday else None
    else:
        return ""
    if window is None:
        return ""
    cov = coverage.of(con, filters)
    out = []
    for name in names:
        why = cov.reason(name, *window)
        if why:
            out.append(anomalies.unseen_words(i18n.kpi_label(name, lang), i18n.note_detail(i18n.note(why, lang)), lang))
    return i18n.t("weekly.item_separator", lang).join(out)


def evaluate(rule: Rule, ctx: Context, filters: Filters) -> list[Finding]:
    """The rule's findings now, for ``filters`` (the rule's scope with the audience's ANDed in)."""
    return EVALUATORS[rule.kind](rule, ctx, filters)
