"""Any CSV, TSV or JSON Lines file whose text column the user names.

Optional columns give the time, the sender and the group. Kinds are read from
the content (placeholders; system notices when there is no sender; quoted
replies in every known layout). The remaining columns go to ``extra["columns"]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ..exceptions import ChatLogFormatError
from ..records import Message, MessageKind
from .encoding import iter_csv_dicts, iter_lines
from .special import QUOTE_STYLES, build_message, error_message, is_system_text, numbered, parse_time

__all__ = ["GENERIC_FORMATS", "DEFAULT_COLUMNS", "read_generic", "sniff_delimited"]

K = MessageKind

#: Formats handled here.
GENERIC_FORMATS = ("csv", "tsv", "jsonl")

#: Column names tried, in order, for a role whose column is not given (None).
DEFAULT_COLUMNS = {
    "text": ("text", "content", "message", "msg", "内容", "消息", "消息内容", "聊天内容"),
    "time": ("time", "timestamp", "datetime", "date", "ts", "时间", "发送时间", "CreateTime"),
    "sender": ("sender", "from", "user", "author", "nickname", "name", "发送人", "发送者", "昵称"),
    "group": ("group", "chat", "room", "群", "群名", "群聊", "会话"),
}


class _Columns:
    """Columns chosen for the text, time, sender and group of one file."""

    def __init__(self, text: str, time: str | None, sender: str | None, group: str | None) -> None:
        self.text, self.time, self.sender, self.group = text, time, sender, group
        self.named = {c for c in (text, time, sender, group) if c}


def _resolve_columns(
    path: str | os.PathLike[str],
    names: list[str],
    requested: tuple[str | None, str | None, str | None, str | None],
    *,
    strict: bool,
) -> _Columns:
    """Pick the columns: given names are checked (``strict``), None means "find one", "" means none."""
    chosen: list[str | None] = []
    for role, column in zip(("text", "time", "sender", "group"), requested):
        if column is None:
            column = next((c for c in DEFAULT_COLUMNS[role] if c in names), None)
            if column is None and role == "text":
                if strict:
                    raise ChatLogFormatError(
                        f"{os.fspath(path)}: no text column among {names}; pass text_column="
                    )
                column = "text"
        elif column and strict and column not in names:
            raise ChatLogFormatError(
                f"{os.fspath(path)}: {role} column {column!r} not in header {names}"
            )
        chosen.append(column or None)
    return _Columns(chosen[0] or "text", *chosen[1:])


def _value(row: Mapping[str, Any], column: str | None) -> Any:
    if not column:
        return None
    value = row.get(column)
    return "" if value is None else value


def _row_message(row: Mapping[str, Any], cols: _Columns, line: int, raw: str, year: int | None) -> Message:
    if cols.text not in row:
        return error_message(raw, f"no {cols.text!r} field", line=line)
    text = row[cols.text]
    text = "" if text is None else text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    try:
        when = parse_time(_value(row, cols.time), year=year) if cols.time else None
    except ValueError as exc:
        return error_message(raw, str(exc), line=line)
    sender = str(_value(row, cols.sender) or "")
    group = str(_value(row, cols.group) or "")
    others = {k: v for k, v in row.items() if k not in cols.named}
    kind = K.SYSTEM if not sender and is_system_text(text) else None
    return build_message(
        text,
        kind=kind,
        quote_styles=QUOTE_STYLES,
        time=when,
        sender=sender,
        group=group,
        line=line,
        extra={"columns": others} if others else {},
    )


def _read_delimited(
    path: str | os.PathLike[str],
    encoding: str | None,
    delimiter: str,
    columns: tuple[str | None, str | None, str | None, str | None],
    year: int | None,
) -> Iterator[Message]:
    resolved: list[_Columns] = []

    def on_header(names: list[str]) -> None:
        resolved.append(_resolve_columns(path, names, columns, strict=True))

    for line, row, raw, problem in iter_csv_dicts(
        path, encoding, delimiter=delimiter, what="CSV/TSV", on_header=on_header
    ):
        if row is None:
            yield error_message(raw, problem, line=line)
        else:
            yield _row_message(row, resolved[0], line, raw, year)


def _read_jsonl(
    path: str | os.PathLike[str],
    encoding: str | None,
    columns: tuple[str | None, str | None, str | None, str | None],
    year: int | None,
) -> Iterator[Message]:
    cols: _Columns | None = None  # chosen from the keys of the first object
    for line, raw in iter_lines(path, encoding):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield error_message(raw, f"invalid JSON: {exc.msg}", line=line)
            continue
        except (ValueError, RecursionError) as exc:  # 5,000-digit integers, 100,000-deep nesting
            yield error_message(raw[:2000], f"invalid JSON: {type(exc).__name__}", line=line)
            continue
        if not isinstance(row, Mapping):
            yield error_message(raw, "JSON line is not an object", line=line)
            continue
        if cols is None:
            cols = _resolve_columns(path, list(row), columns, strict=False)
        yield _row_message(row, cols, line, raw, year)


def read_generic(
    path: str | os.PathLike[str],
    *,
    format: str = "csv",
    encoding: str | None = None,
    text_column: str | None = None,
    time_column: str | None = None,
    sender_column: str | None = None,
    group_column: str | None = None,
    year: int | None = None,
) -> Iterator[Message]:
    """Read a CSV, TSV or JSON Lines chat log with user-named columns.

    Parameters
    ----------
    path : path-like
    format : {"csv", "tsv", "jsonl"}
    encoding : str, optional
        Codec; sniffed when None.
    text_column : str, optional
        Column (JSONL: key) holding the message text.
    time_column, sender_column, group_column : str, optional
        Columns with the time (any format :func:`~triage.readers.special.parse_time`
        accepts), the sender's name and the chat name.

        A column left None is looked for among :data:`DEFAULT_COLUMNS` (in the
        header, or the first JSON object's keys); pass ``""`` for none at all.
    year : int, optional
        Year for yearless times.

    Raises
    ------
    ChatLogFormatError
        On iteration, when a named column is not in the CSV/TSV header or no
        text column is found there.
    ValueError
        For an unknown ``format``.
    """
    if format not in GENERIC_FORMATS:
        raise ValueError(f"format must be one of {GENERIC_FORMATS}, got {format!r}")
    columns = (text_column, time_column, sender_column, group_column)
    if format == "jsonl":
        messages = _read_jsonl(path, encoding, columns, year)
    else:
        messages = _read_delimited(path, encoding, "\t" if format == "tsv" else ",", columns, year)
    return numbered(messages, os.fspath(path))


def sniff_delimited(lines: list[str]) -> str | None:
    """``"jsonl"``, ``"tsv"`` or ``"csv"`` for a plausible generic file, else None."""
    rows = [line for line in lines if line.strip()][:20]
    if not rows:
        return None
    if rows[0].lstrip().startswith("{"):
        try:
            is_object = isinstance(json.loads(rows[0]), dict)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            is_object = False
        return "jsonl" if is_object else None
    first = rows[0]
    for delimiter, name in (("\t", "tsv"), (",", "csv")):
        if first.count(delimiter) >= 1:
            return name
    return None
