"""The shapes that go in and out of settlement (Polars schemas), shared by engine and oracle.

Inputs are what the IO shell assembles from the warehouse: tickets already joined to their city,
province, technician and partner; orders with what was paid and refunded. Outputs are settlement
lines (one per ticket, payee and period, plus partner monthly lines) and unpriced tickets.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP = pl.Datetime("us")
# Codes and ids of the reference tables (cities, provinces, items, parts, technicians, partners)
# and the small vocabularies (tiers, region groups, partner types, member levels, platforms) are
# dictionary-encoded: 4 bytes a row instead of a string, and joins, windows and lookups on
# integers. Global categories, so that a cast from text gives the same encoding in every frame
# (tickets and orders join on the platform; provinces compare across columns).
CODE = pl.Categorical()
PARTS = pl.List(pl.Struct({"part_code": CODE, "quantity": pl.Int32}))

TICKETS_IN: dict[str, pl.DataType] = {
    "ticket_id": pl.String(),
    "item_code": CODE,
    "quantity": pl.Int32(),
    "parts": PARTS,
    "city_code": CODE,
    "city_tier": CODE,
    "is_plateau": pl.Boolean(),
    "province_code": CODE,
    "region_group": CODE,
    "technician_id": CODE,
    "technician_province_code": CODE,  # the technician's home province
    "partner_id": CODE,
    "partner_type": CODE,  # direct dealer agent
    "partner_region_group": CODE,
    "partner_province_code": CODE,  # where the partner is registered
    "is_urgent": pl.Boolean(),
    "is_night": pl.Boolean(),
    "is_township": pl.Boolean(),
    "is_high_altitude": pl.Boolean(),
    "remote_guidance_minutes": pl.Int32(),
    "member_level": CODE,
    "order_platform": CODE,
    "order_id": pl.String(),
    "rework_of": pl.String(),
    "completed_at": TIMESTAMP,
    "completed_date": pl.Date(),  # Beijing date; its month is the period
}

ORDERS_IN: dict[str, pl.DataType] = {
    "platform": CODE,
    "order_id": pl.String(),
    "paid_cents": pl.Int64(),
    "refunded_cents": pl.Int64(),  # sum of succeeded refunds
    "is_forfeited": pl.Boolean(),  # pre-sale deposit forfeited
    "province_code": CODE,  # delivery province; null for virtual or self-pickup orders
}

# What the cross-ticket joins find for each priced ticket (``engine.ticket_links``): the
# original a rework names (before its version's rework window is applied), the terms of the
# order it serves (``engine.order_terms``) and whether it is that order's first ticket (true or
# null). A distributed run computes these with its own joins and settles each group of tickets
# with them beside the ticket columns (``engine.settle_linked``).
LINKED: dict[str, pl.DataType] = {
    "original_completed_at": TIMESTAMP,
    "original_technician_id": CODE,
    "paid_cents": pl.Int64(),
    "order_province_code": CODE,
    "claw_num": pl.Int64(),
    "claw_den": pl.Int64(),
    "is_first_for_order": pl.Boolean(),
}

BREAKDOWN = (
    "base_cents",
    "parts_cents",
    "coefficient_cents",
    "urgent_cents",
    "night_cents",
    "high_altitude_cents",
    "plateau_cents",
    "township_cents",
    "remote_cents",
    "discount_cents",
    "ladder_cents",
    "rework_cents",
    "chargeback_cents",
    "clawback_cents",
    "guarantee_cents",
    "bonus_cents",
    "fee_cents",
    "tax_cents",
)

LINES: dict[str, pl.DataType] = {
    "period": pl.String(),  # YYYY-MM
    "line_kind": pl.String(),  # ticket chargeback partner_monthly (adjustment: added by periods)
    "payee_type": pl.String(),  # technician direct dealer agent
    "payee_id": pl.String(),
    "ticket_id": pl.String(),  # null for partner_monthly
    "price_tier": pl.String(),
    "ladder_rate_bp": pl.Int64(),
    **{name: pl.Int64() for name in BREAKDOWN},
    "amount_cents": pl.Int64(),
    "currency": pl.String(),
    "amount_local_cents": pl.Int64(),
    "is_rework": pl.Boolean(),
    "is_refunded": pl.Boolean(),
    "rule_version": pl.String(),
}
LINE_KEY = ("period", "line_kind", "payee_type", "payee_id", "ticket_id")

UNPRICED: dict[str, pl.DataType] = {
    "period": pl.String(),
    "ticket_id": pl.String(),
    "reason": pl.String(),
    "rule_version": pl.String(),
}
