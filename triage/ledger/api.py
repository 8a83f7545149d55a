"""The :class:`Ledger`: ingest classified chat logs, keep incidents, write reports."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from triage.records import MessageKind

from .config import LedgerConfig
from .link import RESOLVED, Incident, LedgerMessage
from .report import build_summary, render_html
from .store import LedgerStore

__all__ = ["Ledger", "IngestReport"]


@dataclasses.dataclass
class IngestReport:
    """What one ingest did.

    Attributes
    ----------
    read : int
        Messages received.
    stored : int
        New messages stored.
    duplicates : int
        Messages already in the ledger (same group, time, sender and text).
    skipped : int
        Messages not stored: unparsable lines and messages without a time.
    groups : list of str
        Groups that received new messages (and were re-linked).
    incidents : int
        Incidents in the ledger after the ingest.
    opened, resolved : list of str
        Ids of incidents that are new, or newly resolved, after this ingest.
    """

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    groups: list[str] = dataclasses.field(default_factory=list)
    incidents: int = 0
    opened: list[str] = dataclasses.field(default_factory=list)
    resolved: list[str] = dataclasses.field(default_factory=list)

    def format(self) -> str:
        """One line for the command line."""
        return (
            f"messages read: {self.read}; stored: {self.stored}; already stored: {self.duplicates}; "
            f"skipped: {self.skipped}; incidents: {self.incidents} "
            f"({len(self.opened)} new, {len(self.resolved)} newly resolved)"
        )


class Ledger:
    """The officer's notebook: incidents built from classified chat messages, kept in SQLite.

    Parameters
    ----------
    path : path-like, default=":memory:"
        SQLite database file (created when missing). It stores raw message text.
    config : LedgerConfig, optional
        Linking thresholds and word lists. When it differs from the settings the stored
        incidents were linked with, every incident is re-linked on opening.

    Examples
    --------
    >>> from triage.ledger import Ledger
    >>> with Ledger("ledger.sqlite") as ledger:                       # doctest: +SKIP
    ...     ledger.ingest_logs(["群聊.txt"], group="平安里警民联系群")
    ...     ledger.write_report("report.html")
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", config: LedgerConfig | None = None) -> None:
        if config is not None and not isinstance(config, LedgerConfig):
            raise TypeError(f"expected config to be a LedgerConfig, got {type(config).__name__}")
        self.config = config or LedgerConfig()
        self.store = LedgerStore(path)
        fingerprint = self.config.fingerprint()
        stored = self.store.get_meta("config")
        if stored != fingerprint:
            if stored is not None and self.store.count_messages():
                self.store.relink_all(self.config)
            self.store.set_meta("config", fingerprint)
            self.store.commit()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ ingest

    def ingest(self, items: Iterable[Any], *, group: str | None = None) -> IngestReport:
        """Store classified messages and re-link the incidents they can change.

        Parameters
        ----------
        items : iterable of ClassifiedMessage
            What :func:`triage.batch.classify_log` or :func:`~triage.batch.classify_messages`
            yields. Messages already stored (same group, time to the second, sender and text)
            are counted as duplicates, so ingesting a log twice, or overlapping exports,
            stores each message once.
        group : str, optional
            Group name for every message, overriding the reader's (needed for formats
            without a chat name, such as MemoTrace TXT).

        Returns
        -------
        IngestReport
        """
        report = IngestReport()
        before = self.store.statuses()
        sources: dict[str, None] = {}

        def rows() -> Iterator[tuple[LedgerMessage, str, int]]:
            for item in items:
                report.read += 1
                message = getattr(item, "message", None)
                if message is None:
                    raise TypeError(f"expected ClassifiedMessage items, got {type(item).__name__}")
                if message.kind == MessageKind.ERROR or getattr(item, "status", "") == "error":
                    report.skipped += 1
                    continue
                lm = LedgerMessage.from_classified(item, group=group, seq=report.read)
                if lm is None:
                    report.skipped += 1
                    continue
                if message.source:
                    sources.setdefault(message.source, None)
                yield lm, message.source or "", message.line or 0

        try:
            earliest, report.stored, report.duplicates = self.store.add_messages(rows())
            self.store.relink(earliest, self.config)
            self.store.record_ingest(list(sources), report.read, report.stored, report.duplicates, report.skipped)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        report.groups = sorted(earliest)
        after = self.store.statuses()
        report.incidents = len(after)
        report.opened = sorted(set(after) - set(before))
        report.resolved = sorted(k for k, s in after.items() if s == RESOLVED and before.get(k) != RESOLVED)
        return report

    def ingest_logs(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        model: Any = None,
        format: str | None = None,
        group: str | None = None,
        **reader_options: Any,
    ) -> IngestReport:
        """Read, classify and ingest exported chat logs.

        Parameters
        ----------
        paths : path-like or iterable of path-like
            Log files, in any format :func:`triage.readers.read_log` knows.
        model : TriageClassifier, optional
            Defaults to the shipped model.
        format : str, optional
            Force a reader.
        group : str, optional
            Group name for every message (see :meth:`ingest`).
        **reader_options
            Passed to the reader.
        """
        from triage.batch import classify_log

        return self.ingest(classify_log(paths, model=model, format=format, **reader_options), group=group)

    # ------------------------------------------------------------------ queries

    def incidents(self, status: str | Iterable[str] | None = None, group: str | None = None) -> list[Incident]:
        """Incidents, optionally of some statuses (``"open"``, ``"answered"``, ``"resolved"``) and one group."""
        return self.store.incidents(status=status, group=group)

    def groups(self) -> list[str]:
        """Names of the groups with stored messages."""
        return self.store.groups()

    def summary(self, *, mask: bool = True, as_of: _dt.datetime | None = None) -> dict[str, Any]:
        """Counts, times, per-group figures and ranked open incidents (see :func:`build_summary`).

        ``as_of`` (the moment ages are measured from) defaults to the latest stored message.
        """
        return build_summary(
            self.incidents(),
            as_of=as_of or self.store.latest_time(),
            mask=mask,
            messages=self.store.count_messages(),
            groups=self.groups(),
        )

    def write_summary_json(self, path: str | os.PathLike[str], *, mask: bool = True,
                           as_of: _dt.datetime | None = None) -> dict[str, Any]:
        """Write :meth:`summary` as UTF-8 JSON; returns the dict."""
        data = self.summary(mask=mask, as_of=as_of)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        return data

    def write_report(self, path: str | os.PathLike[str], *, mask: bool = True, as_of: _dt.datetime | None = None,
                     title: str = "警民联系群事件台账") -> dict[str, Any]:
        """Write the self-contained HTML report; returns the summary it shows."""
        data = self.summary(mask=mask, as_of=as_of)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(render_html(data, title=title))
        return data
