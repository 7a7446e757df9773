"""Alerts: my subscriptions (alerts immediately or daily, the weekly digest), my open alerts, the
rules (changed by analysts and admins only) and the delivery log."""

import streamlit as st

from o2o_ops import auth, i18n, metrics, text
from o2o_ops.alerts import people, rules, store, subscriptions, views
from o2o_ops.ui import auth as auth_ui, frame, warehouse

scope_choices = warehouse.cached(views.scope_choices)
lang = frame.language()   # taken once: widgets' format functions run later, outside this run too


def t(key: str, **values) -> str:
    return i18n.t(key, lang, **values)


def headed(*columns: str, **extra) -> dict:
    """Column headings in the reader's language (the frames keep their names for the CSV)."""
    return {c: t(f"alerts.col_{c}") for c in columns} | extra


def link_column() -> dict:
    return {"link": st.column_config.LinkColumn(t("alerts.col_link"), display_text=t("alerts.open"))}

filters = frame.current_filters()
frame.header(frame.t("nav.alerts"), filters, note=t("alerts.note"))
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


st.subheader(t("alerts.my_subscriptions"))
try:
    me = views.person(user)
except people.RecipientError as exc:
    me = None
    st.error(t("alerts.fix_users_file", why=exc))
if user is None:
    st.info(t("alerts.need_sign_in"))
elif me is not None:
    where = [t("alerts.email", email=me.email) if me.email else t("alerts.no_email"),
             t("alerts.chat", hook=me.webhook.masked()) if me.webhook else t("alerts.no_chat"),
             t("alerts.time_zone", zone=me.timezone)]
    st.caption(t("alerts.delivered_to", where=" · ".join(where)))
    if not me.channels:
        st.warning(t("alerts.no_channels"))
    sub = views.my_subscription(path, me.name)
    names = {r.rule_id: r.name for r in all_rules}
    with st.form("subscription"):
        mode = st.radio(t("alerts.alerts"), list(subscriptions.ALERT_MODES), format_func=lambda m: t(f"alerts.mode_{m}"),
                        index=list(subscriptions.ALERT_MODES).index(sub.alerts_mode), horizontal=True,
                        key="sub_mode")
        chosen = st.multiselect(t("alerts.rules_chosen"), list(names), format_func=names.get,
                                default=[r for r in (sub.alert_rules or ()) if r in names], key="sub_rules")
        daily_hour = st.number_input(t("alerts.daily_at"), 0, 23, sub.daily_hour,
                                     key="sub_daily_hour")
        days = [None, *range(7)]
        weekday = st.selectbox(t("alerts.weekly_digest"), days, index=days.index(sub.digest_weekday),
                               format_func=lambda d: t("alerts.no_digest") if d is None else t(f"alerts.day_{d}"),
                               key="sub_weekday")
        digest_hour = st.number_input(t("alerts.digest_at"), 0, 23, sub.digest_hour, key="sub_digest_hour")
        st.form_submit_button(t("alerts.save_subscriptions"), key="sub_save", on_click=request, args=("save_sub",))
        if action == "save_sub":
            try:
                saved = views.save_subscription(path, subscriptions.Subscription(
                    me.name, mode, tuple(chosen) or None, int(daily_hour), weekday, int(digest_hour)), me)
                flash(t("alerts.saved", what=saved.describe(lang)))
            except (ValueError, views.NotAllowed) as exc:   # bad input, a busy state file
                error(exc)
    st.caption(t("alerts.now", what=sub.describe(lang)))
    if me.channels:
        st.button(t("alerts.send_test"), key="sub_test", on_click=request, args=("test",))
        if action == "test":
            for ok, text in views.send_test(me):
                (st.success if ok else st.error)(text)
    mine = views.open_alerts(path, user)
    st.subheader(t("alerts.my_open"))
    if mine.empty:
        st.caption(t("alerts.none_open"))
    else:
        st.dataframe(mine.drop(columns=["audience"]), hide_index=True,
                     column_config=headed("opened_at", "rule", "summary", **link_column()))

if writer:
    everyone = views.open_alerts(path, user, see_all=True)
    st.subheader(t("alerts.everyones"))
    if everyone.empty:
        st.caption(t("alerts.none_open"))
    else:
        st.dataframe(everyone, hide_index=True,
                     column_config=headed("opened_at", "audience", "rule", "summary", **link_column()))

st.subheader(t("alerts.rules"))
rules_df = views.rules_frame(path, user, lang, warehouse.connection())
if rules_df.empty:
    st.caption(t("alerts.no_rules") + ("" if writer else t("alerts.analysts_add")))
else:
    st.dataframe(rules_df.assign(kind=[t(f"alerts.kind_short_{k}") for k in rules_df["kind"]],
                                 **{"created by": [t("alerts.open_demo") if c == views.OPEN_DEMO else c
                                                   for c in rules_df["created by"]]}), hide_index=True,
                 column_config=headed("id", "name", "checks", "kind", "enabled", "webhook",
                                       **{"created by": t("alerts.col_created_by"),
                                          "blind to": t("alerts.col_blind_to")}))
    blind = rules_df[rules_df["blind to"].astype(bool)]
    if not blind.empty:
        st.warning("\n".join([t("alerts.blind_warning"), ""] + [
            "- " + t("alerts.blind_rule", name=text.md(name), what=text.md(what))
            for name, what in zip(blind["name"], blind["blind to"])]), icon="🙈")
if not writer:
    st.caption(t("alerts.only_analysts"))
else:
    with st.expander(t("alerts.add_a_rule"), expanded=rules_df.empty):
        kind = st.selectbox(t("alerts.kind"), list(rules.KINDS), format_func=lambda k: t(f"alerts.kind_{k}"),
                            key="rule_kind")
        choices = scope_choices()
        with st.form("new_rule"):
            name = st.text_input(t("alerts.name"), max_chars=120, key="rule_name")
            params: dict = {}
            if kind == "threshold":
                kpis = list(metrics.KPIS)
                kpi = st.selectbox(t("alerts.kpi"), kpis, format_func=lambda n: i18n.kpi_label(n, lang), key="rule_kpi")
                params["op"] = st.radio(t("alerts.when_it_is"), ["above", "below"], horizontal=True, key="rule_op",
                                        format_func=lambda op: t(f"alerts.op_{op}"))
                params["value"] = st.number_input(t("alerts.value"), value=0.0, format="%.4f", key="rule_value")
                params["grain"] = st.radio(t("alerts.for"), ["store", "total"], horizontal=True,
                                           format_func=lambda g: t(f"alerts.grain_{g}"), key="rule_grain")
                params["window_days"] = st.number_input(t("alerts.window"), 1, rules.MAX_WINDOW_DAYS, 7,
                                                        key="rule_window")
                params["min_orders"] = st.number_input(t("alerts.min_orders"), 0, 10_000_000, 0, key="rule_min_orders")
                params["kpi"] = kpi
            elif kind == "symmetry":
                params["window_days"] = st.number_input(t("alerts.window"), 7, rules.MAX_WINDOW_DAYS, 28,
                                                        key="rule_window")
            elif kind == "freshness":
                params["days"] = st.number_input(t("alerts.fresh_days"), 1, 365, 2, key="rule_days")
            elif kind == "target_missed":
                params["kpis"] = st.multiselect(t("alerts.target_kpis"), list(metrics.KPIS),
                                                format_func=lambda k: i18n.kpi_label(k, lang), key="rule_target_kpis")
                params["weeks"] = st.number_input(t("alerts.weeks"), 1, rules.MAX_ANOMALY_WEEKS, 1,
                                                  key="rule_target_weeks")
            elif kind == "anomaly":
                params["kpis"] = st.multiselect(t("alerts.watch"), list(rules.ANOMALY_KPIS), default=list(rules.ANOMALY_KPIS),
                                                format_func=lambda k: t(f"anomaly.kpi_{k}"), key="rule_watch")
                params["weeks"] = st.number_input(t("alerts.weeks"), 1, rules.MAX_ANOMALY_WEEKS, 1,
                                                  key="rule_weeks")
                params["only_worse"] = st.checkbox(t("alerts.only_worse"), value=True,
                                                   key="rule_only_worse")
            else:
                params["within_hours"] = st.number_input(t("alerts.within_hours"), 1, 24 * 31, 24, key="rule_hours")
            scope = {}
            if kind in ("threshold", "symmetry", "anomaly", "target_missed"):
                st.markdown(t("alerts.scope"))
                scope["stores"] = st.multiselect(t("alerts.stores"), list(choices["stores"]), format_func=choices["stores"].get,
                                                 default=[s for s in filters.stores if s in choices["stores"]],
                                                 key="rule_stores")
                scope["regions"] = st.multiselect(t("alerts.regions"), choices["regions"], key="rule_regions")
                scope["cities"] = st.multiselect(t("alerts.cities"), choices["cities"], key="rule_cities",
                                                 default=[c for c in filters.cities if c in choices["cities"]])
                scope["categories"] = st.multiselect(
                    t("alerts.categories"), choices["categories"], key="rule_categories",
                    format_func=lambda c: i18n.value_label("category", c, lang),
                    default=[c for c in filters.categories if c in choices["categories"]])
            st.markdown(t("alerts.also_webhook"))
            hook_url = st.text_input(t("alerts.webhook_url"), key="hook_url")
            hook_format = st.selectbox(t("alerts.format"), list(people.WEBHOOK_FORMATS),
                                       format_func=lambda f: t(f"alerts.format_{f}"), key="hook_format")
            hook_secret = st.text_input(t("alerts.secret"), type="password", key="hook_secret")
            st.form_submit_button(t("alerts.add_rule"), key="rule_add", on_click=request, args=("add_rule",))
            if action == "add_rule":
                try:
                    rule = views.add_rule(path, user, name, kind, params, scope, hook_url, hook_format, hook_secret)
                    flash(t("alerts.added", id=rule.rule_id, what=rule.describe(lang=lang)))
                except (ValueError, views.NotAllowed) as exc:
                    error(exc)
    if not rules_df.empty:
        with st.expander(t("alerts.change_rule")):
            labels = dict(zip(rules_df["id"], rules_df["name"]))
            picked = st.selectbox(t("alerts.rule"), list(labels), format_func=lambda i: f"{i}. {labels[i]}", key="rule_pick")
            left, middle, right = st.columns(3)
            left.button(t("alerts.enable"), key="rule_on", on_click=request, args=("rule_on",))
            middle.button(t("alerts.disable"), key="rule_off", on_click=request, args=("rule_off",))
            right.button(t("alerts.delete"), key="rule_delete", type="primary", on_click=request, args=("rule_delete",))
            try:
                if action == "rule_on":
                    views.set_enabled(path, user, int(picked), True)
                    flash(t("alerts.enabled", id=picked))
                if action == "rule_off":
                    views.set_enabled(path, user, int(picked), False)
                    flash(t("alerts.disabled", id=picked))
                if action == "rule_delete":
                    views.delete_rule(path, user, int(picked))
                    flash(t("alerts.deleted", id=picked))
            except (ValueError, views.NotAllowed) as exc:
                error(exc)

st.subheader(t("alerts.delivery_log"))
log = views.delivery_log(path, user, see_all=writer)
if log.empty:
    st.caption(t("alerts.nothing_sent"))
else:
    st.dataframe(log, hide_index=True, column_config=headed("id", "queued_at", "kind", "audience", "channel", "subject",
                                                            "status", "tries", "sent_at", "last_error"))
    waiting = log[log["status"].isin(["pending", "sending"])]
    if not waiting.empty:
        st.warning(t("alerts.not_delivered", count=len(waiting),
                     error=waiting.iloc[0]["last_error"] or t("alerts.not_tried")))
        if writer:
            drop_id = st.selectbox(t("alerts.give_up_on"), waiting["id"].tolist(), key="drop_pick",
                                   format_func=lambda i: f"#{i}")
            st.button(t("alerts.give_up"), key="drop", on_click=request, args=("drop",))
            if action == "drop":
                try:
                    views.drop_delivery(path, user, int(drop_id))
                    flash(t("alerts.dropped", id=drop_id))
                except (ValueError, views.NotAllowed) as exc:
                    error(exc)
