"""The Spark build: the derived tables of ``o2o_ops/sql`` computed on Spark from a Parquet lake.

Nothing here imports pyspark at import time; :mod:`o2o_ops.spark.build` does so when a build
starts, and says in words what to install when pyspark or Java is missing.
"""
