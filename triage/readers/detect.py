"""Chat-log format detection from file content (never from the file name), and dispatch.

:func:`read_log` detects the format (or checks a forced one) and hands the file
to the reader of that format.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..exceptions import ChatLogFormatError
from ..records import Message
from . import chatlog, generic, memotrace, pywxdump, qq, share, wechatexporter
from .encoding import read_head
from .generic import GENERIC_FORMATS

__all__ = [
    "FORMATS",
    "normalize_format",
    "sniff",
    "detect_format",
    "check_format",
    "head_lines",
    "read_log",
]

#: Every format name accepted by ``format=`` (aliases aside).
FORMATS = (
    "memotrace_v2_csv",
    "memotrace_v3_csv",
    "memotrace_txt",
    "pywxdump_csv",
    "pywxdump_json",
    "wechatexporter_txt",
    "wechatexporter_html",
    "qq_txt",
    "wechat_share_txt",
    "wechat_forward_xml",
    "chatlog_txt",
    "csv",
    "tsv",
    "jsonl",
)

_ALIASES = {
    "memotrace_v2_txt": "memotrace_txt",
    "memotrace_v3_txt": "memotrace_txt",
    "memotrace_v4_txt": "memotrace_txt",
    "memotrace_v4_csv": "memotrace_v3_csv",
    "qq": "qq_txt",
    "chatlog": "chatlog_txt",
    "wechatexporter": "wechatexporter_txt",
    "wechat_share": "wechat_share_txt",
    "wechat_mail": "wechat_share_txt",
    "merged_forward": "wechat_forward_xml",
}

# Text formats in tie-break order: a QQ header is also a MemoTrace header, so
# the more specific format comes first.
_TEXT_SNIFFERS = (
    ("qq_txt", qq.sniff_txt),
    ("wechatexporter_txt", wechatexporter.sniff_txt),
    ("wechat_share_txt", share.sniff_txt),
    ("chatlog_txt", chatlog.sniff_txt),
    ("memotrace_txt", memotrace.sniff_txt),
)
_CSV_HEADERS = (
    ("memotrace_v2_csv", memotrace.V2_REQUIRED),
    ("memotrace_v3_csv", memotrace.V3_REQUIRED),
    ("pywxdump_csv", pywxdump.REQUIRED),
)
_HEAD_LINES = 200


def normalize_format(name: str) -> str:
    """Canonical format name (case, ``-`` and aliases tolerated).

    Raises
    ------
    ChatLogFormatError
        For an unknown name.
    """
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ChatLogFormatError(f"unknown chat-log format {name!r}; expected one of {', '.join(FORMATS)}")
    return key


def head_lines(head: str) -> list[str]:
    """The first lines of a file head, without line ends."""
    return head.splitlines()[:_HEAD_LINES]


def _csv_header(lines: list[str]) -> set[str]:
    first = next((line for line in lines if line.strip()), "")
    try:
        return {f.strip() for f in next(csv.reader([first]))}
    except (csv.Error, StopIteration):
        return set()


def sniff(head: str) -> str | None:
    """Format name of a file head (its first characters), or None when unknown."""
    stripped = head.lstrip()
    lines = head_lines(head)
    if stripped.startswith("<"):
        if share.sniff_forward_xml(head):
            return "wechat_forward_xml"
        if wechatexporter.sniff_html(head):
            return "wechatexporter_html"
        return None
    if pywxdump.sniff_json(head):
        return "pywxdump_json"
    header = _csv_header(lines)
    for name, required in _CSV_HEADERS:
        if set(required) <= header:
            return name
    best, best_score = None, 0
    for name, scorer in _TEXT_SNIFFERS:
        score = scorer(lines)
        if score > best_score:
            best, best_score = name, score
    if best is not None:
        return best
    return generic.sniff_delimited(lines)


def _undetected(name: str) -> ChatLogFormatError:
    return ChatLogFormatError(
        f"{name}: cannot detect the chat-log format; pass format= (one of {', '.join(FORMATS)})"
    )


def _is_path(value: object) -> bool:
    """A path-like, or a one-line string naming a file (or looking like a file name)."""
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str) or "\n" in value or len(value) > 1024:
        return False
    return os.path.isfile(value) or re.search(r"[/\\]|\.[A-Za-z0-9]{1,5}$", value) is not None


def detect_format(path_or_text: str | os.PathLike[str], *, encoding: str | None = None) -> str:
    """Detect the format of a chat log from its content.

    Parameters
    ----------
    path_or_text : str or path-like
        A file path, or the text itself (a string of several lines, or one line
        that neither names a file nor looks like a file name).
    encoding : str, optional
        Codec of the file; sniffed when None.

    Returns
    -------
    format : str
        One of :data:`FORMATS`.

    Raises
    ------
    ChatLogFormatError
        When no known format matches.
    ChatLogDecodeError
        When the file cannot be decoded.
    FileNotFoundError
        When a path does not exist.
    """
    if _is_path(path_or_text):
        name = os.fspath(path_or_text)
        head, _ = read_head(Path(name), encoding)
    else:
        name, head = "<text>", str(path_or_text)[: 1 << 16].removeprefix("\ufeff")
    found = sniff(head)
    if found is None:
        raise _undetected(name)
    return found


def check_format(head: str, format: str, name: str) -> None:
    """Raise when a file head clearly is not in the forced ``format``.

    CSV formats need their header columns, JSON/XML/HTML formats their
    structure, text formats at least one message header in the first lines,
    JSON Lines an object on the first line. Empty files pass.

    Raises
    ------
    ChatLogFormatError
        Naming the file, the forced format and what was found instead.
    """
    lines = head_lines(head)
    if not head.strip() or format in ("csv", "tsv"):
        return
    ok: bool
    if format in dict(_CSV_HEADERS):
        missing = set(dict(_CSV_HEADERS)[format]) - _csv_header(lines)
        if missing:
            first = next((line for line in lines if line.strip()), "")
            raise ChatLogFormatError(
                f"{name}: not a {format} file: header {first[:200]!r} lacks {', '.join(sorted(missing))}"
            )
        return
    if format == "pywxdump_json":
        ok = head.lstrip().startswith("[")
    elif format == "wechat_forward_xml":
        ok = share.sniff_forward_xml(head)
    elif format == "wechatexporter_html":
        ok = wechatexporter.sniff_html(head)
    elif format == "jsonl":
        ok = generic.sniff_delimited(lines) == "jsonl"
    else:
        ok = dict(_TEXT_SNIFFERS)[format](lines) > 0
    if not ok:
        detected = sniff(head)
        hint = f" (it looks like {detected})" if detected else ""
        raise ChatLogFormatError(f"{name}: content does not match format {format!r}{hint}")


_READERS = {
    "memotrace_v2_csv": memotrace.read_memotrace_v2_csv,
    "memotrace_v3_csv": memotrace.read_memotrace_v3_csv,
    "memotrace_txt": memotrace.read_memotrace_txt,
    "wechatexporter_txt": wechatexporter.read_wechatexporter_txt,
    "wechatexporter_html": wechatexporter.read_wechatexporter_html,
    "qq_txt": qq.read_qq_txt,
    "wechat_share_txt": share.read_share_txt,
    "wechat_forward_xml": share.read_forward_xml,
}


def read_log(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    encoding: str | None = None,
    text_column: str | None = None,
    time_column: str | None = None,
    sender_column: str | None = None,
    group_column: str | None = None,
    users: pywxdump.UsersArg = None,
    year: int | None = None,
) -> Iterator[Message]:
    """Read a chat-log file into :class:`~triage.records.Message` records.

    Parameters
    ----------
    path : str or path-like
        The exported file.
    format : str, optional
        One of :data:`FORMATS`; detected from the content when None.
    encoding : str, optional
        Codec; sniffed from BOM / content (UTF-8, UTF-16, GB18030) when None.
    text_column, time_column, sender_column, group_column : str, optional
        Column names for a generic CSV/TSV/JSONL log. Giving any of them without
        ``format`` selects the generic reader.
    users : path or mapping, optional
        PyWxDump display names (``users.json``); found beside the file when None.
    year : int, optional
        Year for formats whose times have none (sjzar/chatlog text, generic).
        Otherwise the current year is assumed (see
        :func:`~triage.readers.chatlog.read_chatlog_txt`).

    Returns
    -------
    iterator of Message
        Lazily read; detection and the forced-format check happen on the call.

    Raises
    ------
    ChatLogFormatError
        The format cannot be detected, is unknown, or the content does not match
        the forced one (also on iteration for a CSV header that does not fit).
    ChatLogDecodeError
        The file cannot be decoded (now or on iteration), with file name and byte offset.
    ValueError
        Column options with a forced non-generic format.
    """
    name = os.fspath(path)
    head, codec = read_head(path, encoding)
    columns = (text_column, time_column, sender_column, group_column)
    if format is None:
        fmt = sniff(head)
        if any(columns) and fmt not in GENERIC_FORMATS:
            fmt = generic.sniff_delimited(head_lines(head))
        if fmt is None:
            raise _undetected(name)
    else:
        fmt = normalize_format(format)
        check_format(head, fmt, name)
        if any(columns) and fmt not in GENERIC_FORMATS:
            raise ValueError(f"text/time/sender/group columns apply to {GENERIC_FORMATS}, not {fmt!r}")
    if fmt in GENERIC_FORMATS:
        return generic.read_generic(
            path,
            format=fmt,
            encoding=codec,
            text_column=text_column,
            time_column=time_column,
            sender_column=sender_column,
            group_column=group_column,
            year=year,
        )
    if fmt == "pywxdump_csv":
        return pywxdump.read_pywxdump_csv(path, encoding=codec, users=users)
    if fmt == "pywxdump_json":
        return pywxdump.read_pywxdump_json(path, encoding=codec, users=users)
    if fmt == "chatlog_txt":
        return chatlog.read_chatlog_txt(path, encoding=codec, year=year)
    return _READERS[fmt](path, encoding=codec)
