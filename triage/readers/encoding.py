"""Decoding of chat-log files.

Exporters write UTF-8 (with or without BOM), UTF-16 (QQ) or GB18030/GBK (old
Windows tools), with CRLF or LF line ends. This module picks the encoding from
the bytes and streams decoded lines, CSV rows or (for single-document JSON/XML
formats) the whole text. A byte sequence that cannot be decoded raises
:class:`~triage.exceptions.ChatLogDecodeError` naming the file and the byte offset.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Callable, Iterator

from ..exceptions import ChatLogDecodeError, ChatLogError, ChatLogFormatError

__all__ = [
    "sniff_encoding",
    "find_decode_error",
    "iter_lines",
    "iter_csv_rows",
    "iter_csv_dicts",
    "read_text",
    "read_head",
]

#: Bytes inspected to choose an encoding when the file has no BOM.
SAMPLE_SIZE = 1 << 20
_CHUNK = 1 << 16

# UTF-32 first: its little-endian BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes(data: bytes, encoding: str, final: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        for start in range(0, len(data), _CHUNK):  # chunked: no sample-sized string
            decoder.decode(data[start : start + _CHUNK], final=False)
        decoder.decode(b"", final=final)
    except UnicodeDecodeError:
        return False
    return True


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess BOM-less UTF-16 from where the NUL bytes of ASCII characters fall."""
    sample = data[:4096]
    if len(sample) < 16 or sample.count(0) < len(sample) // 8:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd > 3 * even:
        return "utf-16-le"
    if even > 3 * odd:
        return "utf-16-be"
    return None


def sniff_encoding(path: str | os.PathLike[str]) -> str:
    """Choose the codec of a chat-log file from its bytes.

    A BOM decides (UTF-8-SIG, UTF-16, UTF-32). Without one, BOM-less UTF-16 is
    recognised from its NUL bytes, then the first :data:`SAMPLE_SIZE` bytes are
    tried as UTF-8 and then GB18030 (a superset of GBK and GB2312).

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    encoding : str
        A Python codec name.

    Raises
    ------
    ChatLogDecodeError
        When the sample is neither UTF-8 nor GB18030.
    """
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_SIZE)
        whole = len(fh.read(1)) == 0
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    guess = _utf16_without_bom(head)
    if guess is not None and _decodes(head, guess, final=whole):
        return guess
    for name in ("utf-8", "gb18030"):
        if _decodes(head, name, final=whole):
            return name
    raise _decode_error(path, "utf-8", extra=" (not gb18030 either)")


def _check_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ChatLogError(f"unknown encoding {encoding!r}") from None


def find_decode_error(
    path: str | os.PathLike[str], encoding: str
) -> tuple[int, UnicodeDecodeError] | None:
    """Byte offset and error of the first undecodable sequence, None if the file decodes.

    The file is streamed in chunks, so memory stays flat for huge files.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's pending bytes + chunk (minus a
                # consumed BOM), so this lands on the offending byte in the file.
                pending = len(exc.object) - len(chunk)
                return consumed - pending + exc.start, exc
            if not chunk:
                return None
            consumed += len(chunk)


def _decode_error(
    path: str | os.PathLike[str], encoding: str, extra: str = ""
) -> ChatLogDecodeError:
    found = find_decode_error(path, encoding)
    if found is None:  # pragma: no cover - only called after a failure
        return ChatLogDecodeError(f"{os.fspath(path)}: cannot be decoded as {encoding}{extra}")
    offset, exc = found
    bad = exc.object[exc.start : exc.end]
    return ChatLogDecodeError(
        f"{os.fspath(path)}: cannot decode as {encoding}{extra}: bytes {bad.hex(' ')} "
        f"at byte offset {offset} ({exc.reason}); pass encoding= if the file uses another encoding"
    )


def _resolve(path: str | os.PathLike[str], encoding: str | None) -> str:
    return sniff_encoding(path) if encoding is None else _check_codec(encoding)


def iter_lines(
    path: str | os.PathLike[str], encoding: str | None = None, *, keepends: bool = False
) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` pairs, 1-based, decoded lazily.

    CRLF, LF and lone CR all end a line; the end-of-line characters are removed
    unless ``keepends``. A leading BOM character is dropped.

    Raises
    ------
    ChatLogDecodeError
        On the first undecodable byte, with the file name and byte offset.
    """
    encoding = _resolve(path, encoding)
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as fh:
            for number, line in enumerate(fh, start=1):
                if number == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                yield number, (line if keepends else line.rstrip("\r\n"))
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None


class _LineTap:
    """Line iterator for :mod:`csv` that remembers the raw lines of the current row."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        _, line = next(self._lines)
        self.taken.append(line)
        return line


def iter_csv_rows(
    path: str | os.PathLike[str], encoding: str | None = None, *, delimiter: str = ","
) -> Iterator[tuple[int, list[str] | None, str]]:
    """Yield ``(start line, fields, raw text)`` for every non-empty CSV row.

    Quoted fields may span lines; ``start line`` is the physical line where the
    row begins. ``fields`` is None when :mod:`csv` rejects the row, whose raw
    text is still returned so nothing is lost.
    """
    tap = _LineTap(iter_lines(path, encoding, keepends=True))
    reader = csv.reader(tap, delimiter=delimiter)
    line = 1
    while True:
        tap.taken = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields = None
        raw = "".join(tap.taken).rstrip("\r\n")
        if fields is None or any(f != "" for f in fields):
            yield line, fields, raw
        line = reader.line_num + 1


def iter_csv_dicts(
    path: str | os.PathLike[str],
    encoding: str | None = None,
    *,
    required: tuple[str, ...] = (),
    delimiter: str = ",",
    what: str = "CSV",
    on_header: Callable[[list[str]], object] | None = None,
) -> Iterator[tuple[int, dict[str, str] | None, str, str]]:
    """Yield ``(start line, row, raw text, problem)`` for the data rows of a CSV file.

    The first row is the header; column names are matched after stripping
    spaces, and passed to ``on_header`` (which may raise) before any row.
    ``row`` is None (and ``problem`` says why) for a row that has the wrong
    number of fields or that :mod:`csv` rejects. An empty file yields nothing.

    Raises
    ------
    ChatLogFormatError
        When the header lacks a ``required`` column (names the file and columns).
    """
    rows = iter_csv_rows(path, encoding, delimiter=delimiter)
    first = next(rows, None)
    if first is None:
        return
    _, header, raw_header = first
    names = [h.strip().lstrip("\ufeff") for h in header] if header is not None else []
    missing = [c for c in required if c not in names]
    if header is None or missing:
        raise ChatLogFormatError(
            f"{os.fspath(path)}: not a {what} file: header {raw_header[:200]!r} "
            f"lacks column(s) {', '.join(missing) or '(unreadable header)'}"
        )
    if on_header is not None:
        on_header(names)
    for line, fields, raw in rows:
        if fields is None:
            yield line, None, raw, "malformed CSV row"
        elif len(fields) != len(names):
            yield line, None, raw, f"expected {len(names)} fields, got {len(fields)}"
        else:
            yield line, dict(zip(names, fields)), raw, ""


def read_text(path: str | os.PathLike[str], encoding: str | None = None) -> str:
    """Whole decoded text (for single-document JSON/XML formats), BOM dropped."""
    encoding = _resolve(path, encoding)
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    return text.removeprefix("\ufeff")


def read_head(
    path: str | os.PathLike[str], encoding: str | None = None, size: int = 1 << 16
) -> tuple[str, str]:
    """First ``size`` characters of the file (for format detection) and the codec used."""
    encoding = _resolve(path, encoding)
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as fh:
            text = fh.read(size)
    except UnicodeDecodeError:
        # The error may lie past the characters wanted; report the first one in the file.
        raise _decode_error(path, encoding) from None
    return text.removeprefix("\ufeff"), encoding

