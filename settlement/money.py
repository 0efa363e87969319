"""The one rounding rule: integers only, half away from zero (see docs/settlement.md)."""

from __future__ import annotations

import polars as pl

BP = 10_000


def div_round(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """``numerator / denominator`` rounded half away from zero; ``denominator`` > 0."""
    twice = pl.lit(2, pl.Int64) * denominator
    magnitude = (numerator.abs() * 2 + denominator) // twice
    return pl.when(numerator < 0).then(-magnitude).otherwise(magnitude).cast(pl.Int64)


def scale_round(amount: pl.Expr, multiplier: pl.Expr, divisor: pl.Expr) -> pl.Expr:
    """``div_round(amount · multiplier, divisor)`` without forming the product, which can pass
    64 bits for a large amount at a precise rate: |amount| = q · divisor + r, so the result is
    q · multiplier plus the rounded r · multiplier / divisor (r < divisor keeps that small)."""
    magnitude = amount.abs()
    whole = (magnitude // divisor) * multiplier
    part = (magnitude % divisor) * multiplier
    rounded = whole + (part * 2 + divisor) // (pl.lit(2, pl.Int64) * divisor)
    return pl.when(amount < 0).then(-rounded).otherwise(rounded).cast(pl.Int64)


def pct(amount: pl.Expr, bp: pl.Expr | int) -> pl.Expr:
    """``amount`` × ``bp`` / 10 000, rounded by the one rule."""
    return div_round(amount * bp, BP)


def div_round_int(numerator: int, denominator: int) -> int:
    """The same rule for plain integers (rule previews, explanations)."""
    magnitude = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude
