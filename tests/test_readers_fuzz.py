"""Fuzzing of every chat-log reader (hypothesis, fixed derandomised budget).

What is fed
-----------
Every reader in :data:`triage.readers.FORMATS` (format forced) and auto-detection get:

- random bytes;
- truncated copies of the fixtures in ``tests/fixtures/chatlogs`` and of the specimens in
  ``../shared/chatformats`` (those are skipped when ``../shared`` is absent);
- *line soup*: lines drawn from all those files (some spliced with risky tokens) plus
  random text (any code point but surrogates), joined with a random mix of LF / CRLF / CR
  and written in UTF-8, UTF-8 with BOM, GB18030 or UTF-16;
- generated JSON Lines / JSON arrays of message-like objects, and generated CSV/TSV files
  with each format's header;
- every fixture and specimen re-encoded (UTF-8 ↔ GB18030 ↔ UTF-16 ↔ UTF-32, with and without
  BOM) and with its line ends mixed.

What must hold
--------------
**Only** :class:`~triage.exceptions.ChatLogError` subclasses may be raised (``read_log`` is
called and the iterator drained). When nothing is raised, every record is a
:class:`~triage.records.Message` with a kind from ``MessageKind.ALL``, ``index`` equal to its
position, ``error`` set exactly for ``error`` records, and a 1-based ``line`` no larger than
the number of physical lines (CRLF, LF and CR each end a line, as in ``iter_lines``). Line
numbers increase strictly for formats whose records start on their own line and never
decrease for the document formats (HTML, XML, JSON array: several records may share a line).

"Nothing is silently dropped" is stated per family:

- **JSON Lines** — the record lines are exactly the non-blank lines (one record per line,
  an ``error`` record for a line that is not a JSON object).
- **CSV family** (MemoTrace v2/v3 CSV, PyWxDump CSV, generic CSV/TSV) — for a file with no
  ``"`` (so one row is one physical line), the record lines are exactly the lines after the
  header row that have a non-empty field. With quotes, records may span lines: only the
  general rules apply.
- **Block text formats** (MemoTrace TXT, QQ, mail/share, sjzar/chatlog) — (1) a header line
  that opens the file or follows a blank or break line starts a record on that line;
  (2) every other non-blank line is *covered*: some record starts at or before it with no
  break line in between — unless it is structure the format defines: QQ rule and section
  lines and the title line 1; mail/share date lines and title lines; chatlog lines naming a
  year before the first record.
- **WechatExporter TXT** — up to the first ``<< `` (merged-forward) line, every non-blank
  line starts a record, except the title line and the separator and reply lines that follow
  a ``「`` quote record.
- **PyWxDump JSON** — when the text is a JSON array, one record per element.
- **WechatExporter HTML / merged-forward XML** — no more records than ``<div`` tags /
  ``dataitem`` mentions in the text.

Re-encoding and line ends must not change what is read: the records of a re-encoded or
line-end-mixed copy equal the original's (``\\r`` aside).

Crashes found are pinned as ``xfail(strict=True)`` tests at the end of this file, each
with a minimal reproducer; they flip to XPASS (and so fail) once the reader is fixed. The
properties tolerate those *known* crashes (same exception type, same innermost triage
function) so that they keep hunting for new ones; ``TRIAGE_FUZZ_STRICT=1`` fails on them too.
The budgets are in ``BUDGET``; ``docs/hardening.md`` quotes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage
from triage.exceptions import ChatLogError
from triage.readers import FORMATS, detect_format, read_log
from triage.readers import chatlog as chatlog_reader
from triage.readers import memotrace, pywxdump, qq, share, wechatexporter
from triage.readers.encoding import sniff_encoding
from triage.readers.special import CHATLOG_HEADER_RE
from triage.records import Message, MessageKind

from conftest import fixed_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chatlogs"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "chatformats"

#: Examples per hypothesis property. docs/hardening.md quotes these numbers.
BUDGET = {
    "random_bytes": 200,  # per target: 14 forced formats + auto-detection
    "truncated": 150,  # per target
    "truncated_shared": 150,  # per target
    "line_soup": 250,  # per target
    "line_ends": 150,
    "json": 200,  # per target: auto, jsonl, pywxdump_json
    "csv": 300,  # per target: auto and the five CSV formats
}
TARGETS = [None, *FORMATS]  # None: auto-detection


def _settings(name: str) -> settings:
    return fixed_settings(BUDGET[name], *HealthCheck)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".py" and not p.name.endswith("users.json"))


FIXTURE_FILES = _files(FIXTURES)
SHARED_FILES = _files(SHARED)
needs_shared = pytest.mark.skipif(not SHARED_FILES, reason=f"specimen folder {SHARED} is absent")


def _is_export(path: Path) -> bool:
    """A readable chat log (not the README, the special-messages description or the bad-bytes fixture)."""
    return path.suffix != ".md" and "special" not in path.name and path.name != "undecodable.txt"


def _decode_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding=sniff_encoding(path)).removeprefix("\ufeff")
    except (ChatLogError, UnicodeError):
        return None


#: Lines of every fixture and specimen (decoded): the raw material of the line soup.
POOL = sorted(
    {line for p in FIXTURE_FILES + SHARED_FILES if (t := _decode_file(p)) for line in re.split(r"\r\n|\r|\n", t)}
)


# --------------------------------------------------------------------------- reading


class Workdir:
    """A directory where each example writes its file (hypothesis cannot use tmp_path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def write(self, data: bytes) -> Path:
        self.n += 1
        path = self.root / f"log{self.n % 8}.bin"
        path.write_bytes(data)
        return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Workdir:
    return Workdir(tmp_path_factory.mktemp("fuzz"))


#: TRIAGE_FUZZ_STRICT=1 makes known crashes fail the properties too (to see what the fuzz hits).
STRICT = os.environ.get("TRIAGE_FUZZ_STRICT") == "1"


class KnownCrash(Exception):
    """A crash already pinned by an xfail reproducer in ``CRASHES`` (see the end of the file)."""


def read(path: Path, fmt: str | None, **options) -> list[Message] | ChatLogError | KnownCrash:
    """Drain ``read_log``; a ChatLogError is returned, any other exception propagates
    unless it is a known crash (returned as :class:`KnownCrash`)."""
    try:
        return list(read_log(path, format=fmt, **options))
    except ChatLogError as exc:
        assert str(exc)  # errors say something
        return exc
    except Exception as exc:
        if signature(exc) in KNOWN_CRASHES and not STRICT:
            return KnownCrash(f"{signature(exc)}: {exc!s:.200}")
        raise


def physical_lines(text: str) -> list[str]:
    """Lines as ``iter_lines`` sees them: CRLF, LF and CR each end a line."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def decoded(path: Path) -> str | None:
    """The text the readers see (codec sniffed the same way), None if it does not decode."""
    return _decode_file(path)


# --------------------------------------------------------------------------- invariants

LINE_FORMATS = {
    "memotrace_v2_csv", "memotrace_v3_csv", "memotrace_txt", "pywxdump_csv", "wechatexporter_txt",
    "qq_txt", "wechat_share_txt", "chatlog_txt", "csv", "tsv", "jsonl",
}
CSV_FAMILY = {"memotrace_v2_csv": ",", "memotrace_v3_csv": ",", "pywxdump_csv": ",", "csv": ",", "tsv": "\t"}


def _blank(line: str) -> bool:
    return not line.strip()


def check_general(messages: list[Message], path: Path, fmt: str, lines: list[str]) -> None:
    for i, m in enumerate(messages):
        assert type(m) is Message, type(m)
        assert m.kind in MessageKind.ALL, m.kind
        assert m.index == i and m.source == str(path)
        assert isinstance(m.text, str) and isinstance(m.sender, str) and isinstance(m.sender_id, str)
        assert isinstance(m.group, str) and isinstance(m.quoted_text, str) and isinstance(m.quoted_sender, str)
        assert isinstance(m.mentions, list) and all(isinstance(x, str) and x for x in m.mentions)
        assert m.time is None or isinstance(m.time, dt.datetime)
        assert isinstance(m.extra, dict)
        assert (m.kind == MessageKind.ERROR) == bool(m.error), (m.kind, m.error)
        assert type(m.line) is int and 1 <= m.line <= max(1, len(lines)), (m.line, len(lines))
        json.dumps(m.to_dict(), ensure_ascii=False)  # records stay JSON-friendly
    numbers = [m.line for m in messages]
    if fmt in LINE_FORMATS:
        assert numbers == sorted(set(numbers)), f"{fmt}: lines not strictly increasing: {numbers}"
    else:
        assert numbers == sorted(numbers), f"{fmt}: lines decreasing: {numbers}"


def check_jsonl(messages: list[Message], lines: list[str]) -> None:
    assert [m.line for m in messages] == [i for i, line in enumerate(lines, 1) if not _blank(line)]


def check_csv(messages: list[Message], lines: list[str], text: str, delimiter: str) -> None:
    if '"' in text:
        return  # quoted fields may span lines: the general rules only
    rows = [i for i, line in enumerate(lines, 1) if any(f != "" for f in line.split(delimiter))]
    assert [m.line for m in messages] == rows[1:], "a CSV row was dropped or duplicated"


def _structural(fmt: str, number: int, line: str, first_record: int) -> bool:
    if fmt == "qq_txt":
        return qq._is_break(line) or (number == 1 and qq._PREAMBLE_RE.match(line) is not None)
    if fmt == "wechat_share_txt":
        return share._is_date_line(line) or share.TITLE_RE.match(line) is not None
    if fmt == "chatlog_txt":
        return number < first_record and chatlog_reader._YEAR_RE.search(line) is not None
    return False


_BLOCK = {
    "memotrace_txt": (memotrace.TXT_HEADER_RE, None),
    "qq_txt": (qq.HEADER_RE, qq._is_break),
    "wechat_share_txt": (share.SENDER_RE, share._is_date_line),
    "chatlog_txt": (CHATLOG_HEADER_RE, None),
}


def check_blocks(messages: list[Message], lines: list[str], fmt: str) -> None:
    header, is_break = _BLOCK[fmt]
    is_break = is_break or (lambda line: False)
    starts = {m.line for m in messages}
    first_record = min(starts, default=len(lines) + 1)
    last_start = None  # latest record start with no break line since
    for number, line in enumerate(lines, 1):
        brk = is_break(line)
        prev = lines[number - 2] if number > 1 else ""
        if not brk and header.match(line) and (number == 1 or _blank(prev) or is_break(prev)):
            assert number in starts, f"{fmt}: header line {number} {line!r} starts no record"
        if number in starts:
            last_start = number
        elif brk:
            last_start = None
        if _blank(line) or number in starts or _structural(fmt, number, line, first_record):
            continue
        assert last_start is not None, f"{fmt}: line {number} {line!r} belongs to no record"


def check_wechatexporter_txt(messages: list[Message], lines: list[str]) -> None:
    starts = {m.line: m for m in messages}
    nonblank = [(i, line) for i, line in enumerate(lines, 1) if not _blank(line)]
    for k, (number, line) in enumerate(nonblank):
        if wechatexporter._FORWARD_OPEN_RE.match(line):
            return  # merged-forward content follows: stateful, not checked past here
        if number in starts:
            continue
        if k == 0 and wechatexporter.TITLE_RE.match(line):
            continue
        before = [n for n, _ in nonblank[max(0, k - 2) : k]]
        quote_start = any(n in starts and lines[n - 1].startswith("「") for n in before)
        assert quote_start, f"wechatexporter_txt: line {number} {line!r} belongs to no record"


def check_documents(messages: list[Message], text: str, fmt: str) -> None:
    if fmt == "pywxdump_json":
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return
        if isinstance(value, list):
            assert len(messages) == len(value)
    elif fmt == "wechatexporter_html":
        assert len(messages) <= len(re.findall(r"<div", text, re.I))
    elif fmt == "wechat_forward_xml":
        assert len(messages) <= text.count("dataitem")


def check_file(path: Path, fmt: str | None, **options) -> list[Message] | ChatLogError:
    """Read ``path`` (format forced or detected) and check every invariant that applies."""
    result = read(path, fmt, **options)
    if isinstance(result, (ChatLogError, KnownCrash)):
        return result
    text = decoded(path)
    assert text is not None, "the reader decoded a file that does not decode"
    if fmt is None:
        fmt = detect_format(path)
    lines = physical_lines(text)
    check_general(result, path, fmt, lines)
    if fmt == "jsonl":
        check_jsonl(result, lines)
    elif fmt in CSV_FAMILY:
        check_csv(result, lines, text, CSV_FAMILY[fmt])
    elif fmt in _BLOCK:
        check_blocks(result, lines, fmt)
    elif fmt == "wechatexporter_txt":
        check_wechatexporter_txt(result, lines)
    else:
        check_documents(result, text, fmt)
    return result


# --------------------------------------------------------------------------- strategies

TEXT_CHARS = st.characters(exclude_categories=("Cs",))
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16"]


#: Tokens spliced into real lines: numbers out of range, JSON/XML/HTML syntax, quote marks.
TOKENS = [
    "0", "-1", "1e400", "1e20", "-1e20", "Infinity", "NaN", "9" * 25, "02-29", "12-31", "13", "25:61",
    "2024", "0000", "1.5", "٣", "１２", "true", "null", "[]", "{}", "[" * 50, '"', "'", "\\", "\\ud800",
    "<", ">", "&", "&#0;", "]]>", "<![CDATA[", "<![", "<!--", "<div class=\"msg\">", "</div>", "<br />",
    "\t", ",", ";", " ", "  ", "「", "」", "<< ", " 结束 >>", "引用:", "> ", "@", "\u2005", "\ufeff", "\x00",
]


@st.composite
def mutated_lines(draw) -> str:
    """A line of a real export with up to three splices of TOKENS or random text."""
    line = draw(st.sampled_from(POOL))
    for _ in range(draw(st.integers(0, 3))):
        token = draw(st.one_of(st.sampled_from(TOKENS), st.text(TEXT_CHARS, max_size=4)))
        i = draw(st.integers(0, len(line)))
        j = draw(st.integers(i, min(len(line), i + 8)))
        line = line[:i] + token + line[j:]
    return line


@st.composite
def line_soups(draw) -> bytes:
    """Lines of real exports (some mutated) and random text, mixed line ends, a common encoding."""
    line = st.one_of(st.sampled_from(POOL), mutated_lines(), st.text(TEXT_CHARS, max_size=60), st.just(""))
    lines = draw(st.lists(line, max_size=40))
    text = "".join(part + draw(ENDINGS) for part in lines)
    return text.encode(draw(st.sampled_from(ENCODINGS)))


#: Column names and keys of every CSV/JSON format, so generated rows reach the row parsers.
KEYS = sorted(
    set(memotrace.V2_COLUMNS) | set(memotrace.V3_COLUMNS) | set(pywxdump.COLUMNS)
    | {"text", "time", "sender", "group", "content", "ts", "from", "extra", "subtype"}
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(TEXT_CHARS, max_size=20),
    st.sampled_from(["2024-03-05 08:12:03", "03-05 08:12", "1709597523", "1709597523000", "文本", "图片", "系统消息", "49"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
HEADERS = [list(memotrace.V2_COLUMNS), list(memotrace.V3_COLUMNS), list(pywxdump.COLUMNS), ["time", "sender", "text"]]
JSON_OBJECTS = st.one_of(
    # every key a format needs, with any values
    st.sampled_from([pywxdump.COLUMNS, ("time", "sender", "text", "group")]).flatmap(
        lambda keys: st.fixed_dictionaries({k: JSON_VALUES for k in keys})
    ),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), JSON_VALUES, max_size=8),
)


@st.composite
def json_documents(draw) -> bytes:
    """JSON Lines or a JSON array of message-like objects (NaN and Infinity included)."""
    items = draw(st.lists(st.one_of(JSON_OBJECTS, JSON_VALUES), max_size=12))
    if draw(st.booleans()):
        text = "".join(json.dumps(x, ensure_ascii=draw(st.booleans())) + draw(ENDINGS) for x in items)
    else:
        text = json.dumps(items, ensure_ascii=False, indent=draw(st.sampled_from([None, 1])))
    return text.encode(draw(st.sampled_from(ENCODINGS)))


@st.composite
def csv_documents(draw) -> bytes:
    """A CSV/TSV file: a header of known and random columns, rows of text fields."""
    delimiter = draw(st.sampled_from([",", "\t"]))
    header = draw(
        st.one_of(
            st.sampled_from(HEADERS),
            st.lists(st.one_of(st.sampled_from(KEYS), st.text(TEXT_CHARS, max_size=6)), min_size=1, max_size=12),
        )
    )
    field = st.one_of(JSON_SCALARS.map(lambda v: "" if v is None else str(v)), st.sampled_from(POOL))
    rows = draw(st.lists(st.lists(field, max_size=len(header) + 1), max_size=10))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(ENDINGS))
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(draw(st.sampled_from(ENCODINGS)))


@st.composite
def truncations(draw, files: list[Path]) -> bytes:
    data = draw(st.sampled_from(files)).read_bytes()
    return data[: draw(st.integers(0, len(data)))]


def _id(fmt: str | None) -> str:
    return fmt or "auto"


# --------------------------------------------------------------------------- properties


def test_fixtures_satisfy_the_invariants(work):
    """The invariants hold on the untouched fixtures (each in its detected and forced format)."""
    assert FIXTURE_FILES and POOL
    for path in FIXTURE_FILES:
        fmt = None if path.name != "undecodable.txt" else "memotrace_txt"
        result = check_file(path, fmt, year=2024)
        if path.name != "undecodable.txt":
            assert isinstance(result, list), (path, result)


@needs_shared
def test_specimens_satisfy_the_invariants(work):
    for path in SHARED_FILES:
        if not _is_export(path):
            continue
        result = check_file(path, None, year=2024)
        assert isinstance(result, list), (path, result)


@pytest.mark.parametrize("fmt", TARGETS, ids=_id)
@_settings("random_bytes")
@given(data=st.binary(max_size=2048))
def test_random_bytes(work, fmt, data):
    check_file(work.write(data), fmt)


@pytest.mark.parametrize("fmt", TARGETS, ids=_id)
@_settings("truncated")
@given(data=truncations(FIXTURE_FILES))
def test_truncated_fixtures(work, fmt, data):
    check_file(work.write(data), fmt)


@needs_shared
@pytest.mark.parametrize("fmt", TARGETS, ids=_id)
@_settings("truncated_shared")
@given(data=truncations(SHARED_FILES or FIXTURE_FILES))
def test_truncated_specimens(work, fmt, data):
    check_file(work.write(data), fmt)


@pytest.mark.parametrize("fmt", [None, "jsonl", "pywxdump_json"], ids=_id)
@_settings("json")
@given(data=json_documents())
def test_generated_json(work, fmt, data):
    check_file(work.write(data), fmt)


@pytest.mark.parametrize("fmt", [None, *CSV_FAMILY], ids=_id)
@_settings("csv")
@given(data=csv_documents())
def test_generated_csv(work, fmt, data):
    check_file(work.write(data), fmt)


@pytest.mark.parametrize("fmt", TARGETS, ids=_id)
@_settings("line_soup")
@given(data=line_soups())
def test_line_soup(work, fmt, data):
    check_file(work.write(data), fmt)


# --------------------------------------------------------------------------- encodings, line ends


def _normalised(messages: list[Message]) -> list[dict]:
    def clean(value):
        if isinstance(value, str):
            return value.replace("\r\n", "\n").replace("\r", "\n")
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out = []
    for m in messages:
        d = m.to_dict()
        d.pop("source")
        out.append(clean(d))
    return out


READABLE = [p for p in FIXTURE_FILES + SHARED_FILES if _is_export(p)]
REENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
#: Codecs whose files the sniffer must recognise (a BOM, or UTF-8/GB18030 tried in turn).
SNIFFABLE = {"utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-32"}


def _rel(path: Path) -> str:
    return str(path.relative_to(FIXTURES if path.is_relative_to(FIXTURES) else SHARED.parent))


@pytest.mark.parametrize("codec", REENCODINGS)
@pytest.mark.parametrize("path", READABLE, ids=_rel)
def test_reencoded_copies_read_the_same(work, path, codec):
    original = read(path, None, year=2024, users={})
    assert isinstance(original, list), original
    text = decoded(path)
    copy = work.write(text.encode(codec))
    result = check_file(copy, None, year=2024, users={})
    if codec in SNIFFABLE:
        assert isinstance(result, list), result
        assert _normalised(result) == _normalised(original)
    # BOM-less UTF-16 is guessed from its NUL bytes: a text with few ASCII characters may be
    # taken for another codec. check_file has checked that it then reads without crashing.


@pytest.mark.parametrize("path", READABLE, ids=_rel)
def test_forced_own_format_and_explicit_encoding(work, path):
    """Forcing the detected format and naming the codec reads the same records."""
    fmt = detect_format(path)
    auto = read(path, None, year=2024, users={})
    forced = read(path, fmt, encoding=sniff_encoding(path), year=2024, users={})
    assert _normalised(forced) == _normalised(auto)


@_settings("line_ends")
@given(path=st.sampled_from(READABLE), data=st.data())
def test_mixed_line_ends_read_the_same(work, path, data):
    original = read(path, None, year=2024, users={})
    text = decoded(path)
    parts = re.split(r"(\r\n|\r|\n)", text)
    for i in range(1, len(parts), 2):
        parts[i] = data.draw(st.sampled_from(["\n", "\r\n"]), label=f"end{i}")
    codec = sniff_encoding(path)
    mixed = "".join(parts)
    copy = work.write(mixed.encode("utf-16" if codec.startswith("utf-16") else "utf-8"))
    result = check_file(copy, None, year=2024, users={})
    assert isinstance(result, list), result
    assert _normalised(result) == _normalised(original)


# --------------------------------------------------------------------------- crashes found
# Minimal reproducers of the exceptions other than ChatLogError that once escaped a reader
# (found by the properties above, all fixed since). Each is now a regression test: the
# reader must raise nothing, or a ChatLogError. KNOWN_CRASHES lists crashes that are found
# but not yet fixed — the properties tolerate those so the fuzz keeps looking for new kinds;
# it is empty.

_V2_HEADER = b"localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender\n"
_HTML_TITLE = "<title>群 - 微信聊天记录</title>\n".encode()

#: name: (file content, format (None: detected), signature it raised before the fix, reason)
FIXED_CRASHES = {
    # --- JSON Lines (generic._read_jsonl, generic.sniff_delimited) ---------------------
    "jsonl_deep_nesting": (
        b'{"text": "a"}\n{"text": ' + b"[" * 100_000 + b"\n", "jsonl", ("RecursionError", "_read_jsonl"),
        "RecursionError: json.loads of a deeply nested line; generic._read_jsonl catches only JSONDecodeError",
    ),
    "jsonl_deep_nesting_detect": (
        b'{"text": ' + b"[" * 100_000 + b"\n", None, ("RecursionError", "sniff_delimited"),
        "RecursionError in format detection: generic.sniff_delimited json.loads the first line",
    ),
    "jsonl_huge_integer": (
        b'{"text": "a"}\n{"text": "a", "n": ' + b"1" * 5000 + b"}\n", "jsonl", ("ValueError", "_read_jsonl"),
        "ValueError 'Exceeds the limit (4300 digits) for integer string conversion' from json.loads "
        "is not a JSONDecodeError (generic._read_jsonl)",
    ),
    "jsonl_huge_integer_detect": (
        b'{"text": "a", "n": ' + b"1" * 5000 + b"}\n", None, ("ValueError", "sniff_delimited"),
        "ValueError (int max str digits) from json.loads in generic.sniff_delimited",
    ),
    # --- time stamps (special.from_timestamp: datetime.fromtimestamp out of range) -------
    "jsonl_infinite_time": (
        b'{"text": "a", "time": Infinity}\n', "jsonl", ("OverflowError", "from_timestamp"),
        "OverflowError: parse_time(inf) -> special.from_timestamp -> datetime.fromtimestamp; "
        "callers catch ValueError only",
    ),
    "jsonl_far_future_time": (
        b'{"text": "a", "time": 1e20}\n', "jsonl", ("OSError", "from_timestamp"),
        "OSError [Errno 75] Value too large: datetime.fromtimestamp(1e17) in special.from_timestamp",
    ),
    "jsonl_far_past_time": (
        b'{"text": "a", "time": -1e20}\n', "jsonl", ("OverflowError", "from_timestamp"),
        "OverflowError: datetime.fromtimestamp(-1e20) in special.from_timestamp",
    ),
    "pywxdump_json_infinite_time": (
        '[{"type_name": "文本", "talker": "a", "msg": "x", "CreateTime": 1e400}]'.encode(), "pywxdump_json",
        ("OverflowError", "from_timestamp"), "OverflowError: CreateTime 1e400 is float inf -> special.from_timestamp",
    ),
    "memotrace_v2_csv_infinite_createtime": (
        _V2_HEADER + b"1,t,1,0,0,1e999,2,hi,bad,r,n,s\n", "memotrace_v2_csv", ("OverflowError", "from_timestamp"),
        "OverflowError: a bad StrTime falls back on float(CreateTime) = inf -> special.from_timestamp "
        "(memotrace._v2_row catches ValueError only)",
    ),
    "memotrace_v2_csv_far_createtime": (
        _V2_HEADER + b"1,t,1,0,0,1e20,2,hi,bad,r,n,s\n", "memotrace_v2_csv", ("OSError", "from_timestamp"),
        "OSError [Errno 75]: float(CreateTime) = 1e20 -> datetime.fromtimestamp",
    ),
    "forward_xml_infinite_time": (
        b'<recordinfo><datalist><dataitem datatype="1"><datadesc>a</datadesc>'
        b"<srcMsgCreateTime>1e400</srcMsgCreateTime></dataitem></datalist></recordinfo>",
        "wechat_forward_xml", ("OverflowError", "from_timestamp"),
        "OverflowError: srcMsgCreateTime inf in special.parse_forward_items (catches ValueError only)",
    ),
    # --- PyWxDump JSON (pywxdump._iter_json_array) -------------------------------------
    "pywxdump_json_deep_nesting": (
        b'[{"type_name": "t", "talker": "a", "msg": "x", "CreateTime": 1}, ' + b"[" * 100_000 + b"]",
        "pywxdump_json", ("RecursionError", "_iter_json_array"),
        "RecursionError from JSONDecoder.raw_decode in pywxdump._iter_json_array",
    ),
    "pywxdump_json_huge_integer": (
        b'[{"type_name": "t", "talker": "a", "msg": "x", "CreateTime": ' + b"9" * 5000 + b"}]",
        "pywxdump_json", ("ValueError", "_iter_json_array"),
        "ValueError (int max str digits) from raw_decode is not a JSONDecodeError (pywxdump._iter_json_array)",
    ),
    # --- sjzar/chatlog (chatlog._read) ---------------------------------------------------
    "chatlog_leap_day_rollover": (
        "2024-01-01~2024-12-31\n\n张三(wxid_a) 12-31 10:00:00\nhi\n\n李四(wxid_b) 02-29 10:00:00\nhi\n".encode(),
        "chatlog_txt", ("ValueError", "_read"),
        "ValueError 'day is out of range for month': after a December message chatlog._read moves "
        "02-29 into the next, non-leap year with when.replace(year=year)",
    ),
    # --- WechatExporter HTML (html.parser inside wechatexporter._read_html) --------------
    "html_marked_section_keyword": (
        _HTML_TITLE + b"<![C]>", "wechatexporter_html", ("AssertionError", "_read_html"),
        "AssertionError \"unknown status keyword 'C' in marked section\" from html.parser "
        "(_markupbase.parse_marked_section) escapes wechatexporter._read_html",
    ),
    "html_marked_section_name": (
        _HTML_TITLE + b"<![[", None, ("AssertionError", "_read_html"),
        "AssertionError \"expected name token at '<![['\" from html.parser escapes wechatexporter._read_html",
    ),
}

KNOWN_CRASHES: set[tuple[str, str]] = set()


_TRIAGE_DIR = str(Path(triage.__file__).resolve().parent)


def signature(exc: BaseException) -> tuple[str, str]:
    """(exception type, innermost triage function) of an exception raised by a reader."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(Path(f.filename).resolve()).startswith(_TRIAGE_DIR)]
    return type(exc).__name__, frames[-1].name if frames else ""


def _crash_params():
    for name in sorted(FIXED_CRASHES):
        data, fmt, _, _ = FIXED_CRASHES[name]
        yield pytest.param(data, fmt, id=name)


@pytest.mark.parametrize("data,fmt", _crash_params())
def test_former_crash_reproducers_raise_only_chatlog_errors(work, data, fmt):
    path = work.write(data)
    try:
        records = list(read_log(path, format=fmt))
    except ChatLogError:
        return
    assert all(isinstance(r, Message) for r in records)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_unpaired_surrogate_escape_survives_to_the_report(work, tmp_path, small_model, suffix):
    from triage.batch import classify_log
    from triage.outputs import RecordWriter

    log = work.write(b'{"text": "a\\ud800b \\u6551\\u547d"}\n')
    out = tmp_path / f"report{suffix}"
    with RecordWriter(out) as writer:
        for item in classify_log(log, model=small_model, format="jsonl"):
            writer.write(item)
    assert out.read_text(encoding="utf-8-sig")


def test_numbers_in_names_are_masked_in_the_report(work, tmp_path, small_model):
    from triage.batch import classify_log
    from triage.outputs import RecordWriter

    log = work.write(
        "2024-03-05 08:12:03 3栋王阿姨13812345678\n"
        "@小李13912345678 楼道里有人飞线充电\n"
        "引用:老周11010519491231002X:有人发传单\n\n".encode()
    )
    out = tmp_path / "report.jsonl"
    with RecordWriter(out) as writer:  # mask=True by default
        for item in classify_log(log, model=small_model, format="memotrace_txt"):
            writer.write(item)
    report = out.read_text(encoding="utf-8")
    assert "13812345678" not in report and "13912345678" not in report
    assert "11010519491231002X" not in report
