"""Writers for classified records: CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and JSONL.

:meth:`RecordWriter.write_log` is the batch job of ``triage classify``: read a log, classify
it and write the rows, chunk by chunk. With ``workers > 1`` the helper processes do not
only classify their chunks but also mask and format their rows (about a third of the work
per message), so that this process is left with reading the log and writing text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from triage.batch import (
    ERROR,
    OUTPUT_COLUMNS,
    BatchSummary,
    ClassifiedMessage,
    _merge,
    _predict_texts,
    _texts,
    batch_model,
    chunked,
    in_chunk_order,
    pack_messages,
    unpack_messages,
)
from triage.model import TriageClassifier
from triage.records import Message

__all__ = ["ChunkReport", "RecordWriter", "OUTPUT_FORMATS", "format_records"]

OUTPUT_FORMATS = ("csv", "jsonl")


def _output_row(item: ClassifiedMessage, output_format: str, mask: bool) -> dict[str, Any]:
    row = item.to_row(mask=mask)
    if output_format == "csv":
        row["mentions"] = " ".join(row["mentions"])
        row["flags"] = ",".join(row["flags"])
    return row


def format_records(items: Iterable[ClassifiedMessage], output_format: str, *, mask: bool = True) -> str:
    """The CSV lines (no header) or JSONL lines of classified records, as one string."""
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
        writer.writerows(_output_row(item, "csv", mask) for item in items)
        return buffer.getvalue()
    if output_format == "jsonl":
        return "".join(json.dumps(_output_row(item, "jsonl", mask), ensure_ascii=False) + "\n" for item in items)
    raise ValueError(f"expected an output format in {OUTPUT_FORMATS}, got {output_format!r}")


@dataclasses.dataclass
class ChunkReport:
    """What :meth:`RecordWriter.write_log` wrote for one chunk of a log.

    Attributes
    ----------
    rows : int
        Records written (one per message read).
    summary : BatchSummary
        Counts of the chunk's records.
    errors : list of (source, line, why)
        The chunk's unparsable lines, for the caller to report.
    """

    rows: int
    summary: BatchSummary
    errors: list[tuple[str, int, str]]


def _format_chunk(model: TriageClassifier, payload: tuple[Sequence[Any], str, bool]) -> tuple[str, BatchSummary, list]:
    """Classify, count and format one chunk (in this process or a helper)."""
    rows, output_format, mask = payload
    chunk = unpack_messages(rows)
    items = list(_merge(chunk, _predict_texts(model, _texts(chunk))))
    summary = BatchSummary()
    errors = []
    for item in items:
        summary.add(item)
        if item.status == ERROR:
            errors.append((item.message.source, item.message.line, item.message.error))
    return format_records(items, output_format, mask=mask), summary, errors


class RecordWriter:
    """Write :class:`~triage.batch.ClassifiedMessage` rows to a CSV or JSONL file.

    Parameters
    ----------
    path : path-like or "-"
        Output file; ``"-"`` writes JSONL to standard output.
    format : {"csv", "jsonl"}, optional
        Defaults to the file's extension (``.csv``, ``.jsonl``/``.json``).
    mask : bool, default=True
        Mask phone, ID-card, bank-card and plate numbers (:func:`triage.privacy.mask_pii`).
    """

    def __init__(self, path: str | os.PathLike[str], *, format: str | None = None, mask: bool = True) -> None:
        self.path = str(path)
        self.mask = mask
        if format is None:
            suffix = Path(self.path).suffix.lower()
            format = "jsonl" if self.path == "-" or suffix in (".jsonl", ".json", ".ndjson") else "csv" if suffix == ".csv" else None
        if format not in OUTPUT_FORMATS:
            raise ValueError(f"expected an output ending in .csv or .jsonl (or format= one of {OUTPUT_FORMATS}), got {self.path!r}")
        self.format = format
        self._fh: IO[str] | None = None
        self._csv: Any = None
        self.rows = 0

    def __enter__(self) -> RecordWriter:
        if self.path == "-":
            self._fh = sys.stdout
        else:
            encoding = "utf-8-sig" if self.format == "csv" else "utf-8"
            self._fh = open(self.path, "w", encoding=encoding, newline="")
        if self.format == "csv":
            self._csv = csv.DictWriter(self._fh, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
            self._csv.writeheader()
        return self

    def write(self, item: ClassifiedMessage) -> None:
        """Write one record."""
        row = _output_row(item, self.format, self.mask)
        if self._csv is not None:
            self._csv.writerow(row)
        else:
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows += 1

    def write_log(
        self,
        path: str | os.PathLike[str],
        *,
        model: TriageClassifier | None = None,
        format: str | None = None,
        chunk_size: int = 2000,
        workers: int = 1,
        **reader_options: Any,
    ) -> Iterator[ChunkReport]:
        """Read, classify and write one chat log; yield a report after each chunk is written.

        Every message of the log becomes one row, in input order, as with :meth:`write` on
        :func:`triage.batch.classify_log`'s records — but with ``workers > 1`` the rows are
        classified and formatted by ``workers`` processes (see
        :func:`triage.batch.in_chunk_order`). A reader error is raised after the rows of
        the messages read before it are written.

        Parameters
        ----------
        path : path-like
            The log file.
        model : TriageClassifier, optional
            Defaults to the shipped model.
        format : str, optional
            Force a reader (see :data:`triage.readers.FORMATS`).
        chunk_size, workers : int
            Messages per chunk; processes doing the work (1: only this one).
        **reader_options
            Passed to :func:`triage.readers.read_log`.
        """
        from triage.readers import read_log

        if self._fh is None:
            raise ValueError("expected an open RecordWriter (use it in a with block), got a closed one")
        model = batch_model(model, chunk_size, workers)
        fmt, mask = self.format, self.mask
        chunks = chunked(read_log(path, format=format, **reader_options), chunk_size)
        if workers == 1:
            results: Iterable[tuple[list[Message], Any]] = ((c, _format_chunk(model, (c, fmt, mask))) for c in chunks)
        else:
            results = in_chunk_order(
                chunks,
                _format_chunk,
                lambda chunk: (pack_messages(chunk), fmt, mask),
                local_payload=lambda chunk: (chunk, fmt, mask),
                model=model,
                workers=workers,
            )
        for _, (text, summary, errors) in results:
            self._fh.write(text)
            self.rows += summary.read
            yield ChunkReport(summary.read, summary, errors)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        elif self._fh is sys.stdout:
            sys.stdout.flush()
