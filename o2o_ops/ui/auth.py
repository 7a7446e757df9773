"""The app's side of sign-in: the sign-in form, single sign-on, the session's scope, sign-out.

``require_user()`` runs on every click before navigation. It leaves in ``st.session_state``:

- ``o2o_user``: ``{"name", "role", "stores", "regions", "source"}`` of the signed-in user;
- ``o2o_scope``: ``{"stores": [...] | None, "regions": [...] | None}``, which
  ``frame.apply_scope`` ANDs into every :class:`~o2o_ops.filters.Filters`, so every query carries
  it as bound parameters.

The user's role and scope are read again from the users file on every click, so removing a user
or changing their stores takes effect at once. With no users file and no ``[auth]`` secrets the
app runs open (the demo) and says so in the sidebar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from o2o_ops import auth
from o2o_ops.text import md
from o2o_ops.ui import warehouse

USER_KEY = "o2o_user"
SCOPE_KEY = "o2o_scope"
SIGNED_IN_AT_KEY = "o2o_signed_in_at"
SEEN_AT_KEY = "o2o_seen_at"
MESSAGE_KEY = "o2o_auth_message"
OPEN_NOTE = "Open demo: no sign-in configured"
OPEN_WRITE_NOTE = "Everyone who can open this app can import data and change the warehouse."

_visible_stores = warehouse.cached(auth.visible_stores)


def oidc_configured() -> bool:
    """Whether the deployment configured Streamlit's OIDC sign-in (an ``[auth]`` secrets section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no or unreadable secrets.toml simply means no OIDC
        return False


def sign_in_required() -> bool:
    return auth.is_configured() or oidc_configured()


def client_address() -> str | None:
    """The browser's IP address as Streamlit sees the connection (None for localhost).

    Sign-in failures are counted per name and this address. Behind a reverse proxy every
    browser has the proxy's address; see the README.
    """
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context (bare mode): counted as local
        return None
    return address if isinstance(address, str) and address else None   # AppTest hands back a mock


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _set_user(user: auth.User, *, fresh: bool) -> None:
    stores, regions = auth.scope_for(user)
    st.session_state[USER_KEY] = user.as_dict()
    st.session_state[SCOPE_KEY] = {"stores": list(stores) if stores is not None else None,
                                   "regions": list(regions) if regions is not None else None}
    now = _now()
    if fresh or SIGNED_IN_AT_KEY not in st.session_state:
        st.session_state[SIGNED_IN_AT_KEY] = now
    st.session_state[SEEN_AT_KEY] = now


def _clear_session(message: str | None = None) -> None:
    """Forget everything this session knew, including filters chosen under the old scope."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if message:
        st.session_state[MESSAGE_KEY] = message


def _oidc_claims() -> dict[str, Any] | None:
    if not oidc_configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        return st.user.to_dict()
    except AttributeError:
        return None


def current_user() -> auth.User | None:
    """The signed-in user, revalidated (timeout, users file); None when nobody is signed in."""
    info = st.session_state.get(USER_KEY)
    if not info:
        claims = _oidc_claims()
        if claims is None:
            return None
        try:
            user = auth.user_from_claims(claims)
        except auth.AuthError as exc:
            st.session_state[MESSAGE_KEY] = str(exc)
            return None
        _set_user(user, fresh=True)
        return user
    now = _now()
    signed_in_at = st.session_state.get(SIGNED_IN_AT_KEY, now)
    seen_at = st.session_state.get(SEEN_AT_KEY, now)
    if auth.session_expired(signed_in_at, seen_at, now, auth.session_rules()):
        sign_out("Your session timed out. Sign in again to continue.")
        return None
    try:
        if info.get("source") == "oidc":
            claims = _oidc_claims()
            if claims is None:
                raise auth.AuthError("Your single sign-on session ended.")
            user = auth.user_from_claims(claims, record=False)
        else:
            user = auth.get_user(str(info.get("name", "")))
    except auth.AuthError as exc:
        sign_out(f"You were signed out: {exc}")
        return None
    _set_user(user, fresh=False)
    return user


def sign_out(message: str | None = None) -> None:
    was_oidc = (st.session_state.get(USER_KEY) or {}).get("source") == "oidc"
    _clear_session(message)
    if was_oidc:
        st.logout()  # also drops the identity cookie; starts a new session


def _role_label(user: auth.User) -> str:
    from o2o_ops.ui.frame import language, t
    label = user.role.replace("_", " ") if language() == "en" else t(f"auth.role_{user.role}")
    stores = lambda n: t("auth.one_store" if n == 1 else "auth.stores", count=n)  # noqa: E731
    if user.role == "store_manager":
        label += f" · {stores(len(user.stores))}"
    elif user.role == "regional_manager":
        label += f" · {', '.join(user.regions)}"
        if user.stores:
            label += f" + {stores(len(user.stores))}"
    return label


def _sidebar_user(user: auth.User) -> None:
    from o2o_ops.ui.frame import t
    sb = st.sidebar
    sb.caption(t("auth.signed_in_as", name=md(user.name), role=md(_role_label(user))))
    sb.button(t("auth.sign_out"), key="o2o_sign_out", icon=":material/logout:", on_click=sign_out,
              args=(t("auth.signed_out"),))


def _sign_in_page() -> None:
    from o2o_ops.ui.frame import t
    st.title(t("auth.title"))
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.info(message)
    if auth.is_configured():
        uf = auth.load()
        if uf.users:
            with st.form("o2o_sign_in", clear_on_submit=True):
                name = st.text_input(t("auth.user_name"), key="signin_name", autocomplete="username")
                password = st.text_input(t("auth.password"), type="password", key="signin_password",
                                         autocomplete="current-password")
                submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
            if submitted:
                try:
                    user = auth.verify(name, password, client=client_address())
                except auth.SignInRefused as exc:
                    st.error(str(exc))
                else:
                    _clear_session()
                    _set_user(user, fresh=True)
                    st.rerun()
        elif not oidc_configured():
            st.info(t("auth.no_users"))
    if oidc_configured():
        st.button(t("auth.sso"), key="o2o_sso", icon=":material/key:", on_click=st.login)
    st.caption(t("auth.roles"))


def require_user() -> bool:
    """Gate the app: True when the page may run (someone signed in, or the app runs open)."""
    if not sign_in_required():
        st.session_state.pop(USER_KEY, None)
        st.session_state.pop(SCOPE_KEY, None)
        from o2o_ops.ui.frame import t
        st.sidebar.caption(t("auth.open_note"), help=t("auth.open_help"))
        return True
    try:
        user = current_user()
    except auth.AuthError as exc:  # a broken users file: fail closed, say what to fix
        st.error(str(exc))
        return False
    if user is None:
        # A navigation with only the sign-in page: no page of the app is reachable, not even
        # through Streamlit's pages/ directory fallback, until someone signs in.
        from o2o_ops.ui.frame import t
        st.navigation([st.Page(_sign_in_page, title=t("auth.sign_in"), icon=":material/login:", url_path="signin")],
                      position="hidden").run()
        return False
    _sidebar_user(user)
    return True


def page_allowed() -> bool:
    """For a page about to query: True when the session may see data; else show the sign-in form.

    Normally ``require_user`` has already decided, but Streamlit runs a page script on its own
    when it falls back to the ``pages/`` directory (a deep link on a fresh server, AppTest
    reruns); this keeps such a run behind the same sign-in, timeout and users-file checks.
    """
    if not sign_in_required():
        return True
    try:
        if current_user() is not None:
            return True
    except auth.AuthError as exc:
        st.error(str(exc))
        return False
    _sign_in_page()
    return False


def session_user() -> auth.User | None:
    """The signed-in user of this session as last checked by ``require_user`` (None: nobody,
    or the app runs open)."""
    info = st.session_state.get(USER_KEY) or {}
    if not info.get("role"):
        return None
    return auth.User(str(info.get("name", "")), str(info["role"]), tuple(info.get("stores") or ()),
                     tuple(info.get("regions") or ()), str(info.get("source", "password")))


def can_write() -> bool:
    """Whether this session may change the warehouse: :func:`o2o_ops.auth.can_write` of the
    signed-in user, re-read from the users file now (a role taken away applies at once); True
    while the app runs open. Nobody signed in, with sign-in required, may not."""
    if not sign_in_required():
        return auth.can_write(None)
    try:
        user = current_user()
    except auth.AuthError:
        return False
    return user is not None and auth.can_write(user)


def can_see_orders() -> bool:
    """Order-level rows are for analysts (everyone, while the app runs open)."""
    if not sign_in_required():
        return True
    info = st.session_state.get(USER_KEY) or {}
    return info.get("role") in auth.ORDER_ROLES


def scoped_choices(choices: dict[str, Any]) -> dict[str, Any]:
    """Sidebar choices limited to the session's scope, so nobody can even pick another's store."""
    scope = st.session_state.get(SCOPE_KEY)
    if not scope or (scope.get("stores") is None and scope.get("regions") is None):
        return choices
    stores = tuple(scope["stores"]) if scope.get("stores") is not None else None
    regions = tuple(scope["regions"]) if scope.get("regions") is not None else None
    visible = _visible_stores(stores, regions)
    out = dict(choices)
    ids = visible["store_id"].tolist()
    out["stores"] = ids
    out["store_names"] = dict(zip(visible["store_id"], visible["name"]))
    for key, column in (("cities", "city"), ("districts", "district"), ("categories", "category")):
        out[key] = sorted({v for v in visible[column].tolist() if isinstance(v, str)})
    if "regions" in choices:
        out["regions"] = sorted({v for v in visible["region"].tolist() if isinstance(v, str)})
    return out
