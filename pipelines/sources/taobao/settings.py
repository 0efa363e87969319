"""Taobao/Tmall open-platform vocabulary: trades (taobao.trades.sold.get) and refunds.

From the TOP API reference (Trade.status, Trade.type, Trade.step_trade_status, Order and Refund
refund status), as the public SDK models (e.g. bububa/opentaobao model/tbtrade/Trade.go) carry it.
"""

from __future__ import annotations

TRADE_STATUS: dict[str, str] = {
    "TRADE_NO_CREATE_PAY": "pending_payment",  # no Alipay trade created yet
    "WAIT_BUYER_PAY": "pending_payment",
    "PAY_PENDING": "pending_payment",  # foreign-card payment being confirmed
    "WAIT_PRE_AUTH_CONFIRM": "pending_payment",  # 0-yuan purchase awaiting pre-authorisation
    "WAIT_SELLER_SEND_GOODS": "paid",
    "PAID_FORBID_CONSIGN": "paid",  # paid, shipping held (group buy forming, or controlled goods)
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

# Trade.type: every value the API documents. Only ``step`` (staged payment: pre-sale, 万人团) is
# a pre-sale; the others differ in how they were sold or paid, not in what settlement needs.
TRADE_TYPES: dict[str, str] = {
    "fixed": "一口价",
    "auction": "拍卖",
    "guarantee_trade": "一口价、拍卖",
    "step": "分阶段付款 (pre-sale)",
    "auto_delivery": "自动发货",
    "independent_simple_trade": "旺店入门版交易",
    "independent_shop_trade": "旺店标准版交易",
    "ec": "直冲",
    "cod": "货到付款",
    "b2c_cod": "大商家货到付款",
    "fenxiao": "分销",
    "game_equipment": "游戏装备",
    "shopex_trade": "ShopEX交易",
    "netcn_trade": "万网交易",
    "external_trade": "统一外部交易",
    "instant_trade": "即时到账",
    "hotel_trade": "酒店交易",
    "super_market_trade": "商城超市交易",
    "super_market_cod_trade": "商城超市货到付款",
    "taohua": "淘花网交易",
    "waimai": "外卖交易",
    "o2o_offlinetrade": "O2O交易",
    "nopaid": "无付款订单",
    "eticket": "电子凭证",
    "tmall_i18n": "天猫国际",
    "pre_auth_type": "预授权0元购机交易",
}
PRESALE_TYPE = "step"

# What the demo writes: every word that means each canonical status, and the non-pre-sale types.
TRADE_WORDS: dict[str, tuple[str, ...]] = {
    "pending_payment": ("WAIT_BUYER_PAY", "TRADE_NO_CREATE_PAY"),
    "paid": ("WAIT_SELLER_SEND_GOODS", "PAID_FORBID_CONSIGN"),
    "shipped": ("WAIT_BUYER_CONFIRM_GOODS", "SELLER_CONSIGNED_PART", "TRADE_BUYER_SIGNED"),
    "completed": ("TRADE_FINISHED",),
    "closed": ("TRADE_CLOSED",),
}
PLAIN_TYPES = ("fixed", "fixed", "fixed", "cod", "tmall_i18n", "auction", "eticket", "fenxiao")

# type=step (pre-sale): step_trade_status -> canonical pre-sale stage.
STEP_STATUS: dict[str, str] = {
    "FRONT_NOPAID_FINAL_NOPAID": "deposit_pending",
    "FRONT_PAID_FINAL_NOPAID": "deposit_paid",
    "FRONT_PAID_FINAL_PAID": "final_paid",
    "FRONT_PAID_FRONT_FORFEITED": "deposit_forfeited",  # 预售定金罚没
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
SUB_ORDER_REFUND_STATUS: dict[str, str] = {"NO_REFUND": "none", **REFUND_STATUS}
