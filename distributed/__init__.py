"""Settlement on Apache Spark: the same pure engine, run per group of tickets through Arrow.

``job.settle_on_spark`` reads settlement inputs in the export layout (docs/export.md), finds what
crosses groups with Spark's own joins (reworks' originals, orders' terms, each order's first
ticket), then settles every (payee, period) group with ``settlement.engine.settle_linked`` inside
``applyInArrow``; the lines come back as Polars frames for the warehouse's IO shell to write.
docs/spark.md describes the stages, the bound on a group and how to run it on a cluster.
"""
