"""MemoTrace (留痕) exports: v2.x CSV and TXT, v3/4.x CSV and TXT.

* v2 CSV: ``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,
  StrTime,Remark,NickName,Sender``; WeChat type codes; raw XML for media.
* v3/4 CSV: ``消息ID,类型,发送人,时间,内容,备注,昵称,更多信息``; Chinese type names.
* TXT (both versions): ``{time} {name}`` then the content, blank line between
  messages. v2 writes system notices on the header line (``{time} {notice}``),
  v3/4 on the line after a bare ``{time}``. Quotes end with ``引用:名:原文``.

The CSV exports carry no chat name, so ``group`` is "".
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ..records import Message, MessageKind
from .encoding import iter_csv_dicts, iter_lines
from .special import (
    build_message,
    error_message,
    from_timestamp,
    iter_blocks,
    kind_from_type_name,
    kind_from_wechat_type,
    numbered,
    parse_forward_items,
    parse_time,
    wechat_placeholder,
)

__all__ = [
    "V2_COLUMNS",
    "V3_COLUMNS",
    "V2_REQUIRED",
    "V3_REQUIRED",
    "read_memotrace_v2_csv",
    "read_memotrace_v3_csv",
    "read_memotrace_txt",
    "sniff_txt",
]

K = MessageKind
_QUOTES = ("memotrace",)

V2_COLUMNS = (
    "localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime",
    "Status", "StrContent", "StrTime", "Remark", "NickName", "Sender",
)
V3_COLUMNS = ("消息ID", "类型", "发送人", "时间", "内容", "备注", "昵称", "更多信息")
V2_REQUIRED = ("Type", "StrContent", "StrTime", "Sender")
V3_REQUIRED = ("类型", "发送人", "时间", "内容")

TXT_HEADER_RE = re.compile(
    r"^(?P<time>\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2})(?: (?P<name>.*))?$"
)
_APP_FIELDS = ("title", "des", "url")


def _app_fields(xml: str) -> dict[str, str]:
    """Title, description and URL of an appmsg XML (link, file), when present.

    Plain ``str.find`` rather than a lazy regex: ``<title>(.*?)</title>`` is quadratic on a
    field full of ``<title>`` with no closing tag (a 126 KB row took 28 s).
    """
    found = {}
    for name in _APP_FIELDS:
        opening, closing = f"<{name}>", f"</{name}>"
        start = xml.find(opening)
        if start == -1:
            continue
        end = xml.find(closing, start + len(opening))
        if end == -1:
            continue
        value = xml[start + len(opening) : end]
        value = value.removeprefix("<![CDATA[").removesuffix("]]>").strip()
        if value:
            found[name] = value
    return found


def _v2_row(row: dict[str, str], line: int, raw: str) -> Message:
    kind = kind_from_wechat_type(row["Type"], row.get("SubType", "0"))
    content = row["StrContent"]
    extra: dict = {
        "local_id": row.get("localId", ""),
        "type": row["Type"],
        "subtype": row.get("SubType", ""),
        "talker_id": row.get("TalkerId", ""),
        "is_self": row.get("IsSender", "") == "1",
    }
    time_text = row["StrTime"] or row.get("CreateTime", "")
    try:
        when = parse_time(time_text)
    except ValueError:
        try:
            when = from_timestamp(float(row.get("CreateTime", "")))
        except ValueError:
            return error_message(raw, f"bad time {time_text!r}", line=line, extra=extra)
    if kind not in (K.TEXT, K.SYSTEM) and (not content.strip() or content.lstrip().startswith("<")):
        fields = _app_fields(content)
        extra.update(fields)
        if row["Type"] == "49" and row.get("SubType") == "19":
            try:
                _, items = parse_forward_items(content)
                extra["forwarded"] = [item.to_extra() for item in items]
            except ValueError:
                pass
        placeholder = wechat_placeholder(row["Type"], row.get("SubType", "0"))
        content = " ".join(t for t in (placeholder, fields.get("title", "")) if t)
    system = kind == K.SYSTEM
    return build_message(
        content,
        kind=kind,
        quote_styles=_QUOTES,
        time=when,
        sender="" if system else (row.get("Remark") or row.get("NickName") or row["Sender"]),
        sender_id="" if system else row["Sender"],
        line=line,
        extra=extra,
    )


def _read_v2_csv(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    for line, row, raw, problem in iter_csv_dicts(
        path, encoding, required=V2_REQUIRED, what="MemoTrace v2 CSV"
    ):
        yield _v2_row(row, line, raw) if row is not None else error_message(raw, problem, line=line)


def read_memotrace_v2_csv(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[Message]:
    """Read a MemoTrace v2.x CSV export (``<备注>_utf8.csv``).

    The sender is ``Remark`` or else ``NickName``; ``sender_id`` is the wxid of
    ``Sender``. Times come from ``StrTime`` (``CreateTime`` as a fallback, shown in
    China time). Media rows, whose ``StrContent`` is raw XML, get a placeholder
    text (``[图片]``...); links and files keep their title/url in ``extra``.

    Raises
    ------
    ChatLogFormatError
        On iteration, when the header is not a MemoTrace v2 header.
    """
    return numbered(_read_v2_csv(path, encoding), os.fspath(path))


def _read_v3_csv(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    for line, row, raw, problem in iter_csv_dicts(
        path, encoding, required=V3_REQUIRED, what="MemoTrace v3/4 CSV"
    ):
        if row is None:
            yield error_message(raw, problem, line=line)
            continue
        try:
            when = parse_time(row["时间"])
        except ValueError as exc:
            yield error_message(raw, str(exc), line=line)
            continue
        kind = kind_from_type_name(row["类型"])
        extra = {
            "msg_id": row.get("消息ID", ""),
            "type": row["类型"],
            "remark": row.get("备注", ""),
            "nickname": row.get("昵称", ""),
        }
        yield build_message(
            row["内容"],
            kind=kind,
            quote_styles=_QUOTES,
            time=when,
            sender="" if kind == K.SYSTEM else row["发送人"],
            line=line,
            extra=extra,
        )


def read_memotrace_v3_csv(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[Message]:
    """Read a MemoTrace v3/4.x CSV export (``<备注>.csv``, columns ``消息ID,类型,…``).

    ``类型`` gives the kind (unknown type names fall back on the content);
    the sender is ``发送人``; ``备注``/``昵称`` go to ``extra``.

    Raises
    ------
    ChatLogFormatError
        On iteration, when the header is not a MemoTrace v3/4 header.
    """
    return numbered(_read_v3_csv(path, encoding), os.fspath(path))


def _read_txt(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    for block in iter_blocks(iter_lines(path, encoding), TXT_HEADER_RE):
        if block.head is None:
            yield error_message(block.raw, "line outside any message", line=block.line)
            continue
        try:
            when = parse_time(block.head["time"])
        except ValueError as exc:
            yield error_message(block.raw, str(exc), line=block.line)
            continue
        name = (block.head["name"] or "").strip()
        body = "\n".join(block.body)
        if not body and not name:
            yield error_message(block.raw, "time stamp without content", line=block.line)
        elif not body:  # v2 system notice on the header line
            yield build_message(name, kind=K.SYSTEM, time=when, line=block.line)
        elif not name:  # v3/4 system notice under a bare time stamp
            yield build_message(body, kind=K.SYSTEM, time=when, line=block.line)
        else:
            yield build_message(
                body, quote_styles=_QUOTES, time=when, sender=name, line=block.line
            )


def read_memotrace_txt(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[Message]:
    """Read a MemoTrace TXT export (v2.x ``[图片]`` or v3/4.x ``【图片】`` placeholders).

    Lines outside any message become ``error`` records; a header with an
    invalid time becomes an ``error`` record holding the whole message.
    """
    return numbered(_read_txt(path, encoding), os.fspath(path))


def sniff_txt(lines: list[str]) -> int:
    """How many of ``lines`` look like MemoTrace TXT message headers."""
    return sum(1 for line in lines if TXT_HEADER_RE.match(line))
