"""The ticket system's own vocabulary: field names and status words of its two export formats.

The monthly CSV export speaks Chinese headers and words; the change log (JSON lines) speaks the
system's API names and upper-case codes. Both map to canonical.TICKETS.
"""

from __future__ import annotations

CSV_GLOB = "fsm_export_*.csv"
JSONL_GLOB = "fsm_changes_*.jsonl"

# canonical column -> CSV header
CSV_FIELDS: dict[str, str] = {
    "ticket_id": "工单号",
    "status": "工单状态",
    "item_code": "服务项目编码",
    "quantity": "数量",
    "parts": "备件明细",  # "P-COMP-01*1;P-PIPE-02*3"
    "city_code": "城市编码",
    "technician_id": "师傅工号",
    "partner_id": "服务商编号",
    "scenario": "业务场景",
    "channel": "来源渠道",
    "is_urgent": "是否加急",
    "is_night": "夜间服务",
    "is_township": "乡镇",
    "is_high_altitude": "高空作业",
    "remote_guidance_minutes": "远程指导分钟",
    "member_level": "会员等级",
    "order_platform": "订单平台",
    "order_id": "订单号",
    "rework_of": "返工原工单",
    "created_at": "创建时间",
    "completed_at": "完工时间",
    "updated_at": "更新时间",
}

# canonical column -> change-log key
JSONL_FIELDS: dict[str, str] = {
    "ticket_id": "ticketNo",
    "status": "state",
    "item_code": "serviceCode",
    "quantity": "qty",
    "parts": "spareParts",  # [{"code": "P-COMP-01", "qty": 1}]
    "city_code": "cityCode",
    "technician_id": "engineerId",
    "partner_id": "providerId",
    "scenario": "scene",
    "channel": "source",
    "is_urgent": "urgent",
    "is_night": "night",
    "is_township": "township",
    "is_high_altitude": "highAltitude",
    "remote_guidance_minutes": "remoteMinutes",
    "member_level": "memberLevel",
    "order_platform": "orderPlatform",
    "order_id": "orderNo",
    "rework_of": "reworkOf",
    "created_at": "createTime",
    "completed_at": "finishTime",
    "updated_at": "updateTime",
}

# Vocabularies: the source's word -> canonical value, per format.
CSV_WORDS: dict[str, dict[str, str]] = {
    "status": {
        "待派单": "created",
        "已派单": "assigned",
        "服务中": "in_progress",
        "已完工": "completed",
        "已取消": "cancelled",
    },
    "scenario": {"售前": "pre_sale", "售中": "in_sale", "售后": "after_sale"},
    "channel": {"客户自助": "self_service", "客服代建": "staff", "自动规则": "auto_rule"},
    "member_level": {"无": "none", "银卡": "silver", "金卡": "gold", "铂金": "platinum"},
    "order_platform": {"淘宝": "taobao", "有赞": "youzan", "微信小店": "wechat"},
}
CSV_TRUE, CSV_FALSE = "是", "否"
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Beijing wall time, no zone

JSONL_WORDS: dict[str, dict[str, str]] = {
    "status": {
        "PENDING_DISPATCH": "created",
        "DISPATCHED": "assigned",
        "IN_SERVICE": "in_progress",
        "FINISHED": "completed",
        "CANCELLED": "cancelled",
    },
    "scenario": {"PRE_SALE": "pre_sale", "IN_SALE": "in_sale", "AFTER_SALE": "after_sale"},
    "channel": {"SELF": "self_service", "STAFF": "staff", "RULE": "auto_rule"},
    "member_level": {"NONE": "none", "SILVER": "silver", "GOLD": "gold", "PLATINUM": "platinum"},
    "order_platform": {"TAOBAO": "taobao", "YOUZAN": "youzan", "WECHAT": "wechat"},
}
JSONL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"  # ISO 8601 with the +08:00 offset
