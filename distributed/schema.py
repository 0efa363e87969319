"""The settlement frames' types as Spark and Arrow see them.

Codes the engine holds as categories travel as strings (Spark has no dictionary type); the
stages cast them back (``settlement.frames``) on the way into the engine.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from pyspark.sql import types as T

from settlement.frames import CODE, PARTS, TIMESTAMP

_SCALARS = {  # Polars type name → (Spark type, Arrow type)
    "String": (T.StringType(), pa.string()),
    "Categorical": (T.StringType(), pa.string()),
    "Int64": (T.LongType(), pa.int64()),
    "Int32": (T.IntegerType(), pa.int32()),
    "Boolean": (T.BooleanType(), pa.bool_()),
    "Date": (T.DateType(), pa.date32()),
    "Datetime": (T.TimestampNTZType(), pa.timestamp("us")),
}


def _types(dtype: pl.DataType) -> tuple[T.DataType, pa.DataType]:
    if dtype == PARTS:
        return (
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("part_code", T.StringType()),
                        T.StructField("quantity", T.IntegerType()),
                    ]
                )
            ),
            pa.list_(pa.struct([("part_code", pa.string()), ("quantity", pa.int32())])),
        )
    if dtype == pl.Datetime and dtype != TIMESTAMP:
        raise TypeError(f"{dtype}: settlement's timestamps are {TIMESTAMP}")
    return _SCALARS[type(dtype).__name__]


def spark_schema(columns: dict[str, pl.DataType]) -> T.StructType:
    return T.StructType([T.StructField(name, _types(dtype)[0]) for name, dtype in columns.items()])


def arrow_schema(columns: dict[str, pl.DataType]) -> pa.Schema:
    return pa.schema([(name, _types(dtype)[1]) for name, dtype in columns.items()])


def as_text(columns: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    """``columns`` with codes as strings: how files and Spark hold them."""
    text = pl.List(pl.Struct({"part_code": pl.String(), "quantity": pl.Int32()}))
    return {
        name: pl.String() if dtype == CODE else text if dtype == PARTS else dtype
        for name, dtype in columns.items()
    }


def to_engine(table: pa.Table, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """An Arrow table from Spark as the engine takes it: ``columns`` only, codes as categories."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in columns.items())


def to_spark(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pa.Table:
    """A Polars frame of ``columns`` as the Arrow table Spark's declared schema expects."""
    text = frame.select(pl.col(name).cast(dtype) for name, dtype in as_text(columns).items())
    return text.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(arrow_schema(columns))
