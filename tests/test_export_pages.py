"""Every page on warehouses made the way real users make them from public exports: the three
look-alike exports of tests/fixtures/mapping imported with the example mappings (a coupon log:
no coordinates, reviews, costs or prices; a review listing: no campaigns, redemptions or costs;
a marketplace: no campaigns or costs), and all three into one warehouse after another. In English
and Chinese: no exception, no error, nothing reading nan / None, no English word left on a Chinese
page but the data's own, and a measure whose data was never imported reads "not provided", never
0."""

from __future__ import annotations

import re

import duckdb
import pytest

from apptest_util import leaks, open_link
from o2o_ops import ingest
from test_i18n_pages import english_words, visible_texts

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = Path(__file__).parent / "fixtures" / "mapping"
MAPPINGS = {"coupon": "coupon_platform.toml", "listing": "review_site.toml", "marketplace": "marketplace.toml"}
PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py", "pages/symmetry.py",
         "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``exported(name)``: a warehouse of one export (or "all three", in turn), built once."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            wh = tmp_path_factory.mktemp(name.replace(" ", "-")) / "o2o.duckdb"
            for export in (MAPPINGS if name == "all three" else (name,)):
                ingest.import_dir(EXPORTS / export, mapping=ROOT / "examples" / "mappings" / MAPPINGS[export],
                                  warehouse=wh, imported_by="tests")
            built[name] = wh
        return built[name]

    return get


def data_words(warehouse: Path) -> set[str]:
    """Every word of the warehouse's text values (names, ids, cities): data, shown as it is."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out: set[str] = set()
        for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                         "WHERE data_type = 'VARCHAR' AND schema_name = 'main'").fetchall():
            for (value,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}" LIMIT 5000').fetchall():
                out |= set(re.findall(r"[A-Za-z][A-Za-z0-9]*", value or ""))
        return out
    finally:
        con.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("export", ["coupon", "listing", "marketplace", "all three"])
def test_every_page_on_a_warehouse_made_from_an_export(export, page, lang, exported, monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")   # the samples' stores have 1-3 reviews: judge them all
    wh = exported(export)
    at = open_link(page, wh, {"lang": lang})
    assert not at.exception, at.exception[0].message if at.exception else ""
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert not leaks(at), leaks(at)
    if lang == "zh":
        data = data_words(wh)
        texts = [re.sub(r"\]\([^)]*\)", "]", t) for t in visible_texts(at)]   # a link's target is not read
        left = {t: w for t in texts if (w := [x for x in english_words(t) if x not in data])}
        assert not left, left


@pytest.mark.parametrize("export, not_provided", [
    ("coupon", ("Average rating", "Refund rate", "Cost per redemption", "ROI")),
    ("listing", ("Redemption rate", "Refund rate", "Cost per redemption", "ROI")),
    ("marketplace", ("Refund rate", "Cost per redemption", "ROI")),
])
def test_the_overview_says_what_an_export_did_not_provide(export, not_provided, exported):
    at = open_link("pages/overview.py", exported(export))
    cards = {m.label: m for m in at.metric}
    for label in not_provided:
        assert cards[label].value == "—" and cards[label].proto.delta == "Not provided", (label, cards[label].value)


def test_uploading_an_export_on_the_chinese_data_page(tmp_path, monkeypatch):
    """The marketplace export and its mapping uploaded on a Chinese Data page: what the staging
    SQL fills and the ready-to-import line name the tables in Chinese (they read 'stores,
    customers, orders …' in the middle of Chinese sentences), and nothing else is English but
    file names."""
    from o2o_ops.i18n import catalogue
    from tiny import build_tiny

    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    at = open_link("pages/data.py", build_tiny(tmp_path / "o2o.duckdb"), {"lang": "zh"})
    at.file_uploader(key="data_files_0").set_value(
        [(p.name, p.read_bytes(), "text/csv") for p in sorted((EXPORTS / "marketplace").iterdir())])
    at.file_uploader(key="data_mapping_0").set_value(
        ("marketplace.toml", (ROOT / "examples" / "mappings" / "marketplace.toml").read_bytes(), "application/toml"))
    at.run()
    assert not at.exception and not at.error
    (filled,) = [i.value for i in at.info if "暂存 SQL" in i.value]
    tables = "，".join(catalogue.WORDS[f"data.table_{t}"][1] for t in ("stores", "customers", "orders", "redemptions",
                                                                        "reviews"))
    assert tables in filled
    assert [s.value for s in at.success] == [
        f"没有发现问题：{catalogue.WORDS['data.table_stores'][1]} 3 行，" + "，".join(
            f"{catalogue.WORDS[f'data.table_{t}'][1]} {n} 行" for t, n in (("customers", 4), ("orders", 5),
                                                                           ("redemptions", 3), ("reviews", 5)))
        + "。可以导入。"]
    left = {t: w for t in visible_texts(at) if (w := english_words(t))}
    assert not left, left


def test_a_second_download_of_an_export_file_is_not_taken_for_a_table(tmp_path, monkeypatch):
    """The browser saved olist_orders_dataset.csv twice: the copy '(1)' was guessed to be the
    orders table, which the mapping's SQL fills, and the batch refused twice over with 'orders is
    given more than once in this batch'. It now waits for the user to say what it is."""
    from o2o_ops import importing_view
    from tiny import build_tiny

    assert importing_view.guess_table("olist_orders_dataset (1).csv") == "orders"
    assert importing_view.guess_table("olist_orders_dataset (1).csv", taken=["stores", "orders"]) is None
    monkeypatch.setenv("O2O_USERS_FILE", str(tmp_path / "no-users.toml"))
    at = open_link("pages/data.py", build_tiny(tmp_path / "o2o.duckdb"))
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted((EXPORTS / "marketplace").iterdir())]
    at.file_uploader(key="data_files_0").set_value(
        files + [("olist_orders_dataset (1).csv", (EXPORTS / "marketplace" / "olist_orders_dataset.csv").read_bytes(),
                  "text/csv")])
    at.file_uploader(key="data_mapping_0").set_value(
        ("marketplace.toml", (ROOT / "examples" / "mappings" / "marketplace.toml").read_bytes(), "application/toml"))
    at.run()
    assert not at.exception and not at.error
    (picker,) = [s for s in at.selectbox if s.key and s.key.startswith("data_table_")]
    assert picker.value is None
    assert not [b for b in at.button if b.label == "Import"]
