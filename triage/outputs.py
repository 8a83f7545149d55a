"""Writers for classified records: CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and JSONL."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from triage.batch import OUTPUT_COLUMNS, ClassifiedMessage

__all__ = ["RecordWriter", "OUTPUT_FORMATS"]

OUTPUT_FORMATS = ("csv", "jsonl")


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
        row = item.to_row(mask=self.mask)
        if self._csv is not None:
            row["mentions"] = " ".join(row["mentions"])
            row["flags"] = ",".join(row["flags"])
            self._csv.writerow(row)
        else:
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        elif self._fh is sys.stdout:
            sys.stdout.flush()
