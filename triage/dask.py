"""Classification on a Dask cluster (optional extra: ``pip install triage[dask]``).

Three entry points, all classifying partition by partition on the workers:

- :func:`classify_dataframe`: a dask DataFrame with a text column gets the
  :func:`~triage.batch.predict_frame` columns (``category``, ``urgency``, ``confidence``,
  ``needs_review``, ``flags``);
- :func:`classify_bag`: a dask Bag of :class:`~triage.records.Message` (or of str) becomes a
  Bag of :class:`~triage.batch.ClassifiedMessage` (or of :class:`~triage.model.Prediction`);
- :func:`classify_logs_distributed`: the ``triage classify`` batch job. One task per log
  file, or, for a file larger than ``split_bytes``, one reading task that hands chunks of
  ``partition_size`` messages to classification tasks. Each chunk is written as its own
  part file (Parquet or JSONL) with a name fixed by its file and chunk numbers, so a task
  that is retried rewrites the same part: every input message ends up in exactly one part,
  with its ``source``, ``line`` and ``index``.

The task graphs carry only the model *directory*; each worker process loads the model the
first time a task needs it and keeps it (:func:`worker_model`), so the model is never shipped
with the tasks, and each partition gets what a local ``predict`` call on it returns.

Paths of logs, of the output directory and of a model directory must be reachable under the
same names from every worker (a shared file system); relative paths are made absolute on the
client.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from distributed import Client, as_completed, worker_client

from triage._version import __version__
from triage.api import cached_model
from triage.batch import (
    OUTPUT_COLUMNS,
    BatchSummary,
    ClassifiedMessage,
    chunked,
    classify_messages,
    predict_frame,
)
from triage.exceptions import ChatLogError
from triage.model import Prediction, TriageClassifier
from triage.records import Message

__all__ = [
    "PREDICTION_COLUMNS",
    "OUTPUT_FORMATS",
    "DEFAULT_PARTITION_SIZE",
    "DEFAULT_SPLIT_BYTES",
    "MANIFEST_NAME",
    "worker_model",
    "model_loads",
    "preload_model",
    "classify_dataframe",
    "classify_bag",
    "classify_logs_distributed",
    "PARQUET_SCHEMA",
    "FileResult",
    "DistributedResult",
]

#: Columns added by :func:`classify_dataframe` (after the optional prefix).
PREDICTION_COLUMNS = ("category", "urgency", "confidence", "needs_review", "flags")
#: Formats of the part files written by :func:`classify_logs_distributed`.
OUTPUT_FORMATS = ("parquet", "jsonl")
#: Messages per part file (and per classification task).
DEFAULT_PARTITION_SIZE = 10_000
#: Files larger than this (bytes) are read by one task and classified by several.
DEFAULT_SPLIT_BYTES = 16 << 20
#: Written last into the output directory: the parts, their row counts and the summary.
MANIFEST_NAME = "_manifest.json"
#: Error lines kept per part for the closing report (all are in the output's ``error`` column).
MAX_ERROR_LINES = 100

# --------------------------------------------------------------------------- model cache

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str | None, TriageClassifier] = {}
_LOADS: collections.Counter = collections.Counter()


def worker_model(model_dir: str | os.PathLike[str] | None = None) -> TriageClassifier:
    """The model of ``model_dir`` (None: the shipped model), loaded once per process.

    Tasks call this on the worker, so a worker process loads each model directory the first
    time one of its tasks needs it and reuses it for every later task.

    Parameters
    ----------
    model_dir : path-like, optional
        A model directory as seen from the worker; None for the shipped model.

    Returns
    -------
    TriageClassifier
    """
    key = None if model_dir is None else os.fspath(model_dir)
    model = _MODELS.get(key)
    if model is None:
        with _MODEL_LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = _MODELS[key] = cached_model(key)
                _LOADS[key or "default"] += 1
    return model


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model directory (``"default"``: the shipped one).

    Run it on every worker with ``client.run(triage.dask.model_loads)``.
    """
    return dict(_LOADS)


def _load_on_worker(model_dir: str | None) -> str:
    worker_model(model_dir).predict("预热")  # also loads jieba's dictionary, lazily read on first use
    return __version__


def preload_model(client: Client, model_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Load the model on every current worker now, and report their triage versions.

    Optional (tasks load the model when they first need it); useful to fail fast on a
    missing or corrupt model directory and to keep the load (and the first-use set-up of
    the segmenter) out of timings.

    Returns
    -------
    dict
        Worker address → version of triage installed on it.
    """
    return client.run(_load_on_worker, _model_key(model_dir))


def _model_key(model_dir: str | os.PathLike[str] | None) -> str | None:
    return None if model_dir is None else os.path.abspath(os.fspath(model_dir))


# --------------------------------------------------------------------------- DataFrame, Bag


def _prediction_dtypes(prefix: str) -> dict[str, str]:
    kinds = {"category": "str", "urgency": "str", "confidence": "float64", "needs_review": "bool", "flags": "str"}
    return {prefix + name: kinds[name] for name in PREDICTION_COLUMNS}


def _predict_partition(df: pd.DataFrame, text_column: str, model_dir: str | None, prefix: str) -> pd.DataFrame:
    model = worker_model(model_dir)
    column = df[text_column]
    # predict_frame maps None/NaN to "" but not pd.NA (dask's string[pyarrow] missing value).
    texts = column.astype(object).where(column.notna(), None).to_frame(text_column)
    predicted = predict_frame(texts, text_column, model=model, prefix=prefix)
    dtypes = _prediction_dtypes(prefix)
    out = df.copy()
    for name, dtype in dtypes.items():
        out[name] = predicted[name].to_numpy()
    return out.astype(dtypes)


def classify_dataframe(
    ddf: dd.DataFrame,
    text_column: str = "text",
    *,
    model_dir: str | os.PathLike[str] | None = None,
    prefix: str = "",
) -> dd.DataFrame:
    """Add prediction columns to a dask DataFrame, partition by partition.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    text_column : str, default="text"
        Column holding the messages; missing values get empty predictions flagged ``"empty"``.
    model_dir : path-like, optional
        Model directory reachable from the workers; None for the shipped model.
    prefix : str, default=""
        Prefix for the new column names.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; the columns of ``ddf`` plus ``category``, ``urgency``, ``confidence``,
        ``needs_review`` and ``flags``, with the values :func:`triage.batch.predict_frame` gives.
    """
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"expected a dask DataFrame, got {type(ddf).__name__}")
    if text_column not in ddf.columns:
        raise KeyError(f"expected a column {text_column!r} in the DataFrame, got columns {list(ddf.columns)}")
    dtypes = _prediction_dtypes(prefix)
    meta = ddf._meta.copy()
    for name, dtype in dtypes.items():
        meta[name] = pd.Series(dtype=dtype, index=meta.index)
    return ddf.map_partitions(_predict_partition, text_column, _model_key(model_dir), prefix, meta=meta)


def _classify_items(items: Iterable[Any], model_dir: str | None) -> list[ClassifiedMessage] | list[Prediction]:
    items = list(items)
    model = worker_model(model_dir)
    if all(isinstance(x, str) for x in items):
        return model.predict(items)
    if all(isinstance(x, Message) for x in items):
        return list(classify_messages(items, model=model))
    kinds = sorted({type(x).__name__ for x in items})
    raise TypeError(f"expected a Bag of str or of Message (not mixed), got a partition of {', '.join(kinds)}")


def classify_bag(bag: db.Bag, *, model_dir: str | os.PathLike[str] | None = None) -> db.Bag:
    """Classify a dask Bag of messages, partition by partition.

    Parameters
    ----------
    bag : dask.bag.Bag
        Of :class:`~triage.records.Message` (e.g. ``db.from_sequence(list(read_log(path)))``), or of str.
    model_dir : path-like, optional
        Model directory reachable from the workers; None for the shipped model.

    Returns
    -------
    dask.bag.Bag
        Lazy, same partitions and order: a :class:`~triage.batch.ClassifiedMessage` per
        Message (media, system and error records pass through unclassified), or a
        :class:`~triage.model.Prediction` per str.
    """
    if not isinstance(bag, db.Bag):
        raise TypeError(f"expected a dask Bag, got {type(bag).__name__}")
    return bag.map_partitions(_classify_items, _model_key(model_dir))


# --------------------------------------------------------------------------- part files


def _arrow_type(column: str) -> pa.DataType:
    if column in ("line", "index"):
        return pa.int64()
    if column in ("mentions", "flags"):
        return pa.list_(pa.string())
    if column == "confidence":
        return pa.float64()
    if column == "needs_review":
        return pa.bool_()
    return pa.string()


#: Parquet schema of the part files (one column per :data:`~triage.batch.OUTPUT_COLUMNS`).
PARQUET_SCHEMA = pa.schema([pa.field(c, _arrow_type(c)) for c in OUTPUT_COLUMNS])


def _write_parquet(items: Sequence[ClassifiedMessage], path: str, mask: bool) -> None:
    rows = [item.to_row(mask=mask) for item in items]
    columns = {}
    for field in PARQUET_SCHEMA:
        values = [row[field.name] for row in rows]  # None (null) for unclassified records
        if field.type == pa.string():
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
        columns[field.name] = values
    pq.write_table(pa.table(columns, schema=PARQUET_SCHEMA), path)


def _write_jsonl(items: Sequence[ClassifiedMessage], path: str, mask: bool) -> None:
    from triage.outputs import RecordWriter

    with RecordWriter(path, format="jsonl", mask=mask) as writer:
        for item in items:
            writer.write(item)


def _part_name(file_no: int, chunk_no: int, output_format: str) -> str:
    return f"part-{file_no:05d}-{chunk_no:05d}.{output_format}"


@dataclasses.dataclass(frozen=True)
class _Job:
    """Everything a worker needs to process one log file (small: it travels in the graph)."""

    path: str
    source: str
    file_no: int
    key: str
    output_dir: str
    output_format: str
    partition_size: int
    mask: bool
    model_dir: str | None
    format: str | None
    reader_options: tuple[tuple[str, Any], ...]
    reader: Callable[[str], Iterable[Message]] | None
    in_flight: int = 0  # > 0: read here, classify each chunk in its own task


@dataclasses.dataclass
class FileResult:
    """What the tasks of one log file produced.

    Attributes
    ----------
    source : str
        The path as given.
    parts : list of str
        Part files written (names inside the output directory), in chunk order.
    rows : list of int
        Records in each part.
    summary : BatchSummary
        Counts of this file's records.
    error_lines : list of str
        ``source:line: why`` for unparsable records (at most ``MAX_ERROR_LINES`` per part).
    failure : str
        Why the file could not be read (its records before the failure are kept), or "".
    """

    source: str
    parts: list[str] = dataclasses.field(default_factory=list)
    rows: list[int] = dataclasses.field(default_factory=list)
    summary: BatchSummary = dataclasses.field(default_factory=BatchSummary)
    error_lines: list[str] = dataclasses.field(default_factory=list)
    failure: str = ""

    def _add_part(self, part: tuple[str, int, BatchSummary, list[str]]) -> None:
        name, rows, summary, errors = part
        self.parts.append(name)
        self.rows.append(rows)
        self.summary.update(summary)
        self.error_lines.extend(errors)


def _classify_part(chunk: list[Message], job: _Job, chunk_no: int) -> tuple[str, int, BatchSummary, list[str]]:
    """Classify one chunk and write it atomically as its part file."""
    items = list(classify_messages(chunk, model=worker_model(job.model_dir), chunk_size=len(chunk)))
    summary = BatchSummary()
    errors = []
    for item in items:
        summary.add(item)
        if item.status == "error" and len(errors) < MAX_ERROR_LINES:
            errors.append(f"{item.message.source}:{item.message.line}: {item.message.error}")
    name = _part_name(job.file_no, chunk_no, job.output_format)
    final = os.path.join(job.output_dir, name)
    tmp = os.path.join(job.output_dir, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        (_write_parquet if job.output_format == "parquet" else _write_jsonl)(items, tmp, job.mask)
        os.replace(tmp, final)  # a retried task replaces the same part: never two copies
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return name, len(items), summary, errors


def _messages(job: _Job) -> Iterator[Message]:
    if job.reader is not None:
        messages = job.reader(job.path)
    else:
        from triage.readers import read_log

        messages = read_log(job.path, format=job.format, **dict(job.reader_options))
    for message in messages:
        message.source = job.source
        yield message


def _read_chunks(job: _Job, result: FileResult) -> Iterator[list[Message]]:
    """Chunks of ``partition_size`` messages.

    A read failure ends them, after the messages read before it, and sets ``result.failure``.
    Only reading is guarded: a failure to classify or write fails the task.
    """
    try:
        yield from chunked(_messages(job), job.partition_size)
    except (ChatLogError, OSError) as exc:
        result.failure = str(exc)


def _run_file(job: _Job) -> FileResult:
    """Task: read one log file and classify it, here (small file) or in chunk tasks (big file)."""
    result = FileResult(job.source)
    chunks = enumerate(_read_chunks(job, result))
    if not job.in_flight:
        for chunk_no, chunk in chunks:
            result._add_part(_classify_part(chunk, job, chunk_no))
        return result
    attempt = uuid.uuid4().hex[:8]  # fresh keys if this task is rerun after its worker died
    with worker_client() as client:  # secedes: this thread only reads while others classify
        pending: collections.deque = collections.deque()
        try:
            for chunk_no, chunk in chunks:
                # The chunk travels inside the task, not scattered: if the worker running it
                # dies, the scheduler still has it and reruns the task elsewhere.
                key = f"{job.key}-{chunk_no}-{attempt}"
                pending.append(client.submit(_classify_part, chunk, job, chunk_no, key=key, pure=False))
                while len(pending) >= job.in_flight:
                    result._add_part(pending.popleft().result())
            while pending:
                result._add_part(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
    return result


# --------------------------------------------------------------------------- the batch job


@dataclasses.dataclass
class DistributedResult:
    """Outcome of :func:`classify_logs_distributed`.

    Attributes
    ----------
    output_dir : str
    output_format : str
    summary : BatchSummary
        Counts over every file (``summary.read`` records were written).
    parts : list of str
        Part files written, sorted (names inside ``output_dir``).
    failed_files : list of (str, str)
        ``(source, why)`` for files that could not be read to the end.
    error_lines : list of str
        ``source:line: why`` for unparsable records (capped per part).
    files : list of FileResult
        Per input file, in input order.
    """

    output_dir: str
    output_format: str
    summary: BatchSummary
    parts: list[str]
    failed_files: list[tuple[str, str]]
    error_lines: list[str]
    files: list[FileResult]

    @property
    def rows(self) -> int:
        """Records written."""
        return self.summary.read


def _prepare_output(output_dir: str, overwrite: bool) -> None:
    os.makedirs(output_dir, exist_ok=True)
    ours = [n for n in os.listdir(output_dir) if n.startswith("part-") or n == MANIFEST_NAME]
    if ours and not overwrite:
        raise FileExistsError(
            f"output directory {output_dir!r} already holds {len(ours)} part/manifest files; "
            "pass overwrite=True (CLI: --overwrite) or choose an empty directory"
        )
    for name in ours:
        os.remove(os.path.join(output_dir, name))


def _write_manifest(result: DistributedResult, partition_size: int) -> None:
    manifest = {
        "triage": __version__,
        "format": result.output_format,
        "partition_size": partition_size,
        "columns": list(OUTPUT_COLUMNS),
        "rows": result.rows,
        "summary": {
            "read": result.summary.read,
            "classified": result.summary.classified,
            "skipped": dict(result.summary.skipped),
            "errors": result.summary.errors,
            "by_category": dict(result.summary.by_category),
            "by_urgency": dict(result.summary.by_urgency),
        },
        "files": [
            {
                "source": f.source,
                "rows": f.summary.read,
                "failure": f.failure,
                "parts": [{"name": n, "rows": r} for n, r in zip(f.parts, f.rows)],
            }
            for f in result.files
        ],
    }
    path = os.path.join(result.output_dir, MANIFEST_NAME)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def classify_logs_distributed(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    client: Client,
    format: str | None = None,
    model_dir: str | os.PathLike[str] | None = None,
    output_format: str = "parquet",
    partition_size: int = DEFAULT_PARTITION_SIZE,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    mask: bool = True,
    overwrite: bool = False,
    reader: Callable[[str], Iterable[Message]] | None = None,
    progress: Callable[[FileResult], None] | None = None,
    **reader_options: Any,
) -> DistributedResult:
    """Read, classify and write chat logs on a Dask cluster, as partitioned output.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Log files, readable from the workers.
    output_dir : path-like
        Directory (created if needed, writable from the workers) that receives
        ``part-FFFFF-CCCCC.<format>`` files (file number, chunk number) and, last,
        ``_manifest.json``.
    client : distributed.Client
    format : str, optional
        Force a reader (see :data:`triage.readers.FORMATS`); detected per file otherwise.
    model_dir : path-like, optional
        Model directory; None for the shipped model. Loaded once per worker process.
    output_format : {"parquet", "jsonl"}, default="parquet"
        Parquet with :data:`PARQUET_SCHEMA` (unclassified records have null ``confidence``
        and ``needs_review``), or JSON Lines rows identical to ``triage classify -o x.jsonl``.
    partition_size : int, default=10000
        Messages per part file and per classification task.
    split_bytes : int, default=16 MiB
        Files larger than this are read by one task and classified by several.
    mask : bool, default=True
        Mask phone, ID-card, bank-card and plate numbers in the texts.
    overwrite : bool, default=False
        Remove part files and manifest already in ``output_dir`` instead of refusing to run.
    reader : callable, optional
        ``reader(path) -> iterable of Message`` (picklable) used instead of
        :func:`triage.readers.read_log`.
    progress : callable, optional
        Called on the client with each :class:`FileResult` as its file completes.
    **reader_options
        Passed to :func:`triage.readers.read_log` (``encoding``, ``text_column``, ...).

    Returns
    -------
    DistributedResult
        Every message of every readable file is in exactly one part, with its ``source``
        (the path as given), ``line`` and ``index``. A file that fails part-way keeps every
        record read before the failure.
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"expected output_format in {OUTPUT_FORMATS}, got {output_format!r}")
    if partition_size < 1:
        raise ValueError(f"expected partition_size >= 1, got {partition_size}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    sources = [os.fspath(p) for p in paths]
    output_dir = os.path.abspath(os.fspath(output_dir))
    _prepare_output(output_dir, overwrite)

    run = uuid.uuid4().hex[:8]
    jobs = []
    for file_no, source in enumerate(sources):
        path = os.path.abspath(source)
        try:
            big = os.path.getsize(path) > split_bytes
        except OSError:
            big = False  # the worker reports why it cannot read it
        jobs.append(
            _Job(
                path=path,
                source=source,
                file_no=file_no,
                key=f"triage-{run}-{file_no}",
                output_dir=output_dir,
                output_format=output_format,
                partition_size=partition_size,
                mask=mask,
                model_dir=_model_key(model_dir),
                format=format,
                reader_options=tuple(sorted(reader_options.items())),
                reader=reader,
                in_flight=1 if big else 0,  # set when submitted, from the cluster's size then
            )
        )

    # Only so many file tasks are submitted at a time (sized on the cluster as it is then, so an
    # adaptive cluster that grows gets more), so that the scheduler's and the workers' memory
    # stay flat whatever the number of files: 2 per worker thread, and for big files 1 reader
    # per 8 threads, each keeping about 2 chunks per thread in flight.
    small = collections.deque(j for j in jobs if not j.in_flight)
    big_jobs = collections.deque(j for j in jobs if j.in_flight)
    results: dict[int, FileResult] = {}
    running = as_completed()
    n_small = n_big = 0

    def submit() -> None:
        nonlocal n_small, n_big
        threads = max(1, sum(client.nthreads().values()))
        max_readers = math.ceil(threads / 8)
        while big_jobs and n_big < max_readers:
            job = dataclasses.replace(big_jobs.popleft(), in_flight=math.ceil(2 * threads / max_readers) + 1)
            running.add(client.submit(_run_file, job, key=job.key, pure=False))
            n_big += 1
        while small and n_small < 2 * threads:
            job = small.popleft()
            running.add(client.submit(_run_file, job, key=job.key, pure=False))
            n_small += 1

    by_key = {j.key: j for j in jobs}
    submit()
    try:
        for future in running:
            job = by_key[future.key]
            results[job.file_no] = future.result()
            future.release()
            if job.in_flight:
                n_big -= 1
            else:
                n_small -= 1
            if progress is not None:
                progress(results[job.file_no])
            submit()
    except BaseException:
        for future in list(running.futures):
            future.cancel()
        raise

    for name in os.listdir(output_dir):  # left by a worker that died while writing a part
        if name.startswith(".part-") and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(output_dir, name))
    files = [results[j.file_no] for j in jobs]
    summary = BatchSummary()
    for f in files:
        summary.update(f.summary)
    result = DistributedResult(
        output_dir=output_dir,
        output_format=output_format,
        summary=summary,
        parts=sorted(n for f in files for n in f.parts),
        failed_files=[(f.source, f.failure) for f in files if f.failure],
        error_lines=[line for f in files for line in f.error_lines],
        files=files,
    )
    _write_manifest(result, partition_size)
    return result
