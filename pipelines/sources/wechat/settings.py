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

# After-sale status, every value of the channels-shop after-sale API (售后单详情
# api_getaftersaleorder, ``after_sale_order.status``): a refund is succeeded once the money is
# back (refund only, or return and refund), rejected once the after-sale ended without money
# (withdrawn, refused, closed, failed), and requested while anyone still has something to do.
AFTERSALE_STATUS: dict[str, str] = {
    "USER_CANCELD": "rejected",  # 用户取消申请 (the platform's own spelling)
    "MERCHANT_PROCESSING": "requested",  # 商家受理中
    "MERCHANT_REJECT_REFUND": "rejected",  # 商家拒绝退款
    "MERCHANT_REJECT_RETURN": "rejected",  # 商家拒绝退货退款
    "USER_WAIT_RETURN": "requested",  # 待买家退货
    "RETURN_CLOSED": "rejected",  # 退货退款关闭
    "MERCHANT_WAIT_RECEIPT": "requested",  # 待商家收货
    "MERCHANT_OVERDUE_REFUND": "requested",  # 商家逾期未退款: the platform steps in
    "MERCHANT_REFUND_SUCCESS": "succeeded",  # 退款完成
    "MERCHANT_RETURN_SUCCESS": "succeeded",  # 退货退款完成
    "PLATFORM_REFUNDING": "requested",  # 平台退款中
    "PLATFORM_REFUND_FAIL": "requested",  # 平台退款失败: retried, the money is not back yet
    "USER_WAIT_CONFIRM": "requested",  # 待用户确认
    "MERCHANT_REFUND_RETRY": "requested",  # 商家打款失败, 重试中
    "MERCHANT_REFUND_RETRY_FAIL": "rejected",  # 商家打款失败, 客服关闭售后
    "MERCHANT_FAIL": "rejected",  # 售后关闭
    "USER_WAIT_CONFIRM_UPDATE": "requested",  # 待用户处理商家协商
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE": "requested",  # 待用户处理商家代发起的售后申请
    "MERCHANT_EXCHANGE_SUCCESS": "rejected",  # 换货完成: goods exchanged, no money back
}
# What the demo writes: every status meaning each canonical one (return-refunds among them).
AFTERSALE_WORDS: dict[str, tuple[str, ...]] = {
    "requested": (
        "MERCHANT_PROCESSING",
        "USER_WAIT_RETURN",
        "MERCHANT_WAIT_RECEIPT",
        "PLATFORM_REFUNDING",
        "USER_WAIT_CONFIRM_UPDATE",
    ),
    "rejected": ("MERCHANT_REJECT_REFUND", "RETURN_CLOSED", "USER_CANCELD", "MERCHANT_FAIL"),
    "succeeded": ("MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"),
}
RETURN_STATUSES = (
    "USER_WAIT_RETURN",
    "MERCHANT_WAIT_RECEIPT",
    "RETURN_CLOSED",
    "MERCHANT_RETURN_SUCCESS",
)
AFTERSALE_WORD: dict[str, str] = {
    "requested": "MERCHANT_PROCESSING",
    "rejected": "MERCHANT_REJECT_REFUND",
    "succeeded": "MERCHANT_REFUND_SUCCESS",
}
