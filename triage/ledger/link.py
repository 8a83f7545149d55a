"""Incident linking: which messages report, follow up, answer and resolve the same problem.

Pure functions over message sequences (no database, no model): :func:`link_messages` walks a
group's messages in time order and keeps a list of incidents, attaching each message by the
first rule that fires (see ``docs/ledger.md`` for the full list and its limits):

1. a **quoted reply** joins the incident of the quoted message;
2. a **staff** message joins the incidents of the residents it @mentions, else the
   unresolved incidents it shares words with, else (an acknowledgement such as "收到") the
   most recent unanswered incident; its first such message is the incident's response;
3. a **reporter's** own follow-up ("还没人来吗"), resolution ("找到了") or further detail
   joins their open incident;
4. another resident's **follow-up** joins the most similar (else the most recent) open
   incident; their **report** of the same category that shares words or a place, or that
   corroborates ("我家也是", "+1"), joins a recent incident;
5. otherwise a resident's message the model files under an incident category opens a new
   incident. Chatter and notices open nothing.

A staff or reporter message with an un-negated resolution phrase ("已处理", "修好了",
"找到了") resolves the incident; a later complaint by a reporter reopens it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from triage.records import MessageKind
from triage.taxonomy import URGENCY_RANK

from .config import LedgerConfig

__all__ = [
    "LedgerMessage",
    "Incident",
    "IncidentMessage",
    "OPEN",
    "ANSWERED",
    "RESOLVED",
    "STATUSES",
    "message_key",
    "incident_id",
    "is_staff",
    "has_phrase",
    "is_resolution",
    "is_followup",
    "bigrams",
    "similarity",
    "places",
    "link_messages",
]

OPEN = "open"
ANSWERED = "answered"
RESOLVED = "resolved"
#: Incident statuses, from least to most settled.
STATUSES = (OPEN, ANSWERED, RESOLVED)

#: Roles of a message within an incident.
ROLES = ("report", "corroboration", "detail", "followup", "media", "staff", "resolution")
_RESIDENT_ROLES = frozenset({"report", "corroboration", "detail", "followup"})

_MEDIA_KINDS = frozenset({MessageKind.IMAGE, MessageKind.VOICE, MessageKind.VIDEO, MessageKind.FILE})
_TEXT_KINDS = frozenset({MessageKind.TEXT, MessageKind.QUOTE})
_EVERYONE = ("所有人", "all", "全体成员")
# Building / unit prefixes of display names: "5幢周阿姨" → "周阿姨", "3栋_王阿姨" → "王阿姨".
_NAME_PREFIX = re.compile(r"^[\s_\-]*(?:[0-9a-zA-Z一二三四五六七八九十]{1,4}\s*(?:号楼|栋|幢|座|单元|区|号|室)[\s_\-]*)+")


# --------------------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class LedgerMessage:
    """One chat message as the ledger sees it: identity, structure and prediction.

    Attributes
    ----------
    key : str
        Stable key (:func:`message_key`): group + time + sender + text hash.
    group, sender, sender_id, text, kind, quoted_text, quoted_sender : str
        As in :class:`triage.records.Message`.
    time : datetime.datetime
        When it was sent (naive local time).
    mentions : tuple of str
        Names @-mentioned.
    category, urgency : str or None
        Predicted labels (None for media and system lines).
    confidence : float
        Probability of the predicted category.
    category_scores : mapping
        Category → probability.
    seq : int
        Tie-breaker among messages with the same time (input or storage order).
    """

    key: str
    group: str
    time: _dt.datetime
    sender: str
    text: str
    kind: str = MessageKind.TEXT
    sender_id: str = ""
    quoted_text: str = ""
    quoted_sender: str = ""
    mentions: tuple[str, ...] = ()
    category: str | None = None
    urgency: str | None = None
    confidence: float = 0.0
    category_scores: Mapping[str, float] = dataclasses.field(default_factory=dict)
    seq: int = 0

    @classmethod
    def from_classified(cls, item: Any, *, group: str | None = None, seq: int = 0) -> LedgerMessage | None:
        """Build from a :class:`triage.batch.ClassifiedMessage`; None when it has no time.

        ``group`` overrides the message's own group (for formats that do not carry one).
        """
        m, p = item.message, item.prediction
        if m.time is None:
            return None
        g = m.group if group is None else group
        text = m.text or ""
        return cls(
            key=message_key(g, m.time, m.sender, text, m.kind),
            group=g,
            time=m.time.replace(microsecond=0),
            sender=m.sender or "",
            sender_id=m.sender_id or "",
            text=text,
            kind=m.kind,
            quoted_text=m.quoted_text or "",
            quoted_sender=m.quoted_sender or "",
            mentions=tuple(m.mentions or ()),
            category=p.category if p is not None else None,
            urgency=p.urgency if p is not None else None,
            confidence=float(p.confidence) if p is not None else 0.0,
            category_scores=dict(p.category_scores) if p is not None else {},
            seq=seq,
        )


@dataclasses.dataclass(frozen=True)
class IncidentMessage:
    """A message's place in an incident: the message and its role."""

    message: LedgerMessage
    role: str


@dataclasses.dataclass
class Incident:
    """One problem raised in a group, with every message about it.

    Attributes
    ----------
    id : str
        Stable id (:func:`incident_id`) derived from the first report.
    group : str
    category, urgency : str
        Category with the largest summed probability over the residents' messages; highest
        urgency of the residents' messages.
    messages : list of IncidentMessage
        In time order; ``messages[0]`` is the first report.
    response, resolution : LedgerMessage or None
        First staff message about the incident; message that said it was handled.
    reopened : int
        How many times a reporter complained after a resolution.
    """

    id: str
    group: str
    category: str
    urgency: str
    messages: list[IncidentMessage]
    response: LedgerMessage | None = None
    resolution: LedgerMessage | None = None
    reopened: int = 0
    _reporters: tuple[int, tuple[str, ...]] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def first(self) -> LedgerMessage:
        """The first report."""
        return self.messages[0].message

    @property
    def first_time(self) -> _dt.datetime:
        return self.first.time

    @property
    def last_time(self) -> _dt.datetime:
        return self.messages[-1].message.time  # messages are kept in time order

    @property
    def reporters(self) -> list[str]:
        """Residents who reported, corroborated or followed up, in order of appearance."""
        cached = self._reporters
        if cached is not None and cached[0] == len(self.messages):
            return list(cached[1])
        seen: dict[str, None] = {}
        for im in self.messages:
            if im.role in _RESIDENT_ROLES:
                seen.setdefault(im.message.sender, None)
        self._reporters = (len(self.messages), tuple(seen))
        return list(seen)

    @property
    def status(self) -> str:
        if self.resolution is not None:
            return RESOLVED
        return ANSWERED if self.response is not None else OPEN

    @property
    def minutes_to_response(self) -> float | None:
        return _minutes(self.first_time, self.response.time) if self.response is not None else None

    @property
    def minutes_to_resolution(self) -> float | None:
        return _minutes(self.first_time, self.resolution.time) if self.resolution is not None else None

    def keys(self) -> list[str]:
        """Keys of all its messages, in order."""
        return [im.message.key for im in self.messages]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (times as ISO strings) — raw text, not masked."""

        def brief(m: LedgerMessage | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {"key": m.key, "time": _iso(m.time), "sender": m.sender, "text": m.text}

        return {
            "id": self.id,
            "group": self.group,
            "category": self.category,
            "urgency": self.urgency,
            "status": self.status,
            "first_time": _iso(self.first_time),
            "first_text": self.first.text,
            "first_sender": self.first.sender,
            "last_time": _iso(self.last_time),
            "reporters": self.reporters,
            "response": brief(self.response),
            "resolution": brief(self.resolution),
            "minutes_to_response": self.minutes_to_response,
            "minutes_to_resolution": self.minutes_to_resolution,
            "reopened": self.reopened,
            "messages": [
                {"key": im.message.key, "time": _iso(im.message.time), "sender": im.message.sender,
                 "role": im.role, "text": im.message.text}
                for im in self.messages
            ],
        }


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(sep=" ")


def _minutes(a: _dt.datetime, b: _dt.datetime) -> float:
    return round((b - a).total_seconds() / 60.0, 2)


# --------------------------------------------------------------------------- keys


_SPACE = re.compile(r"\s+")
_CLAUSE_END = re.compile(r"[，。！!,.;；、\n]")


def message_key(group: str, time: _dt.datetime, sender: str, text: str, kind: str = MessageKind.TEXT) -> str:
    """Stable key of a message: SHA-1 of group, time (to the second), sender and text.

    The file name and line are not part of it, so the same message read from two
    overlapping exports gets the same key. White space in the text is collapsed first.
    """
    t = time.replace(microsecond=0).isoformat(sep=" ")
    body = _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()
    blob = "\x1f".join((group or "", t, (sender or "").strip(), kind if body == "" else "", body))
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


def incident_id(first: LedgerMessage) -> str:
    """Readable stable id of an incident: date and time of its first report + a key prefix."""
    return f"{first.time:%Y%m%d-%H%M}-{first.key[:6]}"


# --------------------------------------------------------------------------- text features

_MENTION = re.compile(r"@[^\s@\u2005]{1,24}(?:\u2005|\s|$)")
_BRACKET = re.compile(r"\[[^\[\]]{1,10}\]")
_NON_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
# Function characters that make two unrelated sentences look alike.
_STOP_CHARS = frozenset("的了吗呢啊吧呀哦嘛么是在有我你他她它们这那个也都还就很太又被把给和与跟请问一下大家谢好已经")
_PLACE = re.compile(
    r"(?:\d{1,4}|[一二三四五六七八九十]{1,3}|[a-z])\s*(?:号楼|栋|幢|座|单元|号门|区|楼|号)"
    r"|[东南西北]\s*门|[东南西北]\s*区"
)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _MENTION.sub(" ", text)
    text = _BRACKET.sub(" ", text)
    return text


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the content words of a message (punctuation, emoticons,
    @mentions and function characters removed)."""
    chunks = _NON_WORD.split(_norm(text))
    out: set[str] = set()
    for chunk in chunks:
        kept = "".join(c for c in chunk if c not in _STOP_CHARS)
        out.update(kept[i : i + 2] for i in range(len(kept) - 1))
    return frozenset(out)


def places(text: str) -> frozenset[str]:
    """Place tokens of a message: building numbers (3栋, 5号楼), gates (东门), areas."""
    return frozenset(re.sub(r"\s+", "", m.group(0)) for m in _PLACE.finditer(_norm(text)))


def similarity(a: frozenset[str], b: frozenset[str], *, min_shared: int = 2) -> float:
    """Overlap coefficient |a ∩ b| / min(|a|, |b|); 0 when fewer than ``min_shared`` are shared."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    if shared < min(min_shared, len(a), len(b)):
        return 0.0
    return shared / min(len(a), len(b))


def _loose_name(name: str) -> str:
    return _NON_WORD.sub("", unicodedata.normalize("NFKC", name or "").lower())


def _phrase_norm(text: str) -> str:
    # "已经清理" and "已清理" say the same: match phrases with 已经 read as 已.
    return unicodedata.normalize("NFKC", text or "").lower().replace("已经", "已")


@functools.lru_cache(maxsize=64)
def _phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_phrase_norm(p) for p in phrases))


def has_phrase(text: str, phrases: Iterable[str]) -> bool:
    """True when any phrase occurs in the text (NFKC, case-insensitive, 已经 read as 已)."""
    t = _phrase_norm(text)
    return any(p in t for p in _phrases(tuple(phrases)))


def is_resolution(text: str, config: LedgerConfig = LedgerConfig()) -> bool:
    """True when the text says a problem was handled: a resolution phrase that is neither
    negated just before ("还没修好") nor turned into a question just after ("修好了吗")."""
    t = _phrase_norm(text)
    negations = _phrases(config.negations)
    for p in _phrases(config.resolution_phrases):
        start = t.find(p)
        while start >= 0:
            before = t[max(0, start - config.negation_span) : start]
            after = _CLAUSE_END.split(t[start + len(p) : start + len(p) + 8], maxsplit=1)[0].lstrip("了")
            negated = any(n in before for n in negations) and not p.startswith(negations)
            question = any(after.startswith(q) for q in config.question_markers) or "吗" in after
            if not negated and not question:
                return True
            start = t.find(p, start + 1)
    return False


def is_followup(text: str, config: LedgerConfig = LedgerConfig()) -> bool:
    """True when the text chases an earlier report ("还没人来吗", "有进展吗")."""
    return has_phrase(text, config.followup_phrases)


def is_staff(message: LedgerMessage, config: LedgerConfig = LedgerConfig()) -> bool:
    """True when the sender is staff: a configured account id or name, or a display name
    holding a role word (警官, 民警, 辅警, 社区, 居委, 物业, ...) and not listed as a resident."""
    if message.sender_id and message.sender_id in config.staff_accounts:
        return True
    name = message.sender or ""
    if not name:
        return False
    if name in config.staff_names:
        return True
    if name in config.non_staff_names:
        return False
    return any(role in name for role in config.staff_roles)


# --------------------------------------------------------------------------- linking


class _Linker:
    """State of the walk over one group's messages (see the module docstring)."""

    def __init__(self, config: LedgerConfig, context: Sequence[LedgerMessage] = ()) -> None:
        self.cfg = config
        self.incidents: list[Incident] = []
        # Incidents still within reach of some window (pruned as time moves on).
        self.live: list[Incident] = []
        self.owner: dict[str, list[Incident]] = defaultdict(list)
        self.history: list[LedgerMessage] = list(context)
        self._grams: dict[str, frozenset[str]] = {}
        self._places: dict[str, frozenset[str]] = {}
        self.last_attached: dict[str, tuple[_dt.datetime, Incident]] = {}
        c = config
        self.w_link = _dt.timedelta(minutes=c.link_window_minutes)
        self.w_follow = _dt.timedelta(hours=c.followup_window_hours)
        self.w_response = _dt.timedelta(minutes=c.response_window_minutes)
        self.w_resolve = _dt.timedelta(hours=c.resolution_window_hours)
        self.w_quote = _dt.timedelta(hours=c.quote_window_hours)
        self.w_cont = _dt.timedelta(minutes=c.continuation_minutes)
        self.w_max = _dt.timedelta(hours=c.max_window_hours())
        self.w_age = _dt.timedelta(hours=c.max_incident_age_hours)
        self._steps = 0

    # -- features ------------------------------------------------------------

    def grams(self, m: LedgerMessage) -> frozenset[str]:
        g = self._grams.get(m.key)
        if g is None:
            g = self._grams[m.key] = bigrams(m.text)
        return g

    def place(self, m: LedgerMessage) -> frozenset[str]:
        p = self._places.get(m.key)
        if p is None:
            p = self._places[m.key] = places(m.text)
        return p

    def sim(self, m: LedgerMessage, inc: Incident) -> float:
        """Best similarity of ``m`` to the residents' messages (or, failing those, any) of ``inc``."""
        g = self.grams(m)
        msgs = [im.message for im in inc.messages if im.role in _RESIDENT_ROLES] or [im.message for im in inc.messages]
        if len(msgs) > 8:  # a long incident: its first reports and its latest messages say what it is
            msgs = msgs[:3] + msgs[-5:]
        return max((similarity(g, self.grams(x)) for x in msgs), default=0.0)

    def same_place(self, m: LedgerMessage, inc: Incident) -> bool:
        p = self.place(m)
        return bool(p) and any(p & self.place(im.message) for im in inc.messages if im.role in _RESIDENT_ROLES)

    def staff(self, m: LedgerMessage) -> bool:
        return is_staff(m, self.cfg)

    def reportable(self, m: LedgerMessage) -> bool:
        c = self.cfg
        return (
            m.category in c.incident_categories
            and m.confidence >= c.min_report_confidence
            and URGENCY_RANK.get(m.urgency or "low", 0) >= URGENCY_RANK[c.min_report_urgency]
            and len(_NON_WORD.sub("", _norm(m.text))) >= c.min_report_chars
        )

    def incident_score(self, m: LedgerMessage) -> float:
        return sum(v for k, v in m.category_scores.items() if k in self.cfg.incident_categories)

    # -- incident bookkeeping ------------------------------------------------

    def open_incident(self, m: LedgerMessage) -> Incident:
        cat = m.category if m.category in self.cfg.incident_categories else self._best_category([m])
        inc = Incident(
            id=incident_id(m), group=m.group, category=cat, urgency=m.urgency or "normal",
            messages=[IncidentMessage(m, "report")],
        )
        self.incidents.append(inc)
        self.live.append(inc)
        self.owner[m.key].append(inc)
        self.last_attached[m.sender] = (m.time, inc)
        self._refresh(inc)
        return inc

    def attach(self, m: LedgerMessage, inc: Incident, role: str) -> None:
        if any(im.message.key == m.key for im in inc.messages):
            return
        inc.messages.append(IncidentMessage(m, role))
        inc.messages.sort(key=lambda im: (im.message.time, im.message.seq))
        self.owner[m.key].append(inc)
        if role != "staff":
            self.last_attached[m.sender] = (m.time, inc)
        self._refresh(inc)

    def _best_category(self, msgs: Sequence[LedgerMessage]) -> str:
        totals: dict[str, float] = defaultdict(float)
        for x in msgs:
            if x.category_scores:
                for k, v in x.category_scores.items():
                    if k in self.cfg.incident_categories:
                        totals[k] += v
            elif x.category in self.cfg.incident_categories:
                totals[x.category] += 1.0
        if not totals:
            return msgs[0].category or "consultation"
        return max(totals, key=lambda k: (totals[k], -self.cfg.incident_categories.index(k)))

    def _refresh(self, inc: Incident) -> None:
        resident = [im.message for im in inc.messages if im.role in ("report", "corroboration", "detail")]
        inc.category = self._best_category(resident or [inc.first])
        urg = [im.message.urgency for im in inc.messages if im.role in _RESIDENT_ROLES and im.message.urgency]
        if urg:
            inc.urgency = max(urg, key=lambda u: URGENCY_RANK.get(u, 0))

    def active(self, t: _dt.datetime, window: _dt.timedelta, *, unresolved: bool = True) -> list[Incident]:
        """Incidents with activity within ``window`` before ``t``, most recent activity first."""
        out = [i for i in self.live if t - i.last_time <= window and (not unresolved or i.resolution is None)]
        out.sort(key=lambda i: i.last_time, reverse=True)
        return out

    # -- quotes --------------------------------------------------------------

    def quoted(self, m: LedgerMessage) -> LedgerMessage | None:
        """The earlier message that ``m`` quotes, looked up by text (and sender when given)."""
        if not m.quoted_text.strip():
            return None
        q = _NON_WORD.sub("", _norm(m.quoted_text))
        if not q:
            return None
        qname = _loose_name(m.quoted_sender)
        qg = bigrams(m.quoted_text)
        best: tuple[float, LedgerMessage] | None = None
        for x in reversed(self.history):
            if m.time - x.time > self.w_quote:
                break
            if x.kind not in _TEXT_KINDS:
                continue
            t = _NON_WORD.sub("", _norm(x.text))
            if not t:
                continue
            if t == q or (len(q) >= 4 and (q in t or t in q)):
                score = 1.0
            else:
                score = similarity(qg, self.grams(x))
                if score < 0.8:
                    continue
            if qname and _loose_name(x.sender) == qname:
                score += 1.0
            if best is None or score > best[0]:
                best = (score, x)
                if score >= 2.0:
                    break
        return best[1] if best else None

    # -- the walk ------------------------------------------------------------

    def _prune(self, t: _dt.datetime) -> None:
        horizon = t - self.w_max
        self.live = [i for i in self.live if i.last_time >= horizon]
        cut = 0
        while cut < len(self.history) and self.history[cut].time < t - self.w_quote:
            cut += 1
        if cut:
            del self.history[:cut]

    def step(self, m: LedgerMessage) -> None:
        self._steps += 1
        if self._steps % 256 == 0:
            self._prune(m.time)
        if m.kind in _MEDIA_KINDS:
            last = self.last_attached.get(m.sender)
            if last and m.time - last[0] <= self.w_cont and not self.staff(m):
                self.attach(m, last[1], "media")
        elif m.kind in _TEXT_KINDS and m.text.strip():
            if self.staff(m):
                self.step_staff(m)
            else:
                self.step_resident(m)
        self.history.append(m)

    def _promote(self, x: LedgerMessage, t: _dt.datetime) -> Incident | None:
        """Open an incident from a resident message staff reply to, if it looks like one."""
        if self.staff(x) or self.owner.get(x.key) or t - x.time > self.w_resolve:
            return None
        if x.kind not in _TEXT_KINDS or self.incident_score(x) < self.cfg.promote_min_score:
            return None
        return self.open_incident(x)

    def addressed(self, m: LedgerMessage) -> set[str]:
        """Loose names of residents with an unresolved incident whose name the staff message
        opens with or calls out ("周阿姨，我下午去调监控" addresses "5幢周阿姨")."""
        text = _loose_name(m.text[:40])
        out = set()
        for inc in self.active(m.time, self.w_resolve):
            for r in inc.reporters:
                core = _loose_name(_NAME_PREFIX.sub("", r))
                if len(core) >= 2 and text.startswith(core):
                    out.add(_loose_name(r))
        return out

    def step_staff(self, m: LedgerMessage) -> None:
        cfg = self.cfg
        targets: list[Incident] = []
        anchored = False
        q = self.quoted(m)
        if q is not None:
            anchored = True
            targets = list(self.owner.get(q.key, ())) or [i for i in [self._promote(q, m.time)] if i]
        names = {_loose_name(n) for n in m.mentions} - {_loose_name(n) for n in _EVERYONE}
        if not targets and not names and q is None:
            names = self.addressed(m)
        if not targets and names:
            anchored = True
            cands = [i for i in self.active(m.time, self.w_resolve) if names & {_loose_name(r) for r in i.reporters}]
            if cands:
                targets = [max(cands, key=lambda i: (self.sim(m, i), i.last_time))]
            else:
                for x in reversed(self.history):
                    if m.time - x.time > self.w_response:
                        break
                    if _loose_name(x.sender) in names and (inc := self._promote(x, m.time)):
                        targets = [inc]
                        break
        resolves = is_resolution(m.text, cfg)
        if not targets and not anchored:
            targets = self._staff_targets(m, resolves)
        is_answer = len(_NON_WORD.sub("", _norm(m.text))) > cfg.ack_max_chars
        for inc in targets:
            role = "staff"
            if inc.response is None:
                inc.response = m
            if inc.resolution is None and (resolves or (inc.category in cfg.answer_resolves and is_answer)):
                inc.resolution = m
                role = "resolution"
            self.attach(m, inc, role)

    def _staff_targets(self, m: LedgerMessage, resolves: bool) -> list[Incident]:
        """Incidents an unanchored staff message addresses: by shared words, else by recency."""
        cfg = self.cfg
        g = self.grams(m)
        scored = [(self.sim(m, i), i) for i in self.active(m.time, self.w_resolve)]
        scored = [(s, i) for s, i in scored if s >= cfg.staff_similarity_threshold]
        if scored:
            scored.sort(key=lambda si: (si[0], si[1].last_time), reverse=True)
            best_s, best = scored[0]
            covered = g & self._incident_grams(best)
            targets = [best]
            for s, i in scored[1:]:
                extra = (g & self._incident_grams(i)) - covered
                if len(extra) >= 2:  # the message also speaks of something the best match does not
                    targets.append(i)
                    covered |= extra
            return targets
        if resolves:
            # "已处理" with no words in common: among incidents active within the response
            # window, the one this staff member was handling, else the most recent; failing
            # those, the last one this staff member handled within the resolution window.
            def mine(i: Incident) -> bool:
                return any(im.message.sender == m.sender for im in i.messages)

            recent = self.active(m.time, self.w_response)
            if recent:
                return [next((i for i in recent if mine(i)), recent[0])]
            return [i for i in self.active(m.time, self.w_resolve) if mine(i)][:1]
        if has_phrase(m.text, cfg.response_phrases):
            pending = [
                i for i in self.active(m.time, self.w_response)
                if i.response is None and m.time - i.first_time <= self.w_response
            ]
            # the most urgent waiting report first, then the most recent
            pending.sort(key=lambda i: (URGENCY_RANK.get(i.urgency, 0), i.last_time), reverse=True)
            return pending[:1]
        return []

    def _incident_grams(self, inc: Incident) -> frozenset[str]:
        out: set[str] = set()
        for im in inc.messages:
            if im.role in _RESIDENT_ROLES:
                out |= self.grams(im.message)
        return frozenset(out)

    def _residue(self, text: str) -> int:
        """Content characters left once follow-up phrases are taken out."""
        t = _norm(text)
        for p in self.cfg.followup_phrases:
            t = t.replace(unicodedata.normalize("NFKC", p).lower(), "")
        return len(_NON_WORD.sub("", t))

    def step_resident(self, m: LedgerMessage) -> None:
        cfg = self.cfg
        follow = is_followup(m.text, cfg)
        resolves = is_resolution(m.text, cfg)
        report = self.reportable(m)
        corroborates = has_phrase(m.text, cfg.corroboration_phrases)
        # A follow-up that says little besides "还没人管吗" is a follow-up whatever the model says.
        bare_followup = follow and self._residue(m.text) <= cfg.followup_max_residue
        target: Incident | None = None
        role = "followup"

        q = self.quoted(m)
        if q is not None and self.owner.get(q.key):
            target = max(self.owner[q.key], key=lambda i: i.last_time)
            if m.sender in target.reporters:
                role = "followup" if follow else "detail"
            else:
                role = "followup" if follow else "corroboration"

        if target is None and not resolves:
            last = self.last_attached.get(m.sender)
            if last and m.time - last[0] <= self.w_cont and last[1].resolution is None and (
                not report or m.category == last[1].category or self.sim(m, last[1]) >= cfg.similarity_threshold
            ):
                target, role = last[1], ("followup" if follow else "detail")

        if target is None:
            window = self.w_resolve if resolves else self.w_follow
            # A complaint ("还是没修好") may also reopen one of the reporter's resolved incidents.
            own = [i for i in self.active(m.time, window, unresolved=not follow or resolves) if m.sender in i.reporters]
            if own:
                best = max(own, key=lambda i: (i.resolution is None, self.sim(m, i), i.last_time))
                similar = self.sim(m, best) >= cfg.similarity_threshold
                if best.resolution is not None and not (similar or m.category == best.category):
                    pass
                elif resolves or bare_followup:
                    target, role = best, "followup"
                elif follow:
                    if not report or similar or m.category == best.category:
                        target, role = best, "followup"
                elif report and m.time - best.last_time <= self.w_link and m.time - best.first_time <= self.w_age and (
                    similar or m.category == best.category or self.same_place(m, best)
                ):
                    target, role = best, "detail"

        if target is None and follow:
            cands = [i for i in self.active(m.time, self.w_follow) if m.sender not in i.reporters]
            if cands:
                s, best = max(((self.sim(m, i), i) for i in cands), key=lambda si: (si[0], si[1].last_time))
                if s >= cfg.similarity_threshold:
                    target, role = best, "followup"
                elif bare_followup or not report:
                    target, role = cands[0], "followup"

        if target is None and (report or corroborates) and not resolves:
            cands = [i for i in self.active(m.time, self.w_link)
                     if m.sender not in i.reporters and m.time - i.first_time <= self.w_age]
            best_inc, best_score = None, 0.0
            for i in cands:
                s = self.sim(m, i)
                same_cat = m.category == i.category
                score = 0.0
                if s >= cfg.similarity_threshold and (same_cat or s >= 2 * cfg.similarity_threshold or not report):
                    score = 1.0 + s
                elif self.same_place(m, i) and (same_cat or corroborates or m.confidence < cfg.unsure_confidence):
                    score = 1.0
                elif corroborates and (same_cat or not report):
                    score = 0.5 + s
                if score > best_score:
                    best_inc, best_score = i, score
            if best_inc is not None:
                target, role = best_inc, "corroboration"

        if target is None:
            if report:
                self.open_incident(m)
            return

        if resolves and m.sender in target.reporters:
            if target.resolution is None:
                target.resolution = m
            self.attach(m, target, "resolution")
            return
        if target.resolution is not None and m.sender in target.reporters and (follow or report):
            if m.time > target.resolution.time:
                target.resolution = None
                target.reopened += 1
        self.attach(m, target, role)


def _order(m: LedgerMessage) -> tuple[_dt.datetime, int]:
    return (m.time, m.seq)


def link_messages(
    messages: Iterable[LedgerMessage],
    config: LedgerConfig | None = None,
    *,
    context: Iterable[LedgerMessage] = (),
) -> list[Incident]:
    """Group messages into incidents.

    Parameters
    ----------
    messages : iterable of LedgerMessage
        Any order, any number of groups; each group is linked on its own, in time order.
    config : LedgerConfig, optional
        Windows, thresholds and phrase lists.
    context : iterable of LedgerMessage
        Earlier messages that are not linked themselves but can be found as the target of a
        quote (used by the store when it re-links only the recent part of a group).

    Returns
    -------
    list of Incident
        Ordered by group, then first report time.
    """
    cfg = config or LedgerConfig()
    by_group: dict[str, list[LedgerMessage]] = defaultdict(list)
    for m in messages:
        by_group[m.group].append(m)
    ctx: dict[str, list[LedgerMessage]] = defaultdict(list)
    for m in context:
        ctx[m.group].append(m)
    out: list[Incident] = []
    for group in sorted(by_group):
        linker = _Linker(cfg, sorted(ctx.get(group, ()), key=_order))
        for m in sorted(by_group[group], key=_order):
            linker.step(m)
        out.extend(sorted(linker.incidents, key=lambda i: (i.first_time, i.first.seq)))
    return out
