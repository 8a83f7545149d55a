"""sjzar/chatlog text output (``/api/v1/chatlog?format=text``).

Each message is ``昵称(wxid) 01-02 15:04:05`` (``昵称(我)`` for one's own,
``系统消息`` for notices, optionally ``[群名(id)]`` before the time), then the
content and a blank line. Quoted replies start with ``> `` lines quoting the
original header and text, or ``> [引用]`` when the original is unknown.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterator

from ..records import Message, MessageKind
from .encoding import iter_lines
from .special import CHATLOG_HEADER_RE, build_message, error_message, iter_blocks, numbered, parse_time

__all__ = ["read_chatlog_txt", "sniff_txt"]

K = MessageKind
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ROOM_RE = re.compile(r"^(?P<name>.*?)(?:\((?P<id>[^()]*)\))?$")


def _read(path: str | os.PathLike[str], encoding: str | None, year: int | None) -> Iterator[Message]:
    seen_message = False
    last_month = 0
    for block in iter_blocks(iter_lines(path, encoding), CHATLOG_HEADER_RE):
        if block.head is None:
            found = _YEAR_RE.search(block.lines[0])
            if not seen_message and found is not None:
                year = year or int(found.group(1))  # a header line naming the period
                continue
            yield error_message(block.raw, "line outside any message", line=block.line)
            continue
        head = block.head
        stamp = head["time"]
        if year is None:
            year = _dt.date.today().year
        yearless = stamp.count("-") == 1
        try:
            when = parse_time(stamp, year=year)
        except ValueError as exc:
            yield error_message(block.raw, str(exc), line=block.line)
            continue
        if when is not None and yearless:
            if when.month < last_month - 6:  # December → January: a new year
                year += 1
                try:
                    when = when.replace(year=year)
                except ValueError:  # 02-29 in a year that has none
                    yield error_message(block.raw, f"{stamp} does not exist in {year}", line=block.line)
                    continue
            last_month = when.month
        seen_message = True
        name, ident = head["name"].strip(), head["id"]
        system = ident is None and name == "系统消息"
        extra: dict = {"is_self": ident == "我"} if ident == "我" else {}
        group = ""
        if head["room"]:
            room = _ROOM_RE.match(head["room"])
            group = (room["name"] or room["id"] or "").strip() if room else head["room"]
            if room and room["id"]:
                extra["room_id"] = room["id"]
        yield build_message(
            "\n".join(block.body),
            kind=K.SYSTEM if system else None,
            quote_styles=("chatlog",),
            time=when,
            sender="" if system else (name or ident or ""),
            sender_id="" if system or ident in (None, "我") else ident,
            group=group,
            line=block.line,
            extra=extra,
        )


def read_chatlog_txt(
    path: str | os.PathLike[str], *, encoding: str | None = None, year: int | None = None
) -> Iterator[Message]:
    """Read sjzar/chatlog text output.

    Its default time stamps have no year. The year is taken, in order, from
    ``year``, from a header line before the first message that names one (e.g.
    ``2024-03-01~2024-03-31``), or else it is **the current year**. When the
    month goes back by more than six (December → January) the year is advanced.
    Full ``2006-01-02 15:04:05`` stamps keep their own year.

    Parameters
    ----------
    path : path-like
    encoding : str, optional
    year : int, optional
        Year of the first message.
    """
    return numbered(_read(path, encoding, year), os.fspath(path))


def sniff_txt(lines: list[str]) -> int:
    """How many of ``lines`` look like chatlog message headers."""
    return sum(1 for line in lines if CHATLOG_HEADER_RE.match(line))
