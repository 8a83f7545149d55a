"""Helpers shared by every chat-log reader.

Everything that more than one exporter needs lives here, written once:

* time parsing (:func:`parse_time`, :func:`from_timestamp`);
* the message kind of a placeholder (``[图片]``, ``【语音】``, ``语音时长：5.23秒``,
  ``![图片](url)``...), of a WeChat type code and of an exporter's type name;
* recall / join / other system lines (:func:`system_kind`, :func:`is_system_text`);
* @mentions ended by U+2005 (phones) or a space (PC/Mac) (:func:`extract_mentions`);
* quoted replies in the four known layouts (:func:`split_quote`);
* record construction (:func:`build_message`, :func:`error_message`, :func:`numbered`);
* splitting a text export into header + body blocks (:func:`iter_blocks`);
* the inner messages of a merged-forward (合并转发) appmsg XML (:func:`parse_forward_items`).
"""

from __future__ import annotations

import datetime as _dt
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from ..records import Message, MessageKind

__all__ = [
    "CHINA_TZ",
    "QUOTE_STYLES",
    "PLACEHOLDER_TEXT",
    "CHATLOG_HEADER_RE",
    "parse_time",
    "from_timestamp",
    "placeholder_kind",
    "kind_from_type_name",
    "kind_from_wechat_type",
    "wechat_placeholder",
    "system_kind",
    "is_system_text",
    "extract_mentions",
    "Quote",
    "split_quote",
    "build_message",
    "error_message",
    "numbered",
    "Block",
    "iter_blocks",
    "ForwardItem",
    "parse_forward_items",
]

K = MessageKind

#: WeChat and QQ stamp times in China Standard Time; Unix timestamps are shown in it.
CHINA_TZ = _dt.timezone(_dt.timedelta(hours=8), "CST")

# --------------------------------------------------------------------------- time

_PLAIN_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.ASCII)
_TIME_RE = re.compile(
    r"""^\s*
    (?:(?P<y>\d{4})\s*[-/.年]\s*)?
    (?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?
    (?:
        (?:[ T]+|\s*)
        (?:(?P<ap1>AM|PM|am|pm|上午|下午|晚上|中午|凌晨)\s*)?
        (?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,6}))?)?
        \s*(?P<ap2>AM|PM|am|pm|上午|下午|晚上|中午|凌晨)?
    )?
    \s*$""",
    re.X,
)
_PM = {"PM", "pm", "下午", "晚上", "中午"}


def from_timestamp(value: float) -> _dt.datetime:
    """Naive China-time datetime of a Unix timestamp (seconds, or milliseconds if > 1e11)."""
    if value > 1e11:
        value /= 1000.0
    try:
        return _dt.datetime.fromtimestamp(value, CHINA_TZ).replace(tzinfo=None)
    except (OverflowError, OSError) as exc:  # inf, 1e20, ...: callers handle ValueError
        raise ValueError(f"timestamp {value!r} is out of range") from exc


def parse_time(value: Any, *, year: int | None = None) -> _dt.datetime | None:
    """Parse an exporter's time stamp into a naive datetime.

    Accepts ``2024-03-05 08:12:03``, ``2024/3/5 8:12``, ``2024-3-4 19:40``, a date
    alone, ``8:12:03 PM`` / ``下午`` markers, ISO ``T`` separators, yearless
    ``03-05 08:12:03`` (with ``year``) and Unix timestamps in seconds or
    milliseconds (shown in China time, see :data:`CHINA_TZ`).

    Parameters
    ----------
    value : str, int, float or None
        The raw value.
    year : int, optional
        Year for stamps that have none.

    Returns
    -------
    datetime.datetime or None
        None when ``value`` is empty.

    Raises
    ------
    ValueError
        When the value is not a valid time (e.g. month 13 or garbage).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_timestamp(float(value))
    text = str(value).strip()
    if not text:
        return None
    if _PLAIN_TIME_RE.fullmatch(text) is not None:  # the common "2024-03-05 08:12:03", fast
        return _dt.datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19])
        )
    if len(text) > 64:
        raise ValueError(f"unrecognised time {text[:64]!r}...")
    if re.fullmatch(r"\d{9,13}(?:\.\d+)?", text):
        return from_timestamp(float(text))
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"unrecognised time {text!r}")
    if m["y"] is None and year is None:
        raise ValueError(f"time {text!r} has no year")
    hour = int(m["h"] or 0)
    marker = m["ap1"] or m["ap2"]
    if marker is not None:
        if marker in _PM and hour < 12:
            hour += 12
        elif marker in {"AM", "am", "凌晨", "上午"} and hour == 12:
            hour = 0
    return _dt.datetime(
        int(m["y"]) if m["y"] else int(year),  # type: ignore[arg-type]
        int(m["mo"]),
        int(m["d"]),
        hour,
        int(m["mi"] or 0),
        int(m["s"] or 0),
        int((m["f"] or "0").ljust(6, "0")),
    )


# --------------------------------------------------------------------------- kinds

#: Placeholder ``text`` written for media records of formats that store raw XML.
PLACEHOLDER_TEXT = {
    K.IMAGE: "[图片]",
    K.VOICE: "[语音]",
    K.VIDEO: "[视频]",
    K.STICKER: "[表情]",
    K.FILE: "[文件]",
    K.LINK: "[链接]",
    K.OTHER: "[其他消息]",
    K.QUOTE: "",
    K.SYSTEM: "",
    K.RECALL: "[撤回了一条消息]",
}

# Name inside ``[...]`` / ``【...】`` placeholders of WeChatExporter, MemoTrace,
# chatlog and QQ, mapped to a kind.
_BRACKET_KINDS = {
    "图片": K.IMAGE, "照片": K.IMAGE, "闪照": K.IMAGE, "图片消息": K.IMAGE,
    "语音": K.VOICE, "语音消息": K.VOICE,
    "视频": K.VIDEO, "小视频": K.VIDEO,
    "表情": K.STICKER, "表情包": K.STICKER, "动画表情": K.STICKER, "GIF表情": K.STICKER,
    "自定义表情": K.STICKER, "动态表情": K.STICKER,
    "文件": K.FILE,
    "链接": K.LINK, "分享链接": K.LINK, "分享": K.LINK, "音乐分享": K.LINK, "音乐": K.LINK,
    "卡片式链接": K.LINK, "分享卡片": K.LINK, "公众号文章": K.LINK,
    "位置": K.OTHER, "位置分享": K.OTHER, "红包": K.OTHER, "QQ红包": K.OTHER, "转账": K.OTHER,
    "个人名片": K.OTHER, "名片": K.OTHER, "视频/语音通话": K.OTHER, "语音通话": K.OTHER,
    "视频通话": K.OTHER, "音视频通话": K.OTHER, "合并转发": K.OTHER,
    "合并转发的聊天记录": K.OTHER, "聊天记录": K.OTHER, "视频号": K.OTHER, "小程序": K.OTHER,
    "群公告": K.OTHER, "红包封面": K.OTHER, "拍一拍": K.OTHER, "戳一戳": K.OTHER,
    "窗口抖动": K.OTHER, "引用": K.OTHER, "分享位置": K.OTHER,
}
# Kinds whose placeholder stands alone (an optional "(url)" aside); "[图片]谢谢" is text.
_ALONE = {K.IMAGE, K.VOICE, K.VIDEO, K.STICKER}
# The inner part must start with a separator the name cannot hold: no ambiguous split.
_BRACKET_RE = re.compile(
    r"^!?[\[【](?P<name>[^\]】|:：\s]{1,20})(?P<inner>[|:：\s][^\]】\n]{0,200})?[\]】](?P<rest>.*)$", re.S
)
_BARE_PLACEHOLDERS = (
    (re.compile(r"^语音时长[:：]\s*\d+(?:\.\d+)?\s*秒$"), K.VOICE),  # PyWxDump
)


def placeholder_kind(text: str) -> str | None:
    """Kind of a message whose whole body is an exporter placeholder, else None.

    Examples: ``[图片]`` → image, ``[语音 5"]`` → voice, ``【表情包】`` → sticker,
    ``[文件: a.pdf]`` → file, ``【分享链接】\\n标题：…`` → link, ``![图片](url)`` → image,
    ``[红包]`` → other. Text with an inline placeholder (``丢了[图片]``) is not one.
    """
    body = text.strip()
    if not body or body[0] not in "[【!语":  # every placeholder starts so; most texts do not
        return None
    m = _BRACKET_RE.match(body)
    if m is not None:
        kind = _BRACKET_KINDS.get(m["name"])
        if kind is not None:
            rest = m["rest"].strip()
            if kind not in _ALONE or not rest or re.fullmatch(r"\(\S*\)", rest):
                return kind
    for pattern, kind in _BARE_PLACEHOLDERS:
        if pattern.match(body):
            return kind
    return None


_TYPE_NAME_KINDS = {
    "文本": K.TEXT, "文字": K.TEXT, "text": K.TEXT,
    "图片": K.IMAGE, "语音": K.VOICE, "视频": K.VIDEO,
    "表情": K.STICKER, "表情包": K.STICKER, "动画表情": K.STICKER, "GIF表情": K.STICKER,
    "文件": K.FILE,
    "分享链接": K.LINK, "卡片式链接": K.LINK, "链接": K.LINK, "音乐与音频": K.LINK,
    "音乐": K.LINK, "公众号": K.LINK, "公众号文章": K.LINK, "分享卡片": K.LINK,
    "系统消息": K.SYSTEM, "系统通知": K.SYSTEM, "拍一拍": K.SYSTEM, "拍一拍消息": K.SYSTEM,
    "撤回消息": K.RECALL,
    "引用消息": K.QUOTE, "引用回复": K.QUOTE, "回复": K.QUOTE,
}


def kind_from_type_name(name: str) -> str | None:
    """Kind of an exporter's Chinese type name (MemoTrace v3 ``类型``, PyWxDump ``type_name``).

    ``(分享)卡片式链接`` style prefixes are ignored; unknown names fall back on
    key words and finally give None (the caller then looks at the content).
    """
    name = re.sub(r"^[(（][^)）]*[)）]", "", name.strip())
    kind = _TYPE_NAME_KINDS.get(name)
    if kind is not None:
        return kind
    for word, word_kind in (
        ("撤回", K.RECALL), ("引用", K.QUOTE), ("系统", K.SYSTEM), ("链接", K.LINK),
        ("表情", K.STICKER), ("图片", K.IMAGE), ("通话", K.OTHER), ("视频号", K.OTHER),
        ("语音", K.VOICE), ("视频", K.VIDEO), ("文件", K.FILE), ("文本", K.TEXT),
        ("转发", K.OTHER), ("位置", K.OTHER), ("红包", K.OTHER), ("转账", K.OTHER),
        ("名片", K.OTHER), ("小程序", K.OTHER),
    ):
        if word in name:
            return word_kind
    return None


_APP_SUBTYPE_KINDS = {
    57: K.QUOTE, 5: K.LINK, 4: K.LINK, 3: K.LINK, 6: K.FILE, 8: K.STICKER, 19: K.OTHER,
    33: K.OTHER, 36: K.OTHER, 51: K.OTHER, 62: K.SYSTEM, 87: K.OTHER, 2000: K.OTHER,
    2001: K.OTHER, 2003: K.OTHER,
}
_WECHAT_TYPE_KINDS = {
    1: K.TEXT, 3: K.IMAGE, 34: K.VOICE, 42: K.OTHER, 43: K.VIDEO, 47: K.STICKER, 48: K.OTHER,
    50: K.OTHER, 37: K.OTHER, 10000: K.SYSTEM, 10002: K.SYSTEM,
}


_APP_SUBTYPE_PLACEHOLDERS = {
    19: "[合并转发]", 33: "[小程序]", 36: "[小程序]", 51: "[视频号]", 2000: "[转账]",
    2001: "[红包]", 2003: "[红包封面]", 87: "[群公告]",
}
_WECHAT_TYPE_PLACEHOLDERS = {42: "[名片]", 48: "[位置]", 50: "[通话]", 37: "[好友请求]"}


def wechat_placeholder(type_code: int | str, subtype: int | str = 0) -> str:
    """Placeholder text for a WeChat ``Type``/``SubType`` whose content is not text."""
    try:
        code, sub = int(type_code), int(subtype or 0)
    except ValueError:
        return PLACEHOLDER_TEXT[K.OTHER]
    special = _APP_SUBTYPE_PLACEHOLDERS.get(sub) if code == 49 else _WECHAT_TYPE_PLACEHOLDERS.get(code)
    return special or PLACEHOLDER_TEXT[kind_from_wechat_type(code, sub)]


def kind_from_wechat_type(type_code: int | str, subtype: int | str = 0) -> str:
    """Kind of a WeChat database ``Type`` / ``SubType`` pair (49 = app message)."""
    try:
        code, sub = int(type_code), int(subtype or 0)
    except ValueError:
        return K.OTHER
    if code == 49:
        return _APP_SUBTYPE_KINDS.get(sub, K.LINK if sub == 0 else K.OTHER)
    return _WECHAT_TYPE_KINDS.get(code, K.OTHER)


# --------------------------------------------------------------------------- system lines

_NAME = r"(?:你|我|\"[^\"\n]*\"|“[^”\n]*”|[^\s\"“”]{1,32})"
_RECALL_RE = re.compile(r"撤回了一条(?:消息|成员消息|成员的消息)|recalled a message")
_SYSTEM_RES = tuple(
    re.compile(p)
    for p in (
        rf"^(?:<!\[CDATA\[)?{_NAME}\s*撤回了一条(?:消息|成员消息|成员的消息)",
        rf"^{_NAME}\s*邀请.{{1,200}}加入了群聊",
        rf"^{_NAME}\s*通过扫描.{{1,100}}二维码加入群聊",
        rf"^{_NAME}\s*(?:加入了群聊|加入本群|退出了本群|已退出该群)",
        rf"^{_NAME}\s*将.{{1,100}}移出(?:了)?群聊",
        rf"^{_NAME}\s*修改群名为",
        rf"^{_NAME}\s*(?:已)?成为新群主",
        rf"^{_NAME}\s*拍了拍",
        r"与群里其他人都不是(?:微信)?朋友关系",
        r"^你已添加了.{1,64}，现在可以开始聊天了",
        r"开启了朋友验证",
        r"^以上是打招呼的内容$",
        r"^以下为新消息$",
        r"^收到红包，请在手机上查看$",
        r"^(?:群公告|群聊名称)已(?:更新|修改)",
    )
)


def system_kind(text: str) -> str:
    """``"recall"`` for a recall notice, else ``"system"`` (for a line known to be a system line)."""
    return K.RECALL if _RECALL_RE.search(text) else K.SYSTEM


def is_system_text(text: str) -> bool:
    """True when a bare line is a WeChat/QQ system notice (recall, join, rename, pat...)."""
    body = text.strip()
    return len(body) <= 400 and any(p.search(body) for p in _SYSTEM_RES)


# --------------------------------------------------------------------------- mentions

_AT_RE = re.compile(r"(?<![0-9A-Za-z_.\-+])[@＠]")
_MENTION_STOPS = frozenset(" \t\r\n\u2005\u3000\u00a0@＠，。！？：；、,!?;:()（）[]【】「」\"'“”")


def extract_mentions(text: str) -> list[str]:
    """Names @-mentioned in a message, in order, without duplicates.

    Phones end a mention with U+2005 (FOUR-PER-EM SPACE), so a name up to the
    next U+2005 may contain spaces; PC/Mac end it with a space, and a mention is
    also ended by punctuation, a line break or the end of the text. ``@`` after a
    letter or digit (an e-mail address) is not a mention.
    """
    found: list[str] = []
    if "@" not in text and "＠" not in text:
        return found
    for m in _AT_RE.finditer(text):
        start = m.end()
        stop = text.find("\u2005", start)
        name = ""
        if stop != -1 and stop - start <= 20:
            candidate = text[start:stop]
            if not any(c in "\n\r\t@＠，。！？" for c in candidate):
                name = candidate
        if not name:
            end = start
            while end < len(text) and end - start < 40 and text[end] not in _MENTION_STOPS:
                end += 1
            name = text[start:end]
        name = name.strip()
        if name and name not in found:
            found.append(name)
    return found


# --------------------------------------------------------------------------- quotes


class Quote(NamedTuple):
    """A quoted reply split into the reply and the quoted message."""

    reply: str
    sender: str
    text: str
    time: str = ""


#: Quote layouts understood by :func:`split_quote`.
QUOTE_STYLES = ("phone", "memotrace", "pywxdump", "chatlog")

_PHONE_QUOTE_RE = re.compile(
    r"\A「(?P<body>.*)」[ \t]*\n[ \t]*-(?:[ \t]*-){4,}[ \t]*(?:\n(?P<reply>.*))?\Z", re.S
)
_MEMOTRACE_QUOTE_RE = re.compile(
    r"\A(?P<reply>.*?)(?:\n|\A)引用[:：](?P<name>[^:：\n]*)[:：][ \t]?(?P<text>.*)\Z", re.S
)
_PYWXDUMP_QUOTE_RE = re.compile(
    r"\A(?P<reply>.*?)\n\n\[引用\]\((?P<time>[^)\n]*)\)(?P<name>[^:：\n]*)[:：](?P<text>.*)\Z", re.S
)
_CHATLOG_QUOTE_RE = re.compile(r"\A(?P<quoted>(?:>[^\n]*(?:\n|\Z))+)(?P<reply>.*)\Z", re.S)

#: sjzar/chatlog message header: ``昵称(wxid) [群名(id)] 01-02 15:04:05`` (year optional).
CHATLOG_HEADER_RE = re.compile(
    r"^(?P<name>.{0,100}?)(?:\((?P<id>[^()\s]{0,100})\))?"
    r"(?: \[(?P<room>[^\]\n]{0,200})\])?"
    r" (?P<time>(?:\d{4}-)?\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2})$"
)


def _split_name(body: str) -> tuple[str, str]:
    for sep in ("：", ":"):
        name, found, text = body.partition(sep)
        if found:
            return name.strip(), text.strip()
    return "", body.strip()


def split_quote(text: str, styles: Sequence[str] = QUOTE_STYLES) -> Quote | None:
    """Split a quoted reply, or return None when ``text`` is not one.

    Styles
    ------
    phone
        Copied from a phone / WechatExporter: ``「名：原文」\\n- - - … -\\n回复``.
    memotrace
        MemoTrace: ``回复\\n引用:名:原文`` (v2) or ``回复\\n引用：名: 原文`` (v3/4).
    pywxdump
        PyWxDump: ``回复\\n\\n[引用](2024-03-05 08:12:03)名:原文``.
    chatlog
        sjzar/chatlog: ``> 名(wxid) 03-05 08:12:03\\n> 原文\\n回复``, or ``> [引用]\\n回复``
        when the quoted message is unknown.
    """
    text = text.replace("\r\n", "\n")
    for style in styles:
        if style == "phone":
            m = _PHONE_QUOTE_RE.match(text)
            if m:
                name, quoted = _split_name(m["body"])
                return Quote((m["reply"] or "").strip("\n"), name, quoted)
        elif style == "memotrace":
            m = _MEMOTRACE_QUOTE_RE.match(text)
            if m:
                return Quote(m["reply"].strip("\n"), m["name"].strip(), m["text"].strip())
        elif style == "pywxdump":
            m = _PYWXDUMP_QUOTE_RE.match(text)
            if m:
                return Quote(m["reply"].strip("\n"), m["name"].strip(), m["text"].strip(), m["time"])
        elif style == "chatlog":
            m = _CHATLOG_QUOTE_RE.match(text)
            if m:
                lines = [ln[1:].removeprefix(" ") for ln in m["quoted"].rstrip("\n").split("\n")]
                name = when = ""
                if lines and lines[0].strip() == "[引用]":
                    lines = lines[1:]
                else:
                    head = CHATLOG_HEADER_RE.match(lines[0])
                    if head:
                        name, when, lines = head["name"], head["time"], lines[1:]
                return Quote(m["reply"].strip("\n"), name, "\n".join(lines).strip(), when)
        else:
            raise ValueError(f"unknown quote style {style!r}; expected one of {QUOTE_STYLES}")
    return None


# --------------------------------------------------------------------------- records


def build_message(
    text: str,
    *,
    kind: str | None = None,
    quote_styles: Sequence[str] = (),
    **fields: Any,
) -> Message:
    """Make a :class:`Message`, deriving what the content tells.

    Parameters
    ----------
    text : str
        Message body as exported.
    kind : str, optional
        Kind known from the format (type column, message type...). When None it is
        read from the content: a placeholder gives its kind, otherwise text.
        ``"system"`` is refined into ``"recall"`` for recall notices.
    quote_styles : sequence of str
        Quote layouts (see :func:`split_quote`) to try on text and quote messages.
    **fields
        Other :class:`Message` fields (sender, time, line, extra...).
    """
    quote = None
    text = text.replace("\r\n", "\n")
    if kind is None:
        kind = placeholder_kind(text) or K.TEXT
    elif kind == K.SYSTEM:
        kind = system_kind(text)
    if kind in (K.TEXT, K.QUOTE) and quote_styles:
        quote = split_quote(text, quote_styles)
    if quote is not None:
        kind, text = K.QUOTE, quote.reply
        fields["quoted_text"], fields["quoted_sender"] = quote.text, quote.sender
        if quote.time:
            fields.setdefault("extra", {})["quoted_time"] = quote.time
    if kind in (K.TEXT, K.QUOTE):
        text = text.strip("\r\n")
        fields["mentions"] = extract_mentions(text)
    else:
        text = text.strip()
    return Message(text=text, kind=kind, **fields)


def error_message(raw: str, why: str, *, line: int, **fields: Any) -> Message:
    """A ``kind="error"`` record keeping the raw content of an unparsable line or row."""
    return Message(text=raw, kind=K.ERROR, error=why, line=line, **fields)


def numbered(messages: Iterable[Message], source: str) -> Iterator[Message]:
    """Stamp ``source`` and the 0-based ``index`` on records in input order."""
    for index, message in enumerate(messages):
        message.index = index
        message.source = source
        yield message


# --------------------------------------------------------------------------- blocks


class Block(NamedTuple):
    """Lines of one message of a text export: a header line and its body.

    ``head`` is None for a loose line (outside any message) and for a break line.
    """

    line: int
    head: re.Match[str] | None
    lines: list[str]
    is_break: bool = False

    @property
    def body(self) -> list[str]:
        """Body lines without leading/trailing blank lines, common indentation removed."""
        lines = self.lines[1:] if self.head is not None else self.lines
        start, end = 0, len(lines)
        while start < end and not lines[start].strip():
            start += 1
        while end > start and not lines[end - 1].strip():
            end -= 1
        if end - start == 1:  # one line: what dedent does to it, without its regexes
            return [lines[start].lstrip(" \t")]
        return textwrap.dedent("\n".join(lines[start:end])).split("\n") if end > start else []

    @property
    def raw(self) -> str:
        """The block's lines as in the file (trailing blank lines dropped)."""
        return "\n".join(self.lines).rstrip()


def iter_blocks(
    lines: Iterable[tuple[int, str]],
    header: re.Pattern[str],
    *,
    is_break: Callable[[str], bool] | None = None,
) -> Iterator[Block]:
    """Group ``(line number, line)`` pairs into message blocks.

    A line matching ``header`` starts a block when it opens the file, follows a
    blank line, a break line or a loose line; inside a block it is body text
    (a message may contain lines that look like headers). Non-blank lines
    before any header are yielded one by one as loose blocks. Lines for which
    ``is_break`` is true (section separators) end the current block and are
    yielded on their own.
    """
    current: list[str] | None = None
    start = 0
    head: re.Match[str] | None = None
    after_blank = True
    for number, text in lines:
        if is_break is not None and is_break(text):
            if current is not None:
                yield Block(start, head, current)
                current = None
            yield Block(number, None, [text], True)
            after_blank = True
            continue
        if not text.strip():
            if current is not None:
                current.append(text)
            after_blank = True
            continue
        match = header.match(text) if after_blank or current is None else None
        after_blank = False
        if match is not None:
            if current is not None:
                yield Block(start, head, current)
            current, start, head = [text], number, match
        elif current is None:
            yield Block(number, None, [text])
        else:
            current.append(text)
    if current is not None:
        yield Block(start, head, current)


# --------------------------------------------------------------------------- merged forward


class ForwardItem(NamedTuple):
    """One message inside a merged-forward (合并转发) record."""

    sender: str
    time: _dt.datetime | None
    text: str
    kind: str
    offset: int  # character offset of the item in the record XML (for line numbers)

    def to_extra(self) -> dict[str, Any]:
        """JSON-friendly dict for :attr:`Message.extra`."""
        return {
            "sender": self.sender,
            "time": self.time.isoformat(sep=" ") if self.time else None,
            "text": self.text,
            "kind": self.kind,
        }


_DATATYPE_KINDS = {
    "1": K.TEXT, "2": K.IMAGE, "3": K.VOICE, "4": K.VIDEO, "5": K.LINK, "6": K.OTHER,
    "7": K.LINK, "8": K.FILE, "15": K.STICKER, "16": K.OTHER, "17": K.OTHER, "19": K.OTHER,
    "22": K.OTHER,
}


def parse_forward_items(xml_text: str) -> tuple[str, list[ForwardItem]]:
    """Title and inner messages of a merged-forward appmsg (``<type>19</type>``).

    Accepts the whole ``<msg><appmsg>…<recorditem><![CDATA[<recordinfo>…`` document
    or the ``<recordinfo>`` alone. Times come from ``srcMsgCreateTime`` (seconds
    precision) or else ``sourcetime``.

    Raises
    ------
    ValueError
        When the XML is malformed or holds no record.
    """
    try:
        root = ET.fromstring(xml_text.strip())
    except ET.ParseError as exc:
        raise ValueError(f"malformed merged-forward XML: {exc}") from None
    offset = 0
    if root.tag != "recordinfo":
        item = root.find(".//recorditem")
        inner = (item.text or "").strip() if item is not None else ""
        if not inner:
            raise ValueError("no <recorditem> in the XML")
        offset = max(xml_text.find(inner[:64]), 0)
        try:
            record = ET.fromstring(inner)
        except ET.ParseError as exc:
            raise ValueError(f"malformed <recorditem>: {exc}") from None
        xml_text = inner
    else:
        record = root
    title = (record.findtext("title") or "").strip()
    items = []
    for data in record.iterfind("./datalist/dataitem"):
        kind = _DATATYPE_KINDS.get(data.get("datatype", ""), K.OTHER)
        text = (data.findtext("datadesc") or data.findtext("datatitle") or "").strip()
        if kind != K.TEXT and not text:
            text = PLACEHOLDER_TEXT[kind]
        stamp = (data.findtext("srcMsgCreateTime") or "").strip()
        try:
            when = from_timestamp(float(stamp)) if stamp else parse_time(data.findtext("sourcetime"))
        except ValueError:
            when = None
        dataid = data.get("dataid")
        pos = xml_text.find(f'dataid="{dataid}"') if dataid else -1
        sender = (data.findtext("sourcename") or "").strip()
        items.append(ForwardItem(sender, when, text, kind, offset + max(pos, 0)))
    return title, items
