"""BlueMatthew/WechatExporter exports: text mode (``index.txt``) and HTML (``index.html``).

Text mode, from the exporter's ``templates_txt``::

    {群名} - 微信聊天记录
    NAME (YYYY-MM-DD HH:MM:SS):MESSAGE          one line per message
    "物业小李"邀请"赵师傅"加入了群聊            system notices: bare lines
    「名：原文」                                  quoted reply (refer.html): no name/time
    - - - - - - - - - - - - - - -
    回复
    NAME (TIME):TITLE - APPNAME                  shared link (share.html)
    NAME (TIME):TITLE                            merged forward, followed by
    << TITLE … inner NAME (TIME):MESSAGE lines … TITLE 结束 >>

Line breaks inside a message are written as ``<br />``. The exporter does not
write the sender or time of a quoted reply, so those records have ``sender ""``
and ``time None``. The inner messages of a merged forward are kept in the
container's ``extra["forwarded"]`` (the container is one ``other`` record).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from ..exceptions import ChatLogFormatError
from ..records import Message, MessageKind
from .encoding import iter_lines
from .special import (
    PLACEHOLDER_TEXT,
    build_message,
    error_message,
    kind_from_wechat_type,
    numbered,
    parse_time,
)

__all__ = ["read_wechatexporter_txt", "read_wechatexporter_html", "sniff_txt", "sniff_html"]

K = MessageKind

TITLE_RE = re.compile(r"^(?P<group>.*?) - (?:微信聊天记录|WeChat Chat History)\s*$")
LINE_RE = re.compile(
    r"^(?P<name>.{0,200}?) \((?P<time>\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}(?::\d{1,2})?)\):(?P<msg>.*)$"
)
_BROKEN_LINE_RE = re.compile(r"^[^\s(][^()]{0,63} \(\d{4}-\d")
_FORWARD_OPEN_RE = re.compile(r"^<< (?P<title>.*)$")
_FORWARD_CLOSE_RE = re.compile(r"^(?P<title>.*) (?:结束|End) >>$")
_SEPARATOR_RE = re.compile(r"^\s*-(?:\s*-){4,}\s*$")
_BR_RE = re.compile(r"<br\s*/?>", re.I)
_SHARE_RE = re.compile(r"^(?P<title>.+) - $")


def _unbreak(text: str) -> str:
    return _BR_RE.sub("\n", text)


def _line_message(match: re.Match[str], line: int, group: str) -> Message:
    """Message of a ``NAME (TIME):MESSAGE`` line (time already validated)."""
    text = _unbreak(match["msg"])
    kind = None
    extra: dict[str, Any] = {}
    share = _SHARE_RE.match(text)
    if share is not None:
        kind, extra["title"] = K.LINK, share["title"].strip()
    return build_message(
        text,
        kind=kind,
        time=parse_time(match["time"]),
        sender=match["name"].strip(),
        group=group,
        line=line,
        extra=extra,
    )


def _read_txt(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    group = ""
    first = True
    pending: Message | None = None  # last NAME (TIME) message, may become a forward
    forward: list[dict[str, Any]] | None = None  # inner messages while inside << >>
    depth = 0
    quote: tuple[int, list[str]] | None = None  # (line, [quoted, separator?]) being read

    def flush() -> Iterator[Message]:
        nonlocal pending
        if pending is not None:
            yield pending
            pending = None

    for number, text in iter_lines(path, encoding):
        if not text.strip():
            continue
        if first:
            first = False
            title = TITLE_RE.match(text)
            if title is not None:
                group = title["group"].strip()
                continue
        if forward is not None:
            if _FORWARD_OPEN_RE.match(text):
                depth += 1
            elif _FORWARD_CLOSE_RE.match(text):
                depth -= 1
                if depth == 0:
                    forward = None
                    continue
            inner = LINE_RE.match(text)
            if inner is not None and depth == 1:
                try:
                    when = parse_time(inner["time"])
                except ValueError:
                    when = None
                forward.append(
                    {
                        "sender": inner["name"].strip(),
                        "time": when.isoformat(sep=" ") if when else None,
                        "text": _unbreak(inner["msg"]),
                        "kind": MessageKind.TEXT,
                    }
                )
            elif forward:
                forward[-1]["text"] += "\n" + _unbreak(text)
            continue
        if quote is not None:
            start, parts = quote
            if len(parts) == 1 and _SEPARATOR_RE.match(text):
                parts.append(text)
                continue
            if len(parts) == 2:  # the reply line
                quote = None
                yield build_message(
                    "\n".join([*parts, _unbreak(text)]),
                    kind=K.QUOTE,
                    quote_styles=("phone",),
                    group=group,
                    line=start,
                )
                continue
            # "「" line without a separator: a bare (system) line after all
            quote = None
            yield build_message(parts[0], kind=K.SYSTEM, group=group, line=start)
        if pending is not None and _FORWARD_OPEN_RE.match(text):
            forward, depth = [], 1
            pending.kind = K.OTHER
            pending.mentions = []
            pending.extra["forwarded"] = forward
            continue
        match = LINE_RE.match(text)
        if match is not None:
            yield from flush()
            try:
                parse_time(match["time"])
            except ValueError as exc:
                yield error_message(text, str(exc), group=group, line=number)
                continue
            pending = _line_message(match, number, group)
            continue
        yield from flush()
        if text.startswith("「"):
            quote = (number, [_unbreak(text)])
        elif _BROKEN_LINE_RE.match(text) and not text.startswith('"'):
            yield error_message(text, "malformed message line", group=group, line=number)
        else:
            yield build_message(_unbreak(text), kind=K.SYSTEM, group=group, line=number)
    if quote is not None:
        start, parts = quote
        why = "quoted reply without its reply line"
        yield error_message("\n".join(parts), why, group=group, line=start)
    yield from flush()


def read_wechatexporter_txt(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[Message]:
    """Read a WechatExporter text export (``<session>/index.txt``).

    The ``{群名} - 微信聊天记录`` title gives ``group``; bare lines are system
    notices (``recall`` when they say so). A header-like line that does not parse
    becomes an ``error`` record.
    """
    return numbered(_read_txt(path, encoding), os.fspath(path))


_VOID = {"img", "br", "source", "input", "meta", "link", "hr", "wbr", "col", "area", "base"}


class _MessageParser(HTMLParser):
    """Collect WechatExporter ``<div class="msg …">`` elements as plain dicts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.done: list[dict[str, Any]] = []
        self.title = ""
        self._in_title = False
        self._msg: dict[str, Any] | None = None
        self._stack: list[tuple[str, str | None]] = []  # (tag, role) inside the message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        if self._msg is None:
            if tag == "title":
                self._in_title = True
            elif tag == "div" and "msg" in cls:
                self._msg = {
                    "line": self.getpos()[0],
                    "classes": cls,
                    "msgtype": a.get("msgtype", ""),
                    "msgid": a.get("msgid", ""),
                    "name": "",
                    "wxid": "",
                    "time": "",
                    "parts": [],
                    "media": set(),
                    "url": "",
                    "link_title": "",
                }
                self._stack = [("div", None)]
            return
        msg = self._msg
        parent = self._stack[-1][1] if self._stack else None
        role = parent
        if tag == "div" and "nt-box" in cls:
            role = "nt"
        elif tag == "span" and ("dspname" in cls or any(c.startswith("name-") for c in cls)):
            role = "name"
            msg["wxid"] = a.get("wxid", "")
        elif tag == "span" and "app-name" in cls:
            role = "app"
        elif tag == "span" and "msg-text" in cls:
            msg["parts"].append({"text": "", "refer": "refermsg" in cls})
            role = "text"
        elif tag == "span" and parent is None:
            msg["parts"].append({"text": "", "refer": False, "plain": True})
            role = "text"
        elif tag == "a" and a.get("href"):
            msg["url"] = msg["url"] or a["href"]
        elif tag == "b" and any(t == "a" for t, _ in self._stack):
            role = "link_title"
        elif tag == "br" and parent == "text":
            msg["parts"][-1]["text"] += "\n"
        elif tag == "img" and "avatar" not in cls and "app-icon" not in cls:
            msg["media"].add("img")
        elif tag in ("audio", "video"):
            msg["media"].add(tag)
        if tag not in _VOID:
            self._stack.append((tag, role))

    def handle_endtag(self, tag: str) -> None:
        if self._msg is None:
            if tag == "title":
                self._in_title = False
            return
        if tag in _VOID or all(open_tag != tag for open_tag, _ in self._stack):
            return  # <br />, <img …/> or a stray end tag
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break
        if not self._stack:
            self.done.append(self._msg)
            self._msg = None

    def handle_data(self, data: str) -> None:
        if self._msg is None:
            if self._in_title:
                self.title += data
            return
        role = self._stack[-1][1] if self._stack else None
        if role == "name":
            self._msg["name"] += data
        elif role == "nt":
            self._msg["time"] += data
        elif role == "text":
            self._msg["parts"][-1]["text"] += data
        elif role == "link_title":
            self._msg["link_title"] += data


def _html_message(item: dict[str, Any], group: str) -> Message:
    parts = [p["text"].strip("\n") for p in item["parts"] if p["text"].strip()]
    text = "\n".join(parts)
    line = item["line"]
    extra: dict[str, Any] = {"msgid": item["msgid"], "msgtype": item["msgtype"]}
    extra["is_self"] = "right" in item["classes"]
    notice = "chat-notice" in item["classes"] or item["msgtype"] in ("10000", "10002")
    if notice:
        return build_message(text, kind=K.SYSTEM, group=group, line=line, extra=extra)
    try:
        when = parse_time(item["time"])
    except ValueError as exc:
        return error_message(text, str(exc), group=group, line=line, extra=extra)
    kind: str | None = kind_from_wechat_type(item["msgtype"]) if item["msgtype"] else None
    if kind == K.LINK:  # type 49 without subtype: quote, link, file… decided below
        kind = None
    if any(p["refer"] for p in item["parts"]):
        kind = K.QUOTE
    elif item["link_title"] or (kind is None and item["url"]):
        kind = K.LINK
        extra["title"] = item["link_title"].strip()
        extra["url"] = item["url"]
        text = "\n".join(t for t in (item["link_title"].strip(), text) if t)
    if kind not in (None, K.TEXT, K.QUOTE) and not text:
        text = PLACEHOLDER_TEXT.get(kind, "")
    if kind is None and not text and item["media"]:
        kind = K.IMAGE if "img" in item["media"] else K.VOICE if "audio" in item["media"] else K.VIDEO
        text = PLACEHOLDER_TEXT[kind]
    return build_message(
        text,
        kind=kind,
        quote_styles=("phone",),
        time=when,
        sender=item["name"].strip(),
        sender_id=item["wxid"],
        group=group,
        line=line,
        extra=extra,
    )


def _read_html(path: str | os.PathLike[str], encoding: str | None) -> Iterator[Message]:
    parser = _MessageParser()
    for number, line in iter_lines(path, encoding, keepends=True):
        try:
            parser.feed(line)
        except AssertionError as exc:  # html.parser asserts on some malformed markup ("<![C]>")
            raise ChatLogFormatError(f"{os.fspath(path)}:{number}: malformed HTML ({exc or 'parser error'})") from None
        while parser.done:
            group = TITLE_RE.sub(r"\g<group>", parser.title.strip())
            yield _html_message(parser.done.pop(0), group)
    try:
        parser.close()
    except AssertionError as exc:
        raise ChatLogFormatError(f"{os.fspath(path)}: malformed HTML at the end ({exc or 'parser error'})") from None
    for item in parser.done:
        yield _html_message(item, TITLE_RE.sub(r"\g<group>", parser.title.strip()))


def read_wechatexporter_html(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Iterator[Message]:
    """Read a WechatExporter HTML export (a full ``index.html`` or its body fragment).

    Each ``<div class="msg …">`` is one record; ``chat-notice`` divs are system
    notices; a ``refermsg`` span makes a quoted reply. ``line`` is the line of the
    message's opening ``<div>``; ``sender_id`` is the ``wxId`` attribute.
    """
    return numbered(_read_html(path, encoding), os.fspath(path))


def sniff_txt(lines: list[str]) -> int:
    """Score of ``lines`` as WechatExporter text: message lines, plus 100 for the title."""
    score = sum(1 for line in lines if LINE_RE.match(line))
    first = next((line for line in lines if line.strip()), "")
    return score + (100 if TITLE_RE.match(first) else 0)


def sniff_html(head: str) -> bool:
    """True when a file head looks like WechatExporter HTML."""
    if re.search(r"<title>[^<]{0,200} - 微信聊天记录</title>", head):
        return True
    # Bounded attribute run: ``<div[^>]*`` was quadratic on "<div" repeated with no ">".
    return re.search(r"<div[^>]{0,300}\bclass=\"msg\b", head) is not None and "nt-box" in head
