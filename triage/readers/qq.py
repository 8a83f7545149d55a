"""QQ 消息管理器 (message manager) TXT exports.

Layout (CRLF; UTF-8 BOM or UTF-16 LE BOM seen; GB18030 possible)::

    消息记录（此消息记录为文本格式，不支持重新导入）

    ================================================================
    消息分组:我的群聊
    ================================================================
    消息对象:幸福里小区3期业主群
    ================================================================

    2024-03-05 8:12:03 【3栋】王阿姨(1034567821)
    body lines…
    <blank>

The sender is ``昵称(QQ号)`` or ``昵称<email>``, optionally after a ``【头衔】`` title
(kept in ``extra["title"]``) and the time optionally followed by AM/PM. An
"all messages" export repeats the ``消息分组``/``消息对象`` block for every chat;
each section's ``消息对象`` becomes ``group``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ..records import Message, MessageKind
from .encoding import iter_lines
from .special import build_message, error_message, iter_blocks, numbered, parse_time

__all__ = ["read_qq_txt", "sniff_txt"]

K = MessageKind

HEADER_RE = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2}) (?P<time>\d{1,2}:\d{1,2}:\d{1,2})"
    r"(?: ?(?P<ampm>AM|PM|上午|下午))? "
    r"(?P<who>.{0,200}?)(?:\((?P<qq>[^()\s]{0,64})\)|<(?P<email>[^<>\s]{0,128})>)\s{0,4}$"
)
_RULE_RE = re.compile(r"^={16,}\s*$")
_SECTION_RE = re.compile(r"^(?P<key>消息分组|消息对象)[:：](?P<value>.*)$")
_TITLE_RE = re.compile(r"^【(?P<title>[^】]*)】(?P<name>.*)$")
_PREAMBLE_RE = re.compile(r"^消息记录[（(]")
_SYSTEM_IDS = {"10000", "1000000"}


def _is_break(line: str) -> bool:
    return _RULE_RE.match(line) is not None or _SECTION_RE.match(line) is not None


def _read(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    group = folder = ""
    for block in iter_blocks(iter_lines(path, encoding), HEADER_RE, is_break=_is_break):
        if block.is_break:
            section = _SECTION_RE.match(block.lines[0])
            if section is not None and section["key"] == "消息对象":
                group = section["value"].strip()
            elif section is not None:
                folder = section["value"].strip()
            continue
        if block.head is None:
            if block.line == 1 and _PREAMBLE_RE.match(block.lines[0]):
                continue  # the file's title line
            yield error_message(block.raw, "line outside any message", group=group, line=block.line)
            continue
        head = block.head
        try:
            when = parse_time(f"{head['date']} {head['time']} {head['ampm'] or ''}")
        except ValueError as exc:
            yield error_message(block.raw, str(exc), group=group, line=block.line)
            continue
        who = head["who"].strip()
        extra = {"folder": folder} if folder else {}
        title = _TITLE_RE.match(who)
        if title is not None:
            extra["title"], who = title["title"], title["name"].strip()
        sender_id = head["qq"] if head["qq"] is not None else head["email"] or ""
        system = sender_id in _SYSTEM_IDS or who == "系统消息"
        yield build_message(
            "\n".join(block.body),
            kind=K.SYSTEM if system else None,
            quote_styles=("phone",),
            time=when,
            sender="" if system else who,
            sender_id=sender_id,
            group=group,
            line=block.line,
            extra=extra,
        )


def read_qq_txt(path: str | os.PathLike[str], *, encoding: str | None = None) -> Iterator[Message]:
    """Read a QQ message-manager TXT export (one chat or "all messages").

    The encoding is sniffed (BOM, then UTF-8, UTF-16, GB18030) unless given.
    Messages from 系统消息(10000) are system records. A header with an invalid
    time, or a stray line outside any message, becomes an ``error`` record.
    """
    return numbered(_read(path, encoding), os.fspath(path))


def sniff_txt(lines: list[str]) -> int:
    """Score of ``lines`` as a QQ export: message headers, plus 100 per section line."""
    headers = sum(1 for line in lines if HEADER_RE.match(line))
    sections = sum(1 for line in lines if _SECTION_RE.match(line))
    return headers + 100 * sections
