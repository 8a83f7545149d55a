"""Every threshold and word list of the ledger, in one dataclass.

:class:`LedgerConfig` holds the time windows, the staff definition and the phrase lists the
linking heuristics use (see ``docs/ledger.md``). It can be built in code, or read from a
JSON or TOML file whose keys are the field names (unknown keys are an error, missing keys
keep their defaults)::

    # ledger.toml
    link_window_minutes = 120
    staff_names = ["老张"]
    staff_roles = ["警官", "民警", "辅警", "物业"]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from triage.taxonomy import CATEGORIES, INCIDENT_CATEGORIES, URGENCIES

__all__ = ["LedgerConfig", "DEFAULT_STAFF_ROLES"]

#: Substrings of a display name that mark a staff member (police, committee, property).
DEFAULT_STAFF_ROLES: tuple[str, ...] = (
    "警官",
    "民警",
    "辅警",
    "警务",
    "派出所",
    "公安",
    "所长",
    "社区",
    "居委",
    "网格员",
    "物业",
)

_FOLLOWUP_PHRASES = (
    "还没人",
    "还没有人",
    "没人管",
    "有人管吗",
    "有没有人管",
    "没人来",
    "怎么还没",
    "怎么还是",
    "还没处理",
    "还没修",
    "还没解决",
    "还是没",
    "还没找到",
    "还没好",
    "有进展吗",
    "有什么进展",
    "进展如何",
    "怎么样了",
    "处理了吗",
    "处理得怎么样",
    "抓到了吗",
    "修好了吗",
    "人呢",
    "有人知道吗",
    "有人看到吗",
    "急急急",
    "催一下",
    "麻烦快点",
    "到底",
    "还在",
    "管管",
    "有人能管",
    "能不能管",
    "又开始",
    "又来了",
)

_RESPONSE_PHRASES = (
    "收到",
    "马上",
    "立即",
    "立刻",
    "已派",
    "派人",
    "已联系",
    "联系了",
    "已通知",
    "通知了",
    "已报",
    "正在",
    "到场",
    "前往",
    "过去",
    "出发",
    "处理中",
    "在路上",
    "安排",
    "核实",
    "跟进",
    "登记",
    "请到",
    "请带",
    "请拨打",
    "拨打",
    "可以到",
    "可以先",
    "需要带",
    "带上",
    "办理",
    "不要",
    "千万",
    "别转账",
    "是诈骗",
    "协调",
    "沟通",
    "稍等",
    "我来",
    "报修",
    "维修",
    "过来",
    "去看",
    "看看",
    "联系",
    "调监控",
    "查一下",
    "了解",
)

_RESOLUTION_PHRASES = (
    "已处理",
    "已经处理",
    "处理好了",
    "处理完了",
    "处理完毕",
    "已解决",
    "已经解决",
    "解决了",
    "修好了",
    "修好",
    "已修复",
    "修复了",
    "已修",
    "已经修",
    "找到了",
    "已找到",
    "找回来了",
    "找回了",
    "已清理",
    "清理了",
    "已挪走",
    "挪走了",
    "开走了",
    "已挪车",
    "已归还",
    "领走了",
    "已领回",
    "领回了",
    "已认领",
    "搞定",
    "恢复正常",
    "已恢复",
    "恢复了",
    "没事了",
    "已经好了",
    "送医",
    "已控制",
    "扑灭",
    "已拆除",
    "拆除了",
    "已更换",
    "更换好了",
    "换好了",
    "已安装",
    "装好了",
    "已办结",
    "办好了",
    "已调解",
    "调解好了",
    "已抓获",
    "抓获",
    "抓到了",
    "已止付",
    "追回",
    "拦住了",
    "已拦截",
    "劝阻成功",
    "没转",
    "已经退出",
    "已取缔",
    "取缔了",
    "带回派出所",
    "已带回",
    "安静了",
    "不吵了",
    "已送回",
    "送回",
    "换新",
    "已换",
    "已清",
    "带走",
    "领走",
    "认领了",
    "已经好",
)

_CORROBORATION_PHRASES = (
    "也有",
    "也是",
    "也听到",
    "也看到",
    "也遇到",
    "也堵",
    "也受不了",
    "也一样",
    "同样",
    "我也",
    "我家也",
    "+1",
    "＋1",
    "加一",
    "是的",
    "没错",
    "确实",
    "对的",
    "我们也",
    "是我的",
    "是我家的",
)

_NEGATIONS = ("没有", "还没", "没", "未", "不", "别")
_QUESTION_MARKERS = ("吗", "没有", "没", "?", "？", "了没", "呢")


def _tuple(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"expected {name} to be a list of strings, got {type(value).__name__}")
    out = tuple(str(v) for v in value)
    if any(not v for v in out):
        raise ValueError(f"expected {name} to hold non-empty strings, got an empty string")
    return out


@dataclasses.dataclass(frozen=True)
class LedgerConfig:
    """Thresholds, windows and phrase lists of the incident ledger.

    Parameters
    ----------
    link_window_minutes : float, default=180
        A report by another resident joins an incident whose last activity is at most this
        old (when it is of the same category and similar, shares a place, or corroborates).
    followup_window_hours : float, default=72
        A follow-up ("还没人来吗") or an added detail links to an unresolved incident whose
        last activity is at most this old.
    response_window_minutes : float, default=120
        A staff acknowledgement with no quote, mention or shared words answers the most
        recent unanswered incident reported at most this long before it.
    resolution_window_hours : float, default=168
        A staff message or a reporter's message saying a problem was handled can resolve an
        incident whose last activity is at most this old (through a quote, a mention, the
        same reporter or shared words).
    max_incident_age_hours : float, default=72
        New reports (by another resident, or a reporter's further detail) join only incidents
        first reported at most this long ago, so a problem raised again and again does not
        grow into one endless incident. Follow-ups, staff replies and resolutions are not
        limited by it.
    quote_window_hours : float, default=336
        How far back a quoted message is looked up.
    continuation_minutes : float, default=5
        A photo, voice or text message a reporter sends within this time after one of their
        incident messages continues that incident (unless it is a new report of another
        category).
    similarity_threshold : float, default=0.2
        Minimum character-bigram similarity (overlap coefficient) for "same problem".
    staff_similarity_threshold : float, default=0.15
        Minimum similarity for an unanchored staff message to address an incident.
    followup_max_residue : int, default=6
        A message with a follow-up phrase and at most this many other characters
        ("还没人管吗？还在砸") is a follow-up even when the model files it as a report.
    unsure_confidence : float, default=0.6
        Below this predicted-category probability a message's category is not trusted when
        deciding whether a message that names the same place joins an incident.
    min_report_chars : int, default=4
        A message shorter than this never opens an incident on its own.
    min_report_confidence : float, default=0.0
        A message opens an incident only when its predicted category probability is at least this.
    min_report_urgency : str, default="low"
        A message opens an incident only when its predicted urgency is at least this.
    promote_min_score : float, default=0.3
        A resident message the model did not file as an incident becomes one when staff
        reply to it by quote or @mention and its summed incident-category probability
        reaches this (set it above 1 to disable the rule).
    incident_categories : tuple of str
        Categories that open incidents (default: :data:`triage.taxonomy.INCIDENT_CATEGORIES`).
    answer_resolves : tuple of str, default=("consultation",)
        Categories for which a staff answer (not a bare acknowledgement) is also the resolution.
    ack_max_chars : int, default=12
        A staff message this short made of response phrases is an acknowledgement, not an answer.
    staff_accounts : tuple of str
        Sender ids (wxid, QQ number) of staff accounts.
    staff_names : tuple of str
        Exact display names of staff.
    staff_roles : tuple of str
        Substrings of display names that mark staff (警官, 民警, 辅警, 社区, 居委, 物业, ...).
    non_staff_names : tuple of str
        Display names that contain a role word but are residents (e.g. "社区团购小王").
    followup_phrases, response_phrases, resolution_phrases, corroboration_phrases : tuple of str
        Phrase lists (plain substrings).
    negations : tuple of str
        Words that, right before a resolution phrase, cancel it ("还没修好").
    question_markers : tuple of str
        Words that, right after a resolution phrase, turn it into a question ("修好了吗").
    negation_span : int, default=3
        Characters before a resolution phrase searched for a negation.
    """

    link_window_minutes: float = 180.0
    followup_window_hours: float = 72.0
    response_window_minutes: float = 120.0
    resolution_window_hours: float = 168.0
    max_incident_age_hours: float = 72.0
    quote_window_hours: float = 336.0
    continuation_minutes: float = 5.0
    similarity_threshold: float = 0.2
    staff_similarity_threshold: float = 0.15
    followup_max_residue: int = 6
    unsure_confidence: float = 0.6
    min_report_chars: int = 4
    min_report_confidence: float = 0.0
    min_report_urgency: str = "low"
    promote_min_score: float = 0.3
    incident_categories: tuple[str, ...] = tuple(c for c in CATEGORIES if c in INCIDENT_CATEGORIES)
    answer_resolves: tuple[str, ...] = ("consultation",)
    ack_max_chars: int = 12
    staff_accounts: tuple[str, ...] = ()
    staff_names: tuple[str, ...] = ()
    staff_roles: tuple[str, ...] = DEFAULT_STAFF_ROLES
    non_staff_names: tuple[str, ...] = ()
    followup_phrases: tuple[str, ...] = _FOLLOWUP_PHRASES
    response_phrases: tuple[str, ...] = _RESPONSE_PHRASES
    resolution_phrases: tuple[str, ...] = _RESOLUTION_PHRASES
    corroboration_phrases: tuple[str, ...] = _CORROBORATION_PHRASES
    negations: tuple[str, ...] = _NEGATIONS
    question_markers: tuple[str, ...] = _QUESTION_MARKERS
    negation_span: int = 3

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type.startswith("tuple"):
                object.__setattr__(self, f.name, _tuple(value, f.name))
            elif f.type == "float":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"expected {f.name} to be a number >= 0, got {value!r}")
                object.__setattr__(self, f.name, float(value))
            elif f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"expected {f.name} to be an integer >= 0, got {value!r}")
        if self.min_report_urgency not in URGENCIES:
            raise ValueError(f"expected min_report_urgency in {URGENCIES}, got {self.min_report_urgency!r}")
        for name in ("incident_categories", "answer_resolves"):
            unknown = set(getattr(self, name)) - set(CATEGORIES)
            if unknown:
                raise ValueError(f"expected {name} to hold category ids from {CATEGORIES}, got {sorted(unknown)}")

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerConfig:
        """Build a config from a mapping of field names; unknown keys raise ``ValueError``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a mapping of ledger settings, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown ledger setting(s) {unknown}; expected keys among {sorted(names)}")
        return cls(**dict(data))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LedgerConfig:
        """Read a JSON (``.json``) or TOML (any other suffix) settings file.

        A TOML file may keep the settings at top level or under a ``[ledger]`` table.
        """
        path = Path(path)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                import tomllib

                data = tomllib.loads(text)
                if isinstance(data.get("ledger"), Mapping):
                    data = data["ledger"]
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"expected a valid JSON or TOML ledger config in {path}, got: {exc}") from exc
        return cls.from_dict(data)

    def max_window_hours(self) -> float:
        """The longest linking window, in hours: how far back a new message can reach."""
        return max(
            self.link_window_minutes / 60.0,
            self.followup_window_hours,
            self.response_window_minutes / 60.0,
            self.resolution_window_hours,
            self.quote_window_hours,
            self.continuation_minutes / 60.0,
        )

    def replace(self, **changes: Any) -> LedgerConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict of every setting."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)}

    def fingerprint(self) -> str:
        """Short hash of the settings; the store re-links everything when it changes."""
        blob = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]
