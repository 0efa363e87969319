"""What every demo feed does to spoil a few records, the way real feeds do."""

from __future__ import annotations

import polars as pl

DIRTY_SHARE = 0.003  # of each file's records

_HALF = "0123456789"
_FULL = "０１２３４５６７８９"


def full_width(expr: pl.Expr) -> pl.Expr:
    """ASCII digits as full-width digits, as typed on a Chinese input method."""
    return expr.str.replace_many(list(_HALF), list(_FULL))
