"""The ledger's embedded SQLite store: messages stored once, incidents re-linked incrementally.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`):

``messages``
    One row per distinct message, keyed on :func:`~triage.ledger.link.message_key`
    (group + time + sender + text hash — not the file or line, so the same message read from
    two overlapping exports is stored once). ``seq`` (insertion order) breaks ties between
    messages of the same second. Raw text is stored: the database is the officer's working
    store; masking happens when a report or summary is written.
``incidents`` / ``incident_messages``
    The linker's output: one row per incident and one per (incident, message, role).
``ingests``
    One row per ingest call (what was read, stored, skipped).
``meta``
    ``config`` holds the fingerprint of the settings the incidents were linked with.

Re-linking after an ingest starts, for each group that received new messages, at the
earliest new message, moved back past every incident that was still within reach of a
linking window at that point (a fixed point, see :meth:`LedgerStore.relink`); incidents
before that are final and kept. The result is the same as linking the whole history at once.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .config import LedgerConfig
from .link import Incident, IncidentMessage, LedgerMessage, link_messages

__all__ = ["SCHEMA_VERSION", "LedgerStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL,
    time TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    quoted_sender TEXT NOT NULL,
    quoted_text TEXT NOT NULL,
    mentions TEXT NOT NULL,
    category TEXT,
    urgency TEXT,
    confidence REAL NOT NULL,
    category_scores TEXT NOT NULL,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_grp_time ON messages (grp, time);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    status TEXT NOT NULL,
    first_time TEXT NOT NULL,
    last_time TEXT NOT NULL,
    first_key TEXT NOT NULL,
    reporters TEXT NOT NULL,
    response_key TEXT,
    response_time TEXT,
    resolution_key TEXT,
    resolution_time TEXT,
    minutes_to_response REAL,
    minutes_to_resolution REAL,
    reopened INTEGER NOT NULL,
    n_messages INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_grp_first ON incidents (grp, first_time);
CREATE TABLE IF NOT EXISTS incident_messages (
    incident_id TEXT NOT NULL,
    key TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
);
CREATE INDEX IF NOT EXISTS incident_messages_key ON incident_messages (key);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    sources TEXT NOT NULL,
    read INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    skipped INTEGER NOT NULL
);
"""

_MSG_COLS = (
    "seq, key, grp, time, sender, sender_id, kind, text, quoted_sender, quoted_text, "
    "mentions, category, urgency, confidence, category_scores"
)
_FAR_PAST = "0000-00-00 00:00:00"


def _t(value: _dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat(sep=" ")


def _parse(value: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(value)


def _row_message(row: Sequence[Any]) -> LedgerMessage:
    (seq, key, grp, time, sender, sender_id, kind, text, qs, qt, mentions, cat, urg, conf, scores) = row
    return LedgerMessage(
        key=key, group=grp, time=_parse(time), sender=sender, sender_id=sender_id, kind=kind, text=text,
        quoted_sender=qs, quoted_text=qt, mentions=tuple(json.loads(mentions)), category=cat, urgency=urg,
        confidence=conf, category_scores=json.loads(scores), seq=seq,
    )


class LedgerStore:
    """SQLite persistence of the ledger (see the module docstring for the schema).

    Parameters
    ----------
    path : path-like or ":memory:"
        Database file; created (with its parent directory) when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path != ":memory:":
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path)
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"expected an SQLite ledger database at {self.path}, got: {exc}") from exc
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise ValueError(f"expected ledger schema version {SCHEMA_VERSION} in {self.path}, got {version}")
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ messages

    def add_messages(self, rows: Iterable[tuple[LedgerMessage, str, int]]) -> tuple[dict[str, _dt.datetime], int, int]:
        """Insert messages not stored yet.

        Parameters
        ----------
        rows : iterable of (LedgerMessage, source, line)

        Returns
        -------
        earliest_new : dict
            Group → time of its earliest newly stored message.
        stored, duplicates : int
        """
        now = _t(_dt.datetime.now())
        earliest: dict[str, _dt.datetime] = {}
        stored = dupes = 0
        cur = self.conn.cursor()
        for m, source, line in rows:
            cur.execute(
                "INSERT OR IGNORE INTO messages (key, grp, time, sender, sender_id, kind, text, quoted_sender, "
                "quoted_text, mentions, category, urgency, confidence, category_scores, source, line, ingested_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (m.key, m.group, _t(m.time), m.sender, m.sender_id, m.kind, m.text, m.quoted_sender, m.quoted_text,
                 json.dumps(list(m.mentions), ensure_ascii=False), m.category, m.urgency, float(m.confidence),
                 json.dumps(dict(m.category_scores), ensure_ascii=False), source, int(line), now),
            )
            if cur.rowcount:
                stored += 1
                if m.group not in earliest or m.time < earliest[m.group]:
                    earliest[m.group] = m.time
            else:
                dupes += 1
        return earliest, stored, dupes

    def record_ingest(self, sources: Sequence[str], read: int, stored: int, duplicates: int, skipped: int) -> None:
        self.conn.execute(
            "INSERT INTO ingests (at, sources, read, stored, duplicates, skipped) VALUES (?, ?, ?, ?, ?, ?)",
            (_t(_dt.datetime.now()), json.dumps(list(sources), ensure_ascii=False), read, stored, duplicates, skipped),
        )

    def messages(self, group: str | None = None, since: str = _FAR_PAST, before: str | None = None) -> list[LedgerMessage]:
        """Stored messages in (time, seq) order, optionally of one group and a time range."""
        sql = f"SELECT {_MSG_COLS} FROM messages WHERE time >= ?"
        args: list[Any] = [since]
        if before is not None:
            sql += " AND time < ?"
            args.append(before)
        if group is not None:
            sql += " AND grp = ?"
            args.append(group)
        sql += " ORDER BY grp, time, seq"
        return [_row_message(r) for r in self.conn.execute(sql, args)]

    def count_messages(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    def groups(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT grp FROM messages ORDER BY grp")]

    def latest_time(self) -> _dt.datetime | None:
        row = self.conn.execute("SELECT MAX(time) FROM messages").fetchone()
        return _parse(row[0]) if row and row[0] else None

    # ------------------------------------------------------------------ incidents

    def relink(self, earliest_new: Mapping[str, _dt.datetime | None], config: LedgerConfig) -> None:
        """Re-link the part of each group that new messages can change.

        ``earliest_new`` maps a group to the time of its earliest new message (None: the
        whole group). The replay starts at the earliest time S such that no incident begun
        before S was active (last message) within the longest linking window W of S — found
        by moving S back to the start of any incident still within reach until none is.
        Incidents begun before S are kept as they are; later ones are rebuilt.
        """
        reach = _dt.timedelta(hours=config.max_window_hours())
        for group, first_new in earliest_new.items():
            start = _t(first_new) if first_new is not None else _FAR_PAST
            while start != _FAR_PAST:
                horizon = _t(_parse(start) - reach)
                row = self.conn.execute(
                    "SELECT MIN(first_time) FROM incidents WHERE grp = ? AND last_time >= ? AND first_time < ?",
                    (group, horizon, start),
                ).fetchone()
                if not row or row[0] is None:
                    break
                start = row[0]
            context_from = _t(_parse(start) - _dt.timedelta(hours=config.quote_window_hours)) if start != _FAR_PAST else _FAR_PAST
            context = self.messages(group, since=context_from, before=start) if start != _FAR_PAST else []
            todo = self.messages(group, since=start)
            self.conn.execute(
                "DELETE FROM incident_messages WHERE incident_id IN (SELECT id FROM incidents WHERE grp = ? AND first_time >= ?)",
                (group, start),
            )
            self.conn.execute("DELETE FROM incidents WHERE grp = ? AND first_time >= ?", (group, start))
            self._save(link_messages(todo, config, context=context))

    def relink_all(self, config: LedgerConfig) -> None:
        """Drop every incident and link all stored messages again."""
        self.conn.execute("DELETE FROM incident_messages")
        self.conn.execute("DELETE FROM incidents")
        self.relink({g: None for g in self.groups()}, config)

    def _save(self, incidents: Iterable[Incident]) -> None:
        for inc in incidents:
            self.conn.execute(
                "INSERT OR REPLACE INTO incidents (id, grp, category, urgency, status, first_time, last_time, first_key, "
                "reporters, response_key, response_time, resolution_key, resolution_time, minutes_to_response, "
                "minutes_to_resolution, reopened, n_messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    inc.id, inc.group, inc.category, inc.urgency, inc.status, _t(inc.first_time), _t(inc.last_time),
                    inc.first.key, json.dumps(inc.reporters, ensure_ascii=False),
                    inc.response.key if inc.response else None, _t(inc.response.time) if inc.response else None,
                    inc.resolution.key if inc.resolution else None, _t(inc.resolution.time) if inc.resolution else None,
                    inc.minutes_to_response, inc.minutes_to_resolution, inc.reopened, len(inc.messages),
                ),
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO incident_messages (incident_id, key, role) VALUES (?, ?, ?)",
                [(inc.id, im.message.key, im.role) for im in inc.messages],
            )

    def statuses(self) -> dict[str, str]:
        """Incident id → status, without loading messages."""
        return dict(self.conn.execute("SELECT id, status FROM incidents"))

    def incidents(self, status: str | Iterable[str] | None = None, group: str | None = None) -> list[Incident]:
        """Stored incidents (with their messages), ordered by group then first report time."""
        sql = "SELECT id, grp, category, urgency, response_key, resolution_key, reopened FROM incidents WHERE 1 = 1"
        args: list[Any] = []
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            args.extend(statuses)
        if group is not None:
            sql += " AND grp = ?"
            args.append(group)
        sql += " ORDER BY grp, first_time, id"
        heads = self.conn.execute(sql, args).fetchall()
        if not heads:
            return []
        members: dict[str, list[tuple[str, LedgerMessage]]] = {}
        cols = ", ".join(f"m.{c.strip()}" for c in _MSG_COLS.split(","))
        q = (
            f"SELECT im.incident_id, im.role, {cols} FROM incident_messages im JOIN messages m ON m.key = im.key "
            "JOIN incidents i ON i.id = im.incident_id WHERE 1 = 1"
        )
        qargs: list[Any] = []
        if group is not None:
            q += " AND i.grp = ?"
            qargs.append(group)
        for row in self.conn.execute(q + " ORDER BY m.time, m.seq", qargs):
            members.setdefault(row[0], []).append((row[1], _row_message(row[2:])))
        out = []
        for iid, grp, cat, urg, resp_key, res_key, reopened in heads:
            msgs = members.get(iid, [])
            by_key = {m.key: m for _, m in msgs}
            out.append(
                Incident(
                    id=iid, group=grp, category=cat, urgency=urg,
                    messages=[IncidentMessage(m, role) for role, m in msgs],
                    response=by_key.get(resp_key) if resp_key else None,
                    resolution=by_key.get(res_key) if res_key else None,
                    reopened=reopened,
                )
            )
        return out

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()
