"""Taobao/Tmall open-platform vocabulary: trades (taobao.trades.sold.get) and refunds."""

from __future__ import annotations

TRADE_STATUS: dict[str, str] = {
    "TRADE_NO_CREATE_PAY": "pending_payment",  # no Alipay trade created yet
    "WAIT_BUYER_PAY": "pending_payment",
    "PAY_PENDING": "pending_payment",  # foreign-card payment being confirmed
    "WAIT_PRE_AUTH_CONFIRM": "pending_payment",  # 0-yuan purchase awaiting pre-authorisation
    "WAIT_SELLER_SEND_GOODS": "paid",
    "SELLER_CONSIGNED_PART": "shipped",
    "WAIT_BUYER_CONFIRM_GOODS": "shipped",
    "TRADE_BUYER_SIGNED": "shipped",  # signed for, not yet confirmed
    "TRADE_FINISHED": "completed",
    "TRADE_CLOSED": "closed",  # closed after payment: refunded in full, or a forfeited deposit
    "TRADE_CLOSED_BY_TAOBAO": "closed",  # closed before payment
}

# Canonical status -> the word the writer uses for it (one of the above).
TRADE_WORD: dict[str, str] = {
    "pending_payment": "WAIT_BUYER_PAY",
    "paid": "WAIT_SELLER_SEND_GOODS",
    "shipped": "WAIT_BUYER_CONFIRM_GOODS",
    "completed": "TRADE_FINISHED",
    "closed": "TRADE_CLOSED",
}

# type=step (pre-sale): step_trade_status -> canonical pre-sale stage.
STEP_STATUS: dict[str, str] = {
    "FRONT_NOPAID_FINAL_NOPAID": "deposit_pending",
    "FRONT_PAID_FINAL_NOPAID": "deposit_paid",
    "FRONT_PAID_FINAL_PAID": "final_paid",
}

REFUND_STATUS: dict[str, str] = {
    "WAIT_SELLER_AGREE": "requested",
    "WAIT_BUYER_RETURN_GOODS": "requested",
    "WAIT_SELLER_CONFIRM_GOODS": "requested",
    "SELLER_REFUSE_BUYER": "rejected",
    "CLOSED": "rejected",  # withdrawn by the buyer or closed by the platform
    "SUCCESS": "succeeded",
}
REFUND_WORD: dict[str, str] = {
    "requested": "WAIT_SELLER_AGREE",
    "rejected": "SELLER_REFUSE_BUYER",
    "succeeded": "SUCCESS",
}
# Sub-order refund_status in the trade: real feeds send NO_REFUND, absent from some SDK lists.
SUB_ORDER_REFUND_STATUS = ("NO_REFUND", *REFUND_STATUS)
