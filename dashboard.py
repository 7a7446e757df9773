"""o2o-ops: the router and shared frame. Page config, first-start build, shared sidebar filters,
navigation. Everything else lives in pages/ and o2o_ops/.

Run: streamlit run dashboard.py
"""

import streamlit as st

from o2o_ops.ui import auth as auth_ui, frame

st.set_page_config(page_title="o2o-ops", page_icon=":material/storefront:", layout="wide")

# The reader's language (?lang=, the sidebar switch, else O2O_LANG / the browser) names the pages.
t = frame.t

# The default page is served at "/" (its own url_path is reserved but not routed), so /overview
# is a hidden alias that forwards to it with the link's query parameters.
OVERVIEW = st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:",
                   url_path="weekly-overview", default=True)


def _overview_alias() -> None:
    """The landing page lives at "/"; an /overview link (bookmarks, reports) lands there too."""
    st.switch_page(OVERVIEW, query_params={k: st.query_params.get_all(k) for k in st.query_params})


PAGES = {
    t("nav.weekly"): [
        OVERVIEW,
        st.Page(_overview_alias, title=t("nav.overview"), url_path="overview", visibility="hidden"),
    ],
    t("nav.operations"): [
        st.Page("pages/quality.py", title=t("nav.quality"), icon=":material/thumb_up:", url_path="quality"),
        st.Page("pages/cost.py", title=t("nav.cost"), icon=":material/payments:", url_path="cost"),
        st.Page("pages/efficiency.py", title=t("nav.efficiency"), icon=":material/speed:", url_path="efficiency"),
        st.Page("pages/symmetry.py", title=t("nav.symmetry"), icon=":material/balance:", url_path="symmetry"),
        st.Page("pages/map.py", title=t("nav.map"), icon=":material/map:", url_path="map"),
        st.Page("pages/campaigns.py", title=t("nav.campaigns"), icon=":material/campaign:", url_path="campaigns"),
    ],
    t("nav.reference"): [
        st.Page("pages/data.py", title=t("nav.data"), icon=":material/database:", url_path="data"),
        st.Page("pages/definitions.py", title=t("nav.definitions"), icon=":material/menu_book:", url_path="definitions"),
        st.Page("pages/alerts.py", title=t("nav.alerts"), icon=":material/notifications:", url_path="alerts"),
    ],
}

# Until the real navigation below, no page list: Streamlit would otherwise show its legacy list of
# pages/ files beside the first-start build and the sign-in form.
st.navigation(PAGES, position="hidden")

with frame.error_boundary("the app's frame"):  # sign-in and first start; routed_run guards the rest
    if frame.ensure_warehouse():
        if not auth_ui.require_user():
            st.stop()
        page = st.navigation(PAGES)
        frame.routed_run(page)  # the sidebar filters and the page, inside one error boundary
