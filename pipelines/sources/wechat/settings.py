"""WeChat shop (channels shop) order and after-sale vocabulary: numeric order status codes."""

from __future__ import annotations

ORDER_STATUS: dict[str, str] = {
    "10": "pending_payment",  # 待付款
    "12": "paid",  # 礼物待收下
    "13": "paid",  # 凑单买凑团中
    "20": "paid",  # 待发货
    "21": "shipped",  # 部分发货
    "30": "shipped",  # 待收货
    "100": "completed",  # 完成
    "200": "closed",  # 全部商品售后之后，订单取消
    "250": "closed",  # 未付款用户主动取消或超时未付款订单自动取消
}
ORDER_CODE: dict[str, int] = {
    "pending_payment": 10,
    "paid": 20,
    "shipped": 30,
    "completed": 100,
    "closed": 200,
}
CLOSED_UNPAID = 250

AFTERSALE_STATUS: dict[str, str] = {
    "USER_CANCELD": "rejected",  # withdrawn by the buyer (the platform's own spelling)
    "MERCHANT_PROCESSING": "requested",
    "MERCHANT_REJECT_REFUND": "rejected",
    "MERCHANT_REJECT_RETURN": "rejected",
    "USER_WAIT_RETURN": "requested",
    "MERCHANT_WAIT_RECEIPT": "requested",
    "MERCHANT_REFUND_RETRY": "requested",
    "USER_WAIT_CONFIRM": "requested",
    "MERCHANT_REFUND_SUCCESS": "succeeded",
}
AFTERSALE_WORD: dict[str, str] = {
    "requested": "MERCHANT_PROCESSING",
    "rejected": "MERCHANT_REJECT_REFUND",
    "succeeded": "MERCHANT_REFUND_SUCCESS",
}
