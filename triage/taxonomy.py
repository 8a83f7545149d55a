"""The label sets of ``../shared/TAXONOMY.md`` (v1): ten categories, four ordinal urgencies."""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "TAXONOMY_VERSION",
    "CATEGORIES",
    "CATEGORY_NAMES_ZH",
    "URGENCIES",
    "URGENCY_NAMES_ZH",
    "URGENCY_RANK",
    "URGENCY_PRIORITY",
    "INCIDENT_CATEGORIES",
]

TAXONOMY_VERSION = "1"

#: Category ids in the taxonomy's order.
CATEGORIES: tuple[str, ...] = (
    "emergency",
    "crime",
    "fraud",
    "hazard",
    "traffic",
    "dispute",
    "lost_found",
    "consultation",
    "notice",
    "chitchat",
)

CATEGORY_NAMES_ZH = MappingProxyType(
    {
        "emergency": "紧急求助",
        "crime": "违法犯罪",
        "fraud": "涉诈",
        "hazard": "安全隐患",
        "traffic": "交通出行",
        "dispute": "矛盾纠纷",
        "lost_found": "失物招领",
        "consultation": "咨询办事",
        "notice": "通知宣传",
        "chitchat": "闲聊其他",
    }
)

#: Urgency ids from least to most urgent (the ordinal scale).
URGENCIES: tuple[str, ...] = ("low", "normal", "high", "critical")

URGENCY_NAMES_ZH = MappingProxyType({"low": "低", "normal": "一般", "high": "高", "critical": "紧急"})

#: Ordinal rank of each urgency: low 0 < normal 1 < high 2 < critical 3.
URGENCY_RANK = MappingProxyType({u: i for i, u in enumerate(URGENCIES)})

#: TREC-IS style priority score used for the ordinal error (priority mean squared error).
URGENCY_PRIORITY = MappingProxyType({"low": 0.25, "normal": 0.5, "high": 0.75, "critical": 1.0})

#: Categories that report a problem someone should act on (the ledger's incidents).
INCIDENT_CATEGORIES = frozenset(
    {"emergency", "crime", "fraud", "hazard", "traffic", "dispute", "lost_found", "consultation"}
)
