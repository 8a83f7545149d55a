"""PyWxDump 3.x exports: ``<wxid>_<start>_<end>.csv`` / ``.json`` with ``users.json``.

Rows carry ``talker`` (the sender's wxid) and ``room_name`` (the chat id); display
names live in ``users.json``: ``{wxid: {"nickname", "remark", ...}}``. The reader
uses ``remark`` or else ``nickname`` as ``sender``, and keeps the wxid as
``sender_id``. Without users the wxid is the sender.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import ChatLogFormatError
from ..records import Message, MessageKind
from .encoding import iter_csv_dicts, read_text
from .special import build_message, error_message, kind_from_type_name, numbered, parse_time

__all__ = [
    "COLUMNS",
    "REQUIRED",
    "UsersArg",
    "load_users",
    "find_users_file",
    "read_pywxdump_csv",
    "read_pywxdump_json",
    "sniff_json",
]

K = MessageKind
_QUOTES = ("pywxdump",)
_SYSTEM_TALKERS = {"系统", "系统消息", "system"}

COLUMNS = ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime")
REQUIRED = ("type_name", "talker", "msg", "CreateTime")

#: ``users=`` may be a path to ``users.json`` or a mapping wxid → name or wxid → user dict.
UsersArg = str | os.PathLike | Mapping[str, Any] | None


def _display_name(wxid: str, info: Any) -> str:
    if isinstance(info, str):
        return info or wxid
    if isinstance(info, Mapping):
        for key in ("remark", "nickname", "NickName", "Remark", "name", "account"):
            value = info.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return wxid


def find_users_file(path: str | os.PathLike[str]) -> Path | None:
    """``users.json`` beside ``path``, or the only ``*users.json`` there, else None."""
    folder = Path(path).resolve().parent
    exact = folder / "users.json"
    if exact.is_file():
        return exact
    candidates = sorted(folder.glob("*users.json"))
    return candidates[0] if len(candidates) == 1 else None


def load_users(users: UsersArg, path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Map wxid → display name.

    Parameters
    ----------
    users : path, mapping or None
        ``users.json`` path, or a mapping (wxid → name, or wxid → user dict).
        When None, :func:`find_users_file` looks beside ``path``.
    path : path-like, optional
        The chat-log file.

    Raises
    ------
    ChatLogFormatError
        When the users file is not a JSON object.
    """
    if users is None:
        found = find_users_file(path) if path is not None else None
        if found is None:
            return {}
        users = found
    if not isinstance(users, Mapping):
        try:
            loaded = json.loads(read_text(users))
        except json.JSONDecodeError as exc:
            raise ChatLogFormatError(f"{os.fspath(users)}: users file is not JSON: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise ChatLogFormatError(f"{os.fspath(users)}: users file is not a JSON object")
        users = loaded
    return {str(wxid): _display_name(str(wxid), info) for wxid, info in users.items()}


def _message(row: Mapping[str, Any], line: int, raw: str, names: Mapping[str, str]) -> Message:
    missing = [c for c in REQUIRED if c not in row]
    if missing:
        return error_message(raw, f"missing field(s) {', '.join(missing)}", line=line)
    try:
        when = parse_time(row["CreateTime"])
    except ValueError as exc:
        return error_message(raw, str(exc), line=line)
    type_name = str(row["type_name"])
    talker = str(row["talker"] or "")
    room = str(row.get("room_name") or "")
    kind = kind_from_type_name(type_name)
    system = kind in (K.SYSTEM, K.RECALL) or talker in _SYSTEM_TALKERS
    if system and kind not in (K.SYSTEM, K.RECALL):
        kind = K.SYSTEM
    extra: dict[str, Any] = {
        "id": row.get("id", ""),
        "msg_svr_id": str(row.get("MsgSvrID", "")),
        "type_name": type_name,
        "is_self": str(row.get("is_sender", "")) == "1",
    }
    if row.get("src"):
        extra["src"] = row["src"]
    if isinstance(row.get("extra"), Mapping) and row["extra"]:
        extra["extra"] = dict(row["extra"])
    return build_message(
        str(row["msg"] or ""),
        kind=kind,
        quote_styles=_QUOTES,
        time=when,
        sender="" if system else names.get(talker, talker),
        sender_id="" if system else talker,
        group=names.get(room, room),
        line=line,
        extra=extra,
    )


def _read_csv(path: str | os.PathLike[str], encoding: str | None, users: UsersArg) -> Iterator[Message]:
    names = load_users(users, path)
    for line, row, raw, problem in iter_csv_dicts(
        path, encoding, required=REQUIRED, what="PyWxDump CSV"
    ):
        yield _message(row, line, raw, names) if row is not None else error_message(raw, problem, line=line)


def read_pywxdump_csv(
    path: str | os.PathLike[str], *, encoding: str | None = None, users: UsersArg = None
) -> Iterator[Message]:
    """Read a PyWxDump CSV export.

    Parameters
    ----------
    path : path-like
    encoding : str, optional
        Codec; sniffed when None.
    users : path or mapping, optional
        Display names (see :func:`load_users`); ``users.json`` beside the file is used when None.

    Raises
    ------
    ChatLogFormatError
        On iteration, when the header is not PyWxDump's.
    """
    return numbered(_read_csv(path, encoding, users), os.fspath(path))


def _iter_json_array(text: str, path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, element)`` for the elements of a top-level JSON array."""
    decoder = json.JSONDecoder()
    n = len(text)
    pos = 0

    def skip(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    def fail(i: int, why: str) -> ChatLogFormatError:
        line = text.count("\n", 0, i) + 1
        return ChatLogFormatError(f"{os.fspath(path)}: not a PyWxDump JSON array: {why} at line {line}")

    pos = skip(pos)
    if pos >= n:
        return
    if text[pos] != "[":
        raise fail(pos, "expected '['")
    pos, line, counted = skip(pos + 1), 1, 0
    while pos < n and text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            element, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise fail(exc.pos, exc.msg) from None
        except (ValueError, RecursionError) as exc:  # huge integers, pathological nesting
            raise fail(pos, f"unreadable JSON value ({type(exc).__name__})") from None
        yield line, element
        pos = skip(end)
        if pos < n and text[pos] == ",":
            pos = skip(pos + 1)
        elif pos < n and text[pos] != "]":
            raise fail(pos, "expected ',' or ']'")
    if pos >= n:
        raise fail(pos, "unterminated array")


def _read_json(path: str | os.PathLike[str], encoding: str | None, users: UsersArg) -> Iterator[Message]:
    names = load_users(users, path)
    text = read_text(path, encoding)
    for line, element in _iter_json_array(text, path):
        raw = json.dumps(element, ensure_ascii=False)
        if not isinstance(element, Mapping):
            yield error_message(raw, "array element is not an object", line=line)
        else:
            yield _message(element, line, raw, names)


def read_pywxdump_json(
    path: str | os.PathLike[str], *, encoding: str | None = None, users: UsersArg = None
) -> Iterator[Message]:
    """Read a PyWxDump JSON export (an array of message objects).

    ``line`` is the line where each object starts. The document is loaded whole
    (it is a single JSON value).

    Raises
    ------
    ChatLogFormatError
        On iteration, when the file is not a JSON array or is malformed.
    """
    return numbered(_read_json(path, encoding, users), os.fspath(path))


def sniff_json(head: str) -> bool:
    """True when a file head looks like a PyWxDump JSON export."""
    return head.lstrip().startswith("[") and '"type_name"' in head and '"talker"' in head
