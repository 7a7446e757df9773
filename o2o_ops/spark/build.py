"""``build --engine spark``: read the contract tables from a Parquet source, run every build step
(:func:`o2o_ops.portable.build_steps`, rendered for Spark by :func:`o2o_ops.portable.to_spark`),
write each derived table as a folder of Parquet files, then the manifest.

Each step's result is written and read back before the next step reads it, so a step reads files,
not a growing plan. Timestamps are naive (DuckDB's TIMESTAMP is Spark's TIMESTAMP_NTZ) and the
session time zone is UTC, so no value shifts between the engines.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from o2o_ops import config, db, lake, portable

JAVA_HINT = ("Install Java 17 (Debian: `apt-get install -y openjdk-17-jre-headless`, which "
             "`bash scripts/setup.sh --with-spark` does) or point JAVA_HOME at a Java 17+ runtime.")


class SparkUnavailable(db.WarehouseError):
    """pyspark or Java is missing or too old; the message says what to install."""


def java_version() -> int:
    """The major version of the Java that Spark would start; :class:`SparkUnavailable` if none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SparkUnavailable(f"The Spark build needs Java, and none was found"
                               f"{' at JAVA_HOME=' + home if home else ' on the PATH'}. {JAVA_HINT}")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SparkUnavailable(f"Java at {java} does not start ({exc}). {JAVA_HINT}") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise SparkUnavailable(f"Cannot tell the version of the Java at {java}. {JAVA_HINT}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def _pyspark():
    try:
        import pyspark
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("The Spark build needs pyspark, which is not installed. Install the pinned "
                               "version: `.venv/bin/pip install -r requirements.txt` (or "
                               "`bash scripts/setup.sh --with-spark`).") from None
    return pyspark, SparkSession


# For small lakes (tests, a laptop): Spark's defaults are tuned for long jobs over big data, and on
# 20,000 orders most of the CPU goes to compiling (the JIT's optimising tier, whole-stage code
# generation of every new query shape). Same results, less start-up work.
SMALL_DATA_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def session(master: str | None = None, *, shuffle_partitions: int | None = None, app_name: str = "o2o-ops build",
            conf: dict[str, str] | None = None):
    """A SparkSession on ``master`` (default: setting ``O2O_SPARK_MASTER``); with the UI off, the
    session time zone UTC and ``shuffle_partitions`` (default: setting ``O2O_SPARK_SHUFFLE_PARTITIONS``);
    ``conf`` adds Spark settings (e.g. :data:`SMALL_DATA_CONF`).

    Under ``spark-submit`` (which starts the JVM and sets its master) no master is set here
    unless one is passed, so spark-submit's ``--master`` wins."""
    _, SparkSession = _pyspark()
    major = java_version()
    if major < 17:
        raise SparkUnavailable(f"Spark 4 needs Java 17 or newer; the Java found is {major}. {JAVA_HINT}")
    under_submit = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))   # spark-submit started the JVM for us
    if master is None and not under_submit:
        master = config.get("O2O_SPARK_MASTER")
    partitions = shuffle_partitions or config.get_int("O2O_SPARK_SHUFFLE_PARTITIONS")
    builder = (SparkSession.builder.appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true"))
    if not under_submit:
        # Spark's 1 GiB default driver could not broadcast a join side of the 10-million-order
        # lake (quality_orphans); only takes effect when this call starts the JVM
        builder = builder.config("spark.driver.memory", config.get("O2O_SPARK_DRIVER_MEMORY"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    if master:
        builder = builder.master(master)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:   # py4j / Java gateway failures arrive as several exception types
        raise SparkUnavailable(f"Spark did not start on master {master!r}: {str(exc).splitlines()[0]}. "
                               f"Check the master URL and that Java 17+ runs. {JAVA_HINT}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_lake(spark, folder: Path, tables) -> None:
    """Each table of ``folder`` as a temporary view of the same name."""
    for table in tables:
        path = lake.table_source(folder, table)
        if path is None:
            raise lake.LakeError(f"The lake {folder} has no table {table}.")
        spark.read.parquet(str(path)).createOrReplaceTempView(table)


def build(source: str | os.PathLike, out: str | os.PathLike, *, master: str | None = None,
          shuffle_partitions: int | None = None, spark=None,
          progress: Callable[[str, float], None] | None = None) -> dict:
    """Build every derived table on Spark from the contract tables in ``source``; write each to
    ``out/<table>/`` and the manifest last. Pass ``spark`` to reuse a session (tests, notebooks).
    Returns the manifest."""
    source = lake.check_source(source)
    out = lake._prepare_out(out, source)
    started = time.perf_counter()
    own = spark is None
    if own:
        spark = session(master, shuffle_partitions=shuffle_partitions)
    try:
        session_s = round(time.perf_counter() - started, 3)
        register_lake(spark, source, db.CONTRACT_TABLES)
        if lake.table_source(source, lake.IMPORT_LOG) is not None:
            register_lake(spark, source, (lake.IMPORT_LOG,))
        else:   # what the coverage table reads; a lake from another pipeline has no import log
            spark.sql(lake.EMPTY_IMPORT_LOG.replace("VARCHAR", "STRING")).createOrReplaceTempView(lake.IMPORT_LOG)
        as_of = spark.sql("SELECT CAST(max(ordered_at) AS STRING) FROM orders").collect()[0][0]
        seconds = {}
        for step in portable.build_steps():
            t0 = time.perf_counter()
            try:
                frame = spark.sql(portable.to_spark(step.query))
                target = out / step.table
                frame.write.mode("overwrite").parquet(str(target))
            except portable.PortabilityError:
                raise
            except Exception as exc:   # AnalysisException, Py4JJavaError: say which step, no traceback
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise db.WarehouseError(f"The Spark build failed at {step.table} ({step.file}): {first[:500]}. "
                                        f"Nothing was assembled; {out} holds no manifest.") from exc
            spark.read.parquet(str(target)).createOrReplaceTempView(step.table)
            seconds[step.table] = round(time.perf_counter() - t0, 3)
            if progress:
                progress(step.table, seconds[step.table])
        manifest = {"engine": "spark", "spark_version": spark.version, "master": spark.sparkContext.master,
                    "rollups_version": db.rollups_version(), "as_of": _as_text(as_of),
                    "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "source": str(source), "seconds": seconds, "session_seconds": session_s,
                    "total_seconds": round(time.perf_counter() - started, 3)}
        lake.write_manifest(out, manifest)
        return manifest
    finally:
        if own:
            spark.stop()


def _as_text(value: Any) -> str | None:
    """``max(ordered_at)`` as DuckDB writes a TIMESTAMP as text (``2026-11-22 21:59:00``)."""
    if value is None:
        return None
    return str(value).replace("T", " ")


def kpi_frame(spark, filters, grain: str, names):
    """KPIs ``names`` at ``grain`` under ``filters`` computed on Spark from the views of a built
    lake: :func:`o2o_ops.metrics.kpi_sql`'s statement rendered for Spark (parameters bound as
    typed literals). A pandas frame with the columns of ``metrics.kpi_sql``."""
    from o2o_ops import metrics
    import pandas as pd
    sql, params = metrics.kpi_sql(filters, grain, list(names))
    frame = spark.sql(portable.to_spark(sql, params))
    # rows, not toPandas(): pyspark's pandas bridge does not support pandas 3 yet
    return pd.DataFrame([tuple(r) for r in frame.collect()], columns=frame.columns)
