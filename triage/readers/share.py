"""Chats shared out of WeChat: 多选→邮件/分享 text, and merged-forward (合并转发) XML.

Mail/share text::

    张警官 和 3栋王阿姨 在微信上的聊天记录如下，请查收。

    —————  2024-03-05  —————

    3栋王阿姨  08:12

    content…

The header line gives ``group`` (the chat description); date lines set the day of
the ``name  HH:MM`` sender lines that follow (no seconds in this format).

Merged-forward XML is the ``<appmsg>`` of type 19 that exporters parse; each
``<dataitem>`` becomes a record and the record title becomes ``group``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterator

from ..exceptions import ChatLogFormatError
from ..records import Message
from .encoding import iter_lines, read_text
from .special import build_message, error_message, iter_blocks, numbered, parse_forward_items

__all__ = ["read_share_txt", "read_forward_xml", "sniff_txt", "sniff_forward_xml"]

TITLE_RE = re.compile(r"^(?P<chat>.{0,200}?)\s{0,4}(?:在微信上)?的聊天记录(?:如下)?")
DATE_RE = re.compile(r"^\s*[—－\-–_=]{2,}\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})\s*[—－\-–_=]{2,}\s*$")
SENDER_RE = re.compile(r"^(?P<name>\S.{0,100}?) {2,4}(?P<time>\d{1,2}:\d{1,2})\s{0,4}$")


def _is_date_line(line: str) -> bool:
    return DATE_RE.match(line) is not None


def _read_txt(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    group = ""
    day: _dt.date | None = None
    seen_message = False
    for block in iter_blocks(iter_lines(path, encoding), SENDER_RE, is_break=_is_date_line):
        if block.is_break:
            date = DATE_RE.match(block.lines[0])
            try:
                day = _dt.date.fromisoformat(
                    "-".join(f"{int(p):02d}" for p in date["date"].split("-"))  # type: ignore[index]
                )
            except ValueError as exc:
                day = None
                yield error_message(block.raw, f"bad date line: {exc}", group=group, line=block.line)
            continue
        if block.head is None:
            title = TITLE_RE.match(block.lines[0])
            if title is not None and not seen_message and not group:
                group = title["chat"].strip()
            else:
                yield error_message(block.raw, "line outside any message", group=group, line=block.line)
            continue
        seen_message = True
        hour, minute = (int(x) for x in block.head["time"].split(":"))
        if hour > 23 or minute > 59:
            yield error_message(block.raw, f"bad time {block.head['time']!r}", group=group, line=block.line)
            continue
        when = _dt.datetime.combine(day, _dt.time(hour, minute)) if day else None
        yield build_message(
            "\n".join(block.body),
            quote_styles=("phone",),
            time=when,
            sender=block.head["name"].strip(),
            group=group,
            line=block.line,
        )


def read_share_txt(path: str | os.PathLike[str], *, encoding: str | None = None) -> Iterator[Message]:
    """Read chat text shared by WeChat's multi-select → mail/share.

    A sender line before any date line gives ``time None``.
    """
    return numbered(_read_txt(path, encoding), os.fspath(path))


def _read_xml(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    text = read_text(path, encoding)
    try:
        title, items = parse_forward_items(text)
    except ValueError as exc:
        raise ChatLogFormatError(f"{os.fspath(path)}: {exc}") from None
    for item in items:
        yield build_message(
            item.text,
            kind=item.kind,
            time=item.time,
            sender=item.sender,
            group=title,
            line=text.count("\n", 0, item.offset) + 1,
        )


def read_forward_xml(path: str | os.PathLike[str], *, encoding: str | None = None) -> Iterator[Message]:
    """Read the messages of a merged-forward (合并转发) appmsg XML file.

    Raises
    ------
    ChatLogFormatError
        On iteration, when the XML is malformed or holds no ``<recorditem>``.
    """
    return numbered(_read_xml(path, encoding), os.fspath(path))


def sniff_txt(lines: list[str]) -> int:
    """Score of ``lines`` as mail/share text: sender lines, plus 100 per date line or title."""
    score = sum(1 for line in lines if SENDER_RE.match(line))
    score += 100 * sum(1 for line in lines if DATE_RE.match(line))
    first = next((line for line in lines if line.strip()), "")
    return score + (100 if "的聊天记录如下" in first else 0)


def sniff_forward_xml(head: str) -> bool:
    """True when a file head looks like merged-forward appmsg XML."""
    return "<recordinfo" in head or ("<appmsg" in head and "<recorditem" in head)
