"""Stage 5 of the pipeline: classify whole chat logs, streaming, in input order.

Every input message comes out exactly once, in input order, as a
:class:`ClassifiedMessage`: text messages with a :class:`~triage.model.Prediction`;
media, system, recall and unparsable lines with ``prediction=None`` and a ``status`` saying
why (so counts reconcile). Work is done in chunks of ``chunk_size`` messages, so memory
stays flat whatever the size of the log; identical texts within a chunk are classified
once. With ``workers > 1`` chunks are classified in worker processes that each load the
model once; at most ``2 × workers`` chunks are in flight.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import itertools
import multiprocessing
import operator
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from triage.model import Prediction, TriageClassifier
from triage import patterns
from triage.privacy import mask_pii
from triage.records import Message, MessageKind
from triage.taxonomy import CATEGORY_NAMES_ZH, URGENCY_NAMES_ZH

__all__ = [
    "ClassifiedMessage",
    "BatchSummary",
    "OUTPUT_COLUMNS",
    "classify_messages",
    "chunked",
    "classify_log",
    "in_chunk_order",
    "predict_frame",
]

#: Columns of every CSV/JSONL output row, in order.
OUTPUT_COLUMNS = (
    "source",
    "line",
    "index",
    "group",
    "time",
    "sender",
    "sender_id",
    "kind",
    "status",
    "text",
    "quoted_sender",
    "quoted_text",
    "mentions",
    "category",
    "urgency",
    "category_zh",
    "urgency_zh",
    "confidence",
    "needs_review",
    "flags",
    "error",
)

CLASSIFIED = "classified"
SKIPPED = "skipped"
ERROR = "error"


@dataclasses.dataclass
class ClassifiedMessage:
    """A chat-log message and, when it carries text, its prediction.

    Attributes
    ----------
    message : Message
        The record as read.
    prediction : Prediction or None
        None when the message was not sent to the classifier.
    status : str
        ``"classified"``, ``"skipped"`` (media, system, recall, empty) or ``"error"``
        (the reader could not parse the line; ``message.error`` says why).
    """

    message: Message
    prediction: Prediction | None
    status: str

    def to_row(self, *, mask: bool = True) -> dict[str, Any]:
        """Flat dict with :data:`OUTPUT_COLUMNS`; personal numbers masked unless ``mask=False``."""
        m, p = self.message, self.prediction
        clean = _masked if mask else _valid_text
        return {
            "source": _valid_text(m.source),
            "line": m.line,
            "index": m.index,
            "group": clean(m.group),
            "time": m.time.isoformat(sep=" ") if m.time else "",
            "sender": clean(m.sender),
            "sender_id": clean(m.sender_id),
            "kind": m.kind,
            "status": self.status,
            "text": clean(m.text),
            "quoted_sender": clean(m.quoted_sender),
            "quoted_text": clean(m.quoted_text),
            "mentions": [clean(name) for name in m.mentions],
            "category": p.category if p else None,
            "urgency": p.urgency if p else None,
            "category_zh": CATEGORY_NAMES_ZH.get(p.category) if p and p.category else None,
            "urgency_zh": URGENCY_NAMES_ZH.get(p.urgency) if p and p.urgency else None,
            "confidence": round(p.confidence, 4) if p else None,
            "needs_review": p.needs_review if p else None,
            "flags": list(p.flags) if p else [],
            "error": _valid_text(m.error),
        }


def _valid_text(text: str) -> str:
    """The text with lone surrogates (from ``\\ud800`` escapes in a log) replaced by U+FFFD."""
    return patterns.SURROGATE.sub("\ufffd", text) if text else text


def _masked(text: str) -> str:
    return mask_pii(_valid_text(text))


@dataclasses.dataclass
class BatchSummary:
    """Running counts of a batch job (what the CLI prints at the end)."""

    read: int = 0
    classified: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    errors: int = 0
    by_category: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    by_urgency: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    def add(self, item: ClassifiedMessage) -> None:
        self.read += 1
        if item.status == CLASSIFIED:
            self.classified += 1
            self.by_category[item.prediction.category] += 1
            self.by_urgency[item.prediction.urgency] += 1
        elif item.status == ERROR:
            self.errors += 1
        else:
            self.skipped[item.message.kind] += 1

    def update(self, other: BatchSummary) -> None:
        """Add another summary's counts to this one (e.g. from parallel workers)."""
        self.read += other.read
        self.classified += other.classified
        self.errors += other.errors
        self.skipped.update(other.skipped)
        self.by_category.update(other.by_category)
        self.by_urgency.update(other.by_urgency)

    def reconciles(self) -> bool:
        """True when read = classified + skipped + errors."""
        return self.read == self.classified + sum(self.skipped.values()) + self.errors

    def format(self) -> str:
        skipped = ", ".join(f"{k} {v}" for k, v in self.skipped.most_common()) or "none"
        urg = ", ".join(f"{k} {v}" for k, v in self.by_urgency.most_common())
        return (
            f"messages read: {self.read}; classified: {self.classified}; "
            f"skipped: {sum(self.skipped.values())} ({skipped}); errors: {self.errors}"
            + (f"\nurgency: {urg}" if urg else "")
        )


def _status(message: Message) -> str:
    if message.kind == MessageKind.ERROR:
        return ERROR
    return CLASSIFIED if message.classifiable else SKIPPED


def chunked(items: Iterable[Message], size: int) -> Iterator[list[Message]]:
    """Group messages into lists of ``size``; if the source raises, the messages read so far
    are yielded first (then the error propagates), so nothing read is lost."""
    chunk: list[Message] = []
    iterator = iter(items)
    while True:
        try:  # only the source is guarded: a consumer closing this generator is not an error
            item = next(iterator)
        except StopIteration:
            break
        except BaseException:
            if chunk:
                yield chunk
            raise
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _texts(chunk: Sequence[Message]) -> list[str]:
    return [m.text for m in chunk if _status(m) == CLASSIFIED]


def _merge(chunk: Sequence[Message], predictions: Sequence[Prediction]) -> Iterator[ClassifiedMessage]:
    preds = iter(predictions)
    for m in chunk:
        status = _status(m)
        yield ClassifiedMessage(m, next(preds) if status == CLASSIFIED else None, status)


# Worker-process state: the model is loaded once per worker by the pool's initializer.
_WORKER_MODEL: TriageClassifier | None = None


def _init_worker(model: TriageClassifier) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model  # under fork the parent's object itself; otherwise an unpickled copy


_MESSAGE_FIELDS = tuple(field.name for field in dataclasses.fields(Message))
assert _MESSAGE_FIELDS[-1] == "extra"
_message_values = operator.attrgetter(*_MESSAGE_FIELDS[:-1])


def pack_messages(chunk: Sequence[Message]) -> list[tuple]:
    """Messages as tuples of their fields, about four times cheaper to send to a worker.

    ``extra`` (the last field) is left out when empty: unpickling 2,000 empty dicts costs
    as much as all the other fields together.
    """
    return [(*_message_values(m), m.extra) if m.extra else _message_values(m) for m in chunk]


def unpack_messages(rows: Sequence[tuple] | Sequence[Message]) -> list[Message]:
    """Inverse of :func:`pack_messages` (messages are returned as they are)."""
    if rows and isinstance(rows[0], Message):
        return list(rows)
    return [Message(*values) for values in rows]


@dataclasses.dataclass
class _Failed:
    """The exception of a chunk done in this process, raised when its turn comes."""

    error: BaseException


def _run_here(work: Callable[[TriageClassifier, Any], Any], model: TriageClassifier, payload: Any) -> Any:
    try:
        return work(model, payload)
    except Exception as exc:  # raised in chunk order, after the chunks before it are yielded
        return _Failed(exc)


def _call_in_worker(work: Callable[[TriageClassifier, Any], Any], in_path: str, out_path: str) -> bool:
    try:  # claim the chunk: this process or the parent (see in_chunk_order), never both
        os.rename(in_path, in_path + ".claimed")
    except FileNotFoundError:
        return False  # the parent took it back
    with open(in_path + ".claimed", "rb") as fh:
        payload = pickle.load(fh)
    os.unlink(in_path + ".claimed")
    result = work(_WORKER_MODEL, payload)
    with open(out_path + ".part", "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(out_path + ".part", out_path)  # the result file appears complete or not at all
    return True


def _predict_texts(model: TriageClassifier, texts: list[str]) -> list[Prediction]:
    return model.predict(texts) if texts else []


def _worker_start(model: TriageClassifier):
    """How helper processes start, and what their initializer receives.

    When this process runs no other Python thread, helpers are forked (Linux): they inherit
    the loaded model and start at once. Otherwise (other threads alive, where forking can
    deadlock; no ``fork`` on the platform) each helper is a fresh interpreter from the
    ``forkserver`` (or ``spawn``) that receives the model pickled — the very object, so
    parameters changed in memory (``set_params``) hold in every helper — about a second of
    start-up per helper.
    """
    if (
        sys.platform.startswith("linux")
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return multiprocessing.get_context("fork"), (model,)
    return multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn"), (model,)


def batch_model(model: TriageClassifier | None, chunk_size: int, workers: int) -> TriageClassifier:
    """Validate a batch job's ``chunk_size`` and ``workers``; return its model (default: shipped)."""
    if chunk_size < 1:
        raise ValueError(f"expected chunk_size >= 1, got {chunk_size}")
    if workers < 1:
        raise ValueError(f"expected workers >= 1, got {workers}")
    if model is None:
        from triage.api import default_model

        model = default_model()
    return model


def classify_messages(
    messages: Iterable[Message],
    *,
    model: TriageClassifier | None = None,
    chunk_size: int = 2000,
    workers: int = 1,
) -> Iterator[ClassifiedMessage]:
    """Classify a stream of messages, yielding each one exactly once, in order.

    Parameters
    ----------
    messages : iterable of Message
        Typically :func:`triage.readers.read_log` output.
    model : TriageClassifier, optional
        Defaults to the shipped model.
    chunk_size : int, default=2000
        Messages per chunk (the unit of memory use and of work per worker).
    workers : int, default=1
        Worker processes; 1 classifies in this process.
    """
    model = batch_model(model, chunk_size, workers)
    chunks = chunked(messages, chunk_size)
    if workers == 1:
        for chunk in chunks:
            yield from _merge(chunk, _predict_texts(model, _texts(chunk)))
        return
    for chunk, predictions in in_chunk_order(chunks, _predict_texts, _texts, model=model, workers=workers):
        yield from _merge(chunk, predictions)


def in_chunk_order(
    chunks: Iterable[list[Message]],
    work: Callable[[TriageClassifier, Any], Any],
    payload: Callable[[list[Message]], Any],
    *,
    model: TriageClassifier,
    workers: int,
    local_payload: Callable[[list[Message]], Any] | None = None,
) -> Iterator[tuple[list[Message], Any]]:
    """Run ``work(model, payload(chunk))`` for every chunk on ``workers`` processes; yield in order.

    ``local_payload`` (default ``payload``) makes the argument of chunks done in this process,
    which need not be packed for sending.
    The workers are this process and ``workers - 1`` helper processes. Helpers get up to
    three chunks each in flight; this process reads the chunks, hands them out, and does
    the work of any chunk that finds every helper busy — so on ``workers`` cores nothing
    waits, and the chunks this process keeps cost no transfer between processes. At the
    end of the input it takes back the chunks no helper has started.
    ``work`` must be a module-level function (helpers receive it by name).

    Yields ``(chunk, result)`` pairs in chunk order. If reading the chunks raises, the
    chunks read before are still finished and yielded, then the error propagates.
    """
    # Warm the model before forking (segmenter dictionary, compiled arrays): forked helpers
    # inherit it instead of each spending ~0.2 s building it on its first chunk.
    model.predict("预热")
    context, initargs = _worker_start(model)
    helpers = workers - 1
    local = local_payload or payload
    with tempfile.TemporaryDirectory(prefix="triage-batch-") as spool, concurrent.futures.ProcessPoolExecutor(
        max_workers=helpers, mp_context=context, initializer=_init_worker, initargs=initargs
    ) as pool:
        # Payloads and results cross through files in a private directory, pickled and read
        # by the main threads: a 2,000-message chunk is ~0.3 MB, and through the executor's
        # pipes a helper sat blocked on writing its result until this process's management
        # thread won the GIL from the busy main thread to read it. A result file is complete
        # once it exists, so "is the helper done" is a stat, not a wait for that thread either.
        # pending: (chunk, future, result file) for a helper's chunk, (chunk, None, result)
        pending: collections.deque = collections.deque()
        numbers = itertools.count()

        def done(entry: tuple) -> bool:
            return entry[1] is None or os.path.exists(entry[2]) or entry[1].done()

        def finish(entry: tuple) -> tuple[list[Message], Any]:
            chunk, future, result = entry
            if future is None:
                if isinstance(result, _Failed):
                    raise result.error
                return chunk, result
            future.result()  # re-raises a helper's exception
            with open(result, "rb") as fh:
                out = pickle.load(fh)
            os.unlink(result)
            return chunk, out

        def submit(chunk: list[Message]) -> tuple:
            n = next(numbers)
            in_path, out_path = os.path.join(spool, f"{n}.in"), os.path.join(spool, f"{n}.out")
            with open(in_path, "wb") as fh:
                pickle.dump(payload(chunk), fh, protocol=pickle.HIGHEST_PROTOCOL)
            return chunk, pool.submit(_call_in_worker, work, in_path, out_path), out_path

        source = iter(chunks)
        source_error: Exception | None = None
        while True:
            try:
                chunk = next(source)
            except StopIteration:
                break
            except Exception as exc:  # a reader error: finish what was read first
                source_error = exc
                break
            while pending and done(pending[0]):
                yield finish(pending.popleft())
            if sum(1 for entry in pending if not done(entry)) < 3 * helpers:
                pending.append(submit(chunk))
            else:
                pending.append((chunk, None, _run_here(work, model, local(chunk))))
            while len(pending) > 4 * workers:  # the oldest helper chunk is slow: wait for it
                yield finish(pending.popleft())
        # The end of the input: take back helper chunks that have not started (latest first)
        # and do them here, instead of waiting idle while a helper works through its queue.
        for i in range(len(pending) - 1, -1, -1):
            chunk, future, out_path = pending[i]
            if future is None:
                continue
            in_path = out_path[: -len(".out")] + ".in"
            try:
                os.rename(in_path, in_path + ".taken")
            except FileNotFoundError:
                continue  # a helper has claimed it
            os.unlink(in_path + ".taken")
            pending[i] = (chunk, None, _run_here(work, model, local(chunk)))
        while pending:
            yield finish(pending.popleft())
        if source_error is not None:
            raise source_error


def classify_log(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    model: TriageClassifier | None = None,
    format: str | None = None,
    chunk_size: int = 2000,
    workers: int = 1,
    **reader_options: Any,
) -> Iterator[ClassifiedMessage]:
    """Read and classify one or more exported chat logs.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Log files; each one's format is detected from its content unless ``format`` is given.
    model : TriageClassifier, optional
        Defaults to the shipped model.
    format : str, optional
        Force a reader (see :data:`triage.readers.FORMATS`).
    chunk_size, workers : int
        See :func:`classify_messages`.
    **reader_options
        Passed to :func:`triage.readers.read_log` (``encoding``, ``text_column``, ...).

    Yields
    ------
    ClassifiedMessage
        Every message of every file, in file then input order.
    """
    from triage.readers import read_log

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    messages = itertools.chain.from_iterable(read_log(p, format=format, **reader_options) for p in paths)
    yield from classify_messages(messages, model=model, chunk_size=chunk_size, workers=workers)


def predict_frame(df, text_column: str = "text", *, model: TriageClassifier | None = None, prefix: str = ""):
    """Return a copy of a pandas DataFrame with prediction columns added.

    Parameters
    ----------
    df : pandas.DataFrame
    text_column : str, default="text"
        Column holding the messages; missing values (NaN/None) get empty predictions
        flagged ``"empty"`` rather than an error.
    model : TriageClassifier, optional
        Defaults to the shipped model.
    prefix : str, default=""
        Prefix for the new column names.

    Returns
    -------
    pandas.DataFrame
        With ``category``, ``urgency``, ``confidence``, ``needs_review`` and ``flags``.
    """
    if text_column not in df.columns:
        raise KeyError(f"expected a column {text_column!r} in the DataFrame, got columns {list(df.columns)}")
    if model is None:
        from triage.api import default_model

        model = default_model()
    column = df[text_column]
    texts = ["" if missing else str(v) for v, missing in zip(column.tolist(), column.isna().tolist())]
    preds = model.predict(texts)
    out = df.copy()
    out[prefix + "category"] = [p.category for p in preds]
    out[prefix + "urgency"] = [p.urgency for p in preds]
    out[prefix + "confidence"] = [round(p.confidence, 4) for p in preds]
    out[prefix + "needs_review"] = [p.needs_review for p in preds]
    out[prefix + "flags"] = [",".join(p.flags) for p in preds]
    return out
