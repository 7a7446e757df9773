"""Staging SQL as an attacker writes it: every attempt to read beyond the batch's files, write,
change a setting, load an extension or run a second statement is refused with a clear message,
and nothing is written (issue #16)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from o2o_ops import ingest

LOG = "store_id,name,category,city\ns1,Noodle House,restaurant,Hangzhou\n"


def run(tmp_path: Path, sql: str, files: dict[str, str] | None = None) -> list[ingest.Problem]:
    batch = tmp_path / "batch"
    batch.mkdir(exist_ok=True)
    (batch / "log.csv").write_text(LOG)
    for name, text in (files or {}).items():
        (batch / name).write_text(text)
    raw = {"sources": {"log": "log.csv"}, "tables": {"stores": {"sql": sql}}}
    paths = {p.name: p for p in batch.iterdir()}
    sources, _ = ingest.sql_sources(raw, paths, label=str(tmp_path / "attack.toml"))
    return ingest.validate(sources, warehouse=tmp_path / "none.duckdb")


def only_message(problems: list[ingest.Problem]) -> str:
    assert len(problems) == 1, problems
    assert problems[0].kind == "bad_mapping"
    assert problems[0].file == "attack.toml [tables.stores] sql"
    assert "Traceback" not in problems[0].message
    return problems[0].message


def test_the_batch_source_is_readable(tmp_path):
    assert run(tmp_path, "SELECT _row, store_id, name, category, city FROM log") == []


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT content AS store_id FROM read_text('/etc/hostname')",
    "SELECT * FROM read_csv('/etc/*')",
    "SELECT file AS store_id FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('https://example.com/data.parquet')",
    "SELECT * FROM read_csv('http://127.0.0.1:9/orders.csv')",
    "SELECT * FROM read_json('s3://bucket/orders.json')",
])
def test_reading_any_other_file_or_url_is_refused(tmp_path, sql):
    message = only_message(run(tmp_path, sql))
    assert message.startswith("line 1: staging SQL may read only the batch's sources (log): opening files, "
                              "URLs or databases and changing settings are not allowed")


def test_a_path_in_place_of_a_table_is_no_source(tmp_path):
    message = only_message(run(tmp_path, "SELECT * FROM '/etc/passwd'"))
    assert message.startswith("line 1: '/etc/passwd' is not a source of this batch (the sources are: log)")


def test_a_file_of_another_batch_is_not_readable(tmp_path):
    other = tmp_path / "o2o-upload-other-session"
    other.mkdir()
    (other / "orders.csv").write_text("order_id\nsecret\n")
    message = only_message(run(tmp_path, f"SELECT order_id AS store_id FROM read_csv('{other / 'orders.csv'}')"))
    assert "may read only the batch's sources" in message
    # ... nor by naming it as a source: only plain file names of the batch are taken
    raw = {"sources": {"log": str(other / "orders.csv")}, "tables": {"stores": {"sql": "SELECT * FROM log"}}}
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("stores", tmp_path / "batch" / "log.csv", mapping=raw, warehouse=tmp_path / "o2o.duckdb")
    assert "is not a plain file name of the batch" in caught.value.problems[0].message


@pytest.mark.parametrize("sql, word", [
    ("ATTACH '{tmp}/evil.duckdb' AS evil", "found ATTACH (opening another database)"),
    ("COPY (SELECT 1) TO '{tmp}/evil.csv'", "found COPY (reading or writing files)"),
    ("EXPORT DATABASE '{tmp}/evil'", "found EXPORT DATABASE"),
    ("INSTALL httpfs", "found INSTALL/LOAD"),
    ("LOAD httpfs", "found INSTALL/LOAD"),
    ("SET enable_external_access = true", "found SET (changing a setting)"),
    ("RESET lock_configuration", "must be a SELECT"),
    ("PRAGMA enable_profiling", "found PRAGMA"),
    ("CREATE TABLE evil AS SELECT 1", "found CREATE"),
    ("CALL pragma_version()", "found CALL"),
])
def test_statements_other_than_select_are_refused(tmp_path, sql, word):
    message = only_message(run(tmp_path, sql.format(tmp=tmp_path)))
    assert "staging SQL must be a SELECT" in message and word in message
    assert not (tmp_path / "evil.duckdb").exists() and not (tmp_path / "evil.csv").exists()
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM log; ATTACH '{tmp}/evil.duckdb' AS evil",
    "SELECT * FROM log; COPY log TO '{tmp}/evil.csv'",
    "SELECT * FROM log; SELECT * FROM log",
])
def test_a_second_statement_is_refused(tmp_path, sql):
    message = only_message(run(tmp_path, sql.format(tmp=tmp_path)))
    assert "staging SQL must be one SELECT statement; found 2" in message
    assert not (tmp_path / "evil.duckdb").exists() and not (tmp_path / "evil.csv").exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM query('ATTACH ''{tmp}/evil.duckdb'' AS evil')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{tmp}/evil.csv''')",
    "SELECT * FROM query('SET enable_external_access = true')",
])
def test_statements_smuggled_through_query_are_refused(tmp_path, sql):
    message = only_message(run(tmp_path, sql.format(tmp=tmp_path)))
    assert message
    assert not (tmp_path / "evil.duckdb").exists() and not (tmp_path / "evil.csv").exists()


def test_settings_stay_locked_and_external_access_off(tmp_path):
    sql = ("SELECT current_setting('enable_external_access')::VARCHAR AS store_id,\n"
           "       current_setting('lock_configuration')::VARCHAR AS name,\n"
           "       'x' AS category, 'y' AS city")
    sources, _ = ingest.sql_sources({"sources": {"log": "log.csv"}, "tables": {"stores": {"sql": sql}}},
                                    {"log.csv": _log(tmp_path)})
    from o2o_ops.mapping_sql import Sandbox
    box = Sandbox(tmp_path, sources)
    try:
        assert box.load(lambda f, m: None) == []
        result, problems = box.run(sources[0])
        assert problems == []
        assert result.relation.fetchall() == [("false", "true", "x", "y")]
        result.close()
    finally:
        box.close()


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    return path


def test_python_objects_of_the_caller_are_not_scanned(tmp_path):
    secret_frame = pd.DataFrame({"store_id": ["leak"], "name": ["x"], "category": ["y"], "city": ["z"]})  # noqa: F841
    message = only_message(run(tmp_path, "SELECT * FROM secret_frame"))
    assert message.startswith("line 1: 'secret_frame' is not a source of this batch (the sources are: log)")


def test_a_query_past_the_time_limit_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("O2O_QUERY_TIMEOUT_S", "1")
    message = only_message(run(tmp_path, "SELECT count(*)::VARCHAR AS store_id, 'a' AS name, 'b' AS category, "
                                         "'c' AS city FROM range(100000000000) a, range(100) b"))
    assert message == ("the staging SQL ran longer than the limit of 1 s (setting O2O_QUERY_TIMEOUT_S) "
                       "and was stopped")


def test_nothing_is_written_when_staging_sql_is_refused(tmp_path):
    wh = tmp_path / "o2o.duckdb"
    log = _log(tmp_path)
    ingest.import_file("stores", log, warehouse=wh)
    before = hashlib.sha256(wh.read_bytes()).hexdigest()
    raw = {"sources": {"log": "log.csv"},
           "tables": {"stores": {"sql": f"SELECT * FROM log; COPY log TO '{tmp_path}/evil.csv'"}}}
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_file("stores", log, mapping=raw, warehouse=wh)
    assert caught.value.counts == {"bad_mapping": 1}
    assert hashlib.sha256(wh.read_bytes()).hexdigest() == before
    assert not (tmp_path / "evil.csv").exists()
