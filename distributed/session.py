"""A Spark session that runs settlement's Python stages with this project's code.

The workers import ``settlement`` and ``distributed`` from a zip shipped with the job
(``addPyFile``), so a cluster needs only the pinned requirements installed, not this checkout.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("settlement", "distributed")  # the packages the stages import
LOCAL_DRIVER_MEMORY = "4g"  # local mode runs every task in the driver's JVM
# Rows per Arrow batch to and from the Python workers: an engine call costs ~70 ms whatever its
# size, so row-by-row stages take big batches (Spark's default is 10 000).
ARROW_BATCH_ROWS = 200_000


def is_local(master: str | None) -> bool:
    return master is not None and (master == "local" or master.startswith("local["))


def spark_session(
    master: str | None = "local[2]", app: str = "tierboard-settlement"
) -> SparkSession:
    """A session on ``master`` (``local[N]``, ``spark://host:7077``, ``yarn``, …; None: the
    one spark-submit or the Spark configuration names)."""
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[2]"  # not under spark-submit, whose JVM names the master
    # pyspark's own check of the pandas version warns on import; settlement uses no pandas.
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    if is_local(master):
        # Local workers are this interpreter; a cluster's are configured there.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = builder.master(master)
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")  # timestamps are Beijing wall time, naive
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    )
    if is_local(master):
        # One machine's cores: a few shuffle partitions, not Spark's 200 for a cluster.
        builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY).config(
            "spark.sql.shuffle.partitions", "8"
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(str(_code_zip()))
    return spark


@functools.cache
def _code_zip() -> Path:
    """The shipped packages' sources in one zip, built once per process (every settle and
    correction of a run asks for the session)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in SHIPPED:
            for path in sorted((ROOT / package).rglob("*")):
                if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(ROOT).as_posix())
    folder = Path(tempfile.gettempdir()) / "tierboard-spark"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"tierboard-{os.getpid()}.zip"
    target.write_bytes(buffer.getvalue())
    return target
