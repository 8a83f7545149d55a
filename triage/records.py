"""The one message record that every chat-log reader produces.

Readers turn a WeChat/QQ export into a stream of :class:`Message`; batch
classification, the ledger and every output file work from this record only.
Non-text messages (media, system lines, recalls) are kept as records so that
counts reconcile, but :attr:`Message.classifiable` is False for them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

__all__ = ["MessageKind", "Message", "CLASSIFIABLE_KINDS"]


class MessageKind:
    """String constants for :attr:`Message.kind` (plain strings, so records stay JSON-friendly)."""

    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    STICKER = "sticker"
    FILE = "file"
    LINK = "link"
    SYSTEM = "system"
    RECALL = "recall"
    QUOTE = "quote"
    OTHER = "other"  # location, red packet, transfer, contact card, call, ...
    ERROR = "error"  # a line/row the reader could not parse; ``error`` says why

    ALL = (TEXT, IMAGE, VOICE, VIDEO, STICKER, FILE, LINK, SYSTEM, RECALL, QUOTE, OTHER, ERROR)


#: Kinds whose text is sent to the classifier. A quote is a reply with a quoted block.
CLASSIFIABLE_KINDS = frozenset({MessageKind.TEXT, MessageKind.QUOTE})


@dataclasses.dataclass
class Message:
    """One message of a chat log, whatever the exporter.

    Attributes
    ----------
    text : str
        The message body as the user typed it (for a quoted reply: the reply only).
        For media it is the exporter's placeholder (``"[图片]"``); for system lines the line.
    kind : str
        One of :class:`MessageKind`.
    time : datetime.datetime or None
        Local wall-clock time as the exporter wrote it (naive), None when absent.
    sender : str
        Display name ("" for system lines).
    sender_id : str
        wxid / QQ number / e-mail when the format has one, else "".
    group : str
        Chat (group) name when known, else "".
    quoted_text : str
        Text of the quoted message for a quoted reply, else "".
    quoted_sender : str
        Sender of the quoted message, else "".
    mentions : list of str
        Names @-mentioned in the text (without the ``@``).
    source : str
        Path of the file the record was read from.
    line : int
        1-based line (text formats) or row (CSV/JSON records) where the message starts.
    index : int
        0-based position of the record within its source file, in input order.
    error : str
        For ``kind == "error"``: why the line could not be parsed.
    extra : dict
        Format-specific fields worth keeping (message ids, raw type codes, ...).
    """

    text: str
    kind: str = MessageKind.TEXT
    time: _dt.datetime | None = None
    sender: str = ""
    sender_id: str = ""
    group: str = ""
    quoted_text: str = ""
    quoted_sender: str = ""
    mentions: list[str] = dataclasses.field(default_factory=list)
    source: str = ""
    line: int = 0
    index: int = 0
    error: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def classifiable(self) -> bool:
        """True when the message carries text that should go to the classifier."""
        return self.kind in CLASSIFIABLE_KINDS and bool(self.text.strip())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (time as ISO 8601 string or None)."""
        d = dataclasses.asdict(self)
        d["time"] = self.time.isoformat(sep=" ") if self.time else None
        return d
