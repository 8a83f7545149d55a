"""Chat-log readers: exported WeChat/QQ logs of many formats → :class:`~triage.records.Message`.

>>> from triage.readers import read_log
>>> for message in read_log("group.csv"):  # doctest: +SKIP
...     print(message.time, message.sender, message.kind, message.text)

The format is detected from the content (see :data:`FORMATS`); ``format=``
forces one. Every message of the file becomes exactly one record, in order;
media, system and recall lines are records with their own kind, and a line that
cannot be parsed is an ``error`` record rather than a crash. Text and CSV files
are streamed; JSON and XML formats are single documents and are loaded whole.
"""

from __future__ import annotations

from .detect import FORMATS, detect_format, read_log

__all__ = ["read_log", "detect_format", "FORMATS"]
