"""Alerts: my subscriptions (alerts immediately or daily, the weekly digest), my open alerts, the
rules (changed by analysts and admins only) and the delivery log."""

import streamlit as st

from o2o_ops import auth, metrics
from o2o_ops.alerts import people, rules, store, subscriptions, views
from o2o_ops.ui import auth as auth_ui, frame, warehouse

scope_choices = warehouse.cached(views.scope_choices)

filters = frame.current_filters()
frame.header(frame.t("nav.alerts"), filters, note="rules, subscriptions and what was sent")
user = auth_ui.current_user() if auth_ui.sign_in_required() else None
writer = auth.can_write(user)
path = store.db_path()
try:
    all_rules = views.rule_list(path)
except store.StateFileError as exc:
    st.error(str(exc))
    st.stop()
# A click is kept in session state by its on_click (not the button's one-run value), so a rerun
# the shared frame may trigger before the page reaches the button does not lose it.
action = st.session_state.pop("alerts_action", None)
for text in st.session_state.pop("alerts_flash", []):
    st.success(text)


def request(name: str) -> None:
    st.session_state["alerts_action"] = name


def flash(text: str) -> None:
    st.session_state.setdefault("alerts_flash", []).append(text)
    st.rerun()


def error(exc: Exception) -> None:
    st.error(str(exc))


st.subheader("My subscriptions")
try:
    me = views.person(user)
except people.RecipientError as exc:
    me = None
    st.error(f"{exc} Ask the app's administrator to fix the users file.")
if user is None:
    st.info("Subscriptions belong to a person, so they need sign-in (a users file). While the app runs open, "
            "a rule can still post to a chat webhook of its own (below).")
elif me is not None:
    where = [f"email {me.email}" if me.email else "no email",
             f"chat {me.webhook.masked()}" if me.webhook else "no chat webhook", f"time zone {me.timezone}"]
    st.caption("Delivered to: " + " · ".join(where) + " (from the users file; the administrator changes these).")
    if not me.channels:
        st.warning("You have neither an email address nor a chat webhook in the users file: your alerts are "
                   "shown here only.")
    sub = views.my_subscription(path, me.name)
    names = {r.rule_id: r.name for r in all_rules}
    with st.form("subscription"):
        mode = st.radio("Alerts", list(subscriptions.ALERT_MODES), format_func=subscriptions.ALERT_MODES.get,
                        index=list(subscriptions.ALERT_MODES).index(sub.alerts_mode), horizontal=True,
                        key="sub_mode")
        chosen = st.multiselect("Rules (none chosen: every rule)", list(names), format_func=names.get,
                                default=[r for r in (sub.alert_rules or ()) if r in names], key="sub_rules")
        daily_hour = st.number_input("Daily summary at (hour, your time zone)", 0, 23, sub.daily_hour,
                                     key="sub_daily_hour")
        days = [None, *range(7)]
        weekday = st.selectbox("Weekly digest", days, index=days.index(sub.digest_weekday),
                               format_func=lambda d: "No digest" if d is None else f"{subscriptions.WEEKDAYS[d]}s",
                               key="sub_weekday")
        digest_hour = st.number_input("Digest at (hour, your time zone)", 0, 23, sub.digest_hour, key="sub_digest_hour")
        st.form_submit_button("Save my subscriptions", key="sub_save", on_click=request, args=("save_sub",))
        if action == "save_sub":
            try:
                saved = views.save_subscription(path, subscriptions.Subscription(
                    me.name, mode, tuple(chosen) or None, int(daily_hour), weekday, int(digest_hour)), me)
                flash(f"Saved: {saved.describe()}.")
            except (ValueError, views.NotAllowed) as exc:   # bad input, a busy state file
                error(exc)
    st.caption(f"Now: {sub.describe()}.")
    if me.channels:
        st.button("Send me a test message", key="sub_test", on_click=request, args=("test",))
        if action == "test":
            for ok, text in views.send_test(me):
                (st.success if ok else st.error)(text)
    mine = views.open_alerts(path, user)
    st.subheader("My open alerts")
    if mine.empty:
        st.caption("None open.")
    else:
        st.dataframe(mine.drop(columns=["audience"]), hide_index=True,
                     column_config={"link": st.column_config.LinkColumn("link", display_text="open")})

if writer:
    everyone = views.open_alerts(path, user, see_all=True)
    st.subheader("Open alerts, everyone's")
    if everyone.empty:
        st.caption("None open.")
    else:
        st.dataframe(everyone, hide_index=True,
                     column_config={"link": st.column_config.LinkColumn("link", display_text="open")})

st.subheader("Rules")
rules_df = views.rules_frame(path, user)
if rules_df.empty:
    st.caption("No rules yet." + ("" if writer else " Analysts and admins add them."))
else:
    st.dataframe(rules_df, hide_index=True)
if not writer:
    st.caption("Only analysts and admins change rules.")
else:
    with st.expander("Add a rule", expanded=rules_df.empty):
        kind = st.selectbox("Kind", list(rules.KINDS), format_func=rules.KINDS.get, key="rule_kind")
        choices = scope_choices()
        with st.form("new_rule"):
            name = st.text_input("Name", max_chars=120, key="rule_name")
            params: dict = {}
            if kind == "threshold":
                kpis = list(metrics.KPIS)
                kpi = st.selectbox("KPI", kpis, format_func=lambda n: metrics.KPIS[n].label, key="rule_kpi")
                params["op"] = st.radio("When it is", ["above", "below"], horizontal=True, key="rule_op")
                params["value"] = st.number_input("Value (in the KPI's unit; a percentage as a fraction, 5% = 0.05)",
                                                  value=0.0, format="%.4f", key="rule_value")
                params["grain"] = st.radio("For", ["store", "total"], horizontal=True,
                                           format_func={"store": "each store", "total": "the scope as a whole"}.get,
                                           key="rule_grain")
                params["window_days"] = st.number_input("Over the last days of data", 1, rules.MAX_WINDOW_DAYS, 7,
                                                        key="rule_window")
                params["min_orders"] = st.number_input("Only with at least this many orders in those days", 0,
                                                       10_000_000, 0, key="rule_min_orders")
                params["kpi"] = kpi
            elif kind == "symmetry":
                params["window_days"] = st.number_input("Over the last days of data", 7, rules.MAX_WINDOW_DAYS, 28,
                                                        key="rule_window")
            elif kind == "freshness":
                params["days"] = st.number_input("Alert when nothing was imported for (days)", 1, 365, 2, key="rule_days")
            elif kind == "target_missed":
                params["kpis"] = st.multiselect("KPIs (empty: every KPI with a target)", list(metrics.KPIS),
                                                format_func=lambda k: metrics.KPIS[k].label, key="rule_target_kpis")
                params["weeks"] = st.number_input("Over the last complete weeks", 1, rules.MAX_ANOMALY_WEEKS, 1,
                                                  key="rule_target_weeks")
            elif kind == "anomaly":
                params["kpis"] = st.multiselect("Watch (empty: all)", list(rules.ANOMALY_KPIS), default=list(rules.ANOMALY_KPIS),
                                                format_func=lambda k: rules.ANOMALY_KPIS[k].label, key="rule_watch")
                params["weeks"] = st.number_input("Over the last complete weeks", 1, rules.MAX_ANOMALY_WEEKS, 1,
                                                  key="rule_weeks")
                params["only_worse"] = st.checkbox("Only when worse than usual (orders: both ways)", value=True,
                                                   key="rule_only_worse")
            else:
                params["within_hours"] = st.number_input("Failures of the last (hours)", 1, 24 * 31, 24, key="rule_hours")
            scope = {}
            if kind in ("threshold", "symmetry", "anomaly", "target_missed"):
                st.markdown("Scope (empty: every store; each person's own scope applies on top). It starts "
                            "from the sidebar's filters.")
                scope["stores"] = st.multiselect("Stores", list(choices["stores"]), format_func=choices["stores"].get,
                                                 default=[s for s in filters.stores if s in choices["stores"]],
                                                 key="rule_stores")
                scope["regions"] = st.multiselect("Regions", choices["regions"], key="rule_regions")
                scope["cities"] = st.multiselect("Cities", choices["cities"], key="rule_cities",
                                                 default=[c for c in filters.cities if c in choices["cities"]])
                scope["categories"] = st.multiselect(
                    "Categories", choices["categories"], key="rule_categories",
                    default=[c for c in filters.categories if c in choices["categories"]])
            st.markdown("Also post to a chat webhook of this rule's own (optional)")
            hook_url = st.text_input("Webhook URL", key="hook_url")
            hook_format = st.selectbox("Format", list(people.WEBHOOK_FORMATS), format_func=people.WEBHOOK_FORMATS.get,
                                       key="hook_format")
            hook_secret = st.text_input("Signing secret (DingTalk, Feishu)", type="password", key="hook_secret")
            st.form_submit_button("Add rule", key="rule_add", on_click=request, args=("add_rule",))
            if action == "add_rule":
                try:
                    rule = views.add_rule(path, user, name, kind, params, scope, hook_url, hook_format, hook_secret)
                    flash(f"Added rule {rule.rule_id}: {rule.describe()}.")
                except (ValueError, views.NotAllowed) as exc:
                    error(exc)
    if not rules_df.empty:
        with st.expander("Change a rule"):
            labels = dict(zip(rules_df["id"], rules_df["name"]))
            picked = st.selectbox("Rule", list(labels), format_func=lambda i: f"{i}. {labels[i]}", key="rule_pick")
            left, middle, right = st.columns(3)
            left.button("Enable", key="rule_on", on_click=request, args=("rule_on",))
            middle.button("Disable", key="rule_off", on_click=request, args=("rule_off",))
            right.button("Delete", key="rule_delete", type="primary", on_click=request, args=("rule_delete",))
            try:
                if action == "rule_on":
                    views.set_enabled(path, user, int(picked), True)
                    flash(f"Rule {picked} enabled.")
                if action == "rule_off":
                    views.set_enabled(path, user, int(picked), False)
                    flash(f"Rule {picked} disabled.")
                if action == "rule_delete":
                    views.delete_rule(path, user, int(picked))
                    flash(f"Rule {picked} deleted.")
            except (ValueError, views.NotAllowed) as exc:
                error(exc)

st.subheader("Delivery log")
log = views.delivery_log(path, user, see_all=writer)
if log.empty:
    st.caption("Nothing sent yet.")
else:
    st.dataframe(log, hide_index=True)
    waiting = log[log["status"].isin(["pending", "sending"])]
    if not waiting.empty:
        st.warning(f"{len(waiting)} message(s) not delivered yet; every run of `alerts run`, `digest send` or the "
                   f"scheduler tries again. Last error: {waiting.iloc[0]['last_error'] or 'not tried yet'}")
        if writer:
            drop_id = st.selectbox("Give up on", waiting["id"].tolist(), key="drop_pick",
                                   format_func=lambda i: f"#{i}")
            st.button("Give up on this delivery", key="drop", on_click=request, args=("drop",))
            if action == "drop":
                try:
                    views.drop_delivery(path, user, int(drop_id))
                    flash(f"Delivery #{drop_id} dropped.")
                except (ValueError, views.NotAllowed) as exc:
                    error(exc)
