"""Youzan trade API vocabulary (youzan.trades.sold.get / youzan.trade.get)."""

from __future__ import annotations

TRADE_STATUS: dict[str, str] = {
    "WAIT_BUYER_PAY": "pending_payment",
    "TRADE_PAID": "paid",  # momentary: paid, about to move on
    "WAIT_CONFIRM": "paid",  # paid, waiting for a group to form or the shop to accept
    "WAIT_SELLER_SEND_GOODS": "paid",
    "WAIT_BUYER_CONFIRM_GOODS": "shipped",
    "TRADE_SUCCESS": "completed",
    "TRADE_CLOSED": "closed",
}
TRADE_WORD: dict[str, str] = {
    "pending_payment": "WAIT_BUYER_PAY",
    "paid": "WAIT_SELLER_SEND_GOODS",
    "shipped": "WAIT_BUYER_CONFIRM_GOODS",
    "completed": "TRADE_SUCCESS",
    "closed": "TRADE_CLOSED",
}

# refund_order[].refund_state: the numeric refund state on the trade.
REFUND_STATE: dict[str, str] = {
    "1": "requested",  # buyer asked, waiting for the seller
    "10": "rejected",  # seller refused
    "20": "requested",  # seller agreed to a return, waiting for the goods
    "30": "requested",  # goods returned, waiting for the seller to confirm
    "40": "rejected",  # seller did not receive the goods, refused
    "50": "rejected",  # refund closed
    "60": "succeeded",
}
REFUND_CODE: dict[str, int] = {"requested": 1, "rejected": 10, "succeeded": 60}

# refund_order[].refund_type (youzan.trade.get 4.0.0).
REFUND_TYPE: dict[str, str] = {
    "1": "buyer_requested",  # 退款 - 买家申请退款
    "2": "seller_initiated",  # 退款 - 商家主动退款
    "3": "one_click",  # 退款 - 一键退款
}

# order_info.refund_state: the refund summary on the whole trade (trades.sold.get). Orders carry
# no refund column canonically, so the reader only checks the word; refunds come from refund_order.
ORDER_REFUND_STATE: dict[str, str] = {
    "0": "none",
    "1": "partial_refunding",
    "2": "partial_refunded",
    "11": "full_refunding",
    "12": "full_refunded",
}
