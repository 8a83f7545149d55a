"""The urgency head's safety net: a small lexicon of life-threat words.

A missed ``critical`` message is the worst error the library can make, so a message that
contains a life-threat word ("着火", "晕倒", "跳楼", "走失"...) is judged against a lower
critical threshold than other messages. A term counts only when it is not negated or
hypothetical ("不是着火", "防止火灾"), not hyperbole ("热死了救命") and the message is not
a joke or an all-clear ("哈哈", "已经找到了"). The word lists are in
``triage/data/life_threat.txt``; their effect is measured in the README.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from importlib import resources

__all__ = ["Lexicon", "load_lexicon", "mentions_threat", "threat_terms"]

LEXICON_FILE = "life_threat.txt"
_NEGATION_WINDOW = 8
_CLAUSE_SPLIT = re.compile(r"[,.!?;:，。！？；：\n ]")


@dataclasses.dataclass(frozen=True)
class Lexicon:
    """Threat terms and the cues that cancel them."""

    threat: tuple[str, ...]
    negation: tuple[str, ...]
    hyperbole: tuple[str, ...]
    joke: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Lexicon:
        """Parse the ``[section]`` / one-term-per-line format of ``life_threat.txt``."""
        sections: dict[str, list[str]] = {"threat": [], "negation": [], "hyperbole": [], "joke": []}
        current = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]") and line[1:-1] in sections:
                current = line[1:-1]
                continue
            if current is None:
                raise ValueError(f"lexicon line {number}: expected a [section] header, got {line!r}")
            sections[current].append(line.lower())
        return cls(**{k: tuple(v) for k, v in sections.items()})

    @functools.cached_property
    def _threat_re(self) -> re.Pattern[str]:
        # One alternation (longest first) finds every candidate in a single linear scan.
        terms = sorted(self.threat, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, terms))) if terms else re.compile(r"(?!)")

    def find(self, text: str) -> list[str]:
        """Return the threat terms of a normalised text that are not cancelled by a cue."""
        if not self._threat_re.search(text) or any(cue in text for cue in self.joke):
            return []
        found = []
        for term in self.threat:
            start = text.find(term)
            while start != -1:
                if not self._cancelled(text, start, start + len(term)):
                    found.append(term)
                    break
                start = text.find(term, start + 1)
        return found

    def _cancelled(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - _NEGATION_WINDOW) : start]
        if any(cue in before for cue in self.negation):
            return True
        clause_start = max((m.end() for m in _CLAUSE_SPLIT.finditer(text, 0, start)), default=0)
        clause_end_match = _CLAUSE_SPLIT.search(text, end)
        clause = text[clause_start : clause_end_match.start() if clause_end_match else len(text)]
        return any(cue in clause for cue in self.hyperbole)


_LEXICON: Lexicon | None = None
_LOCK = threading.Lock()


def load_lexicon() -> Lexicon:
    """The shipped lexicon, parsed once per process."""
    global _LEXICON
    if _LEXICON is None:
        with _LOCK:
            if _LEXICON is None:
                text = resources.files("triage.data").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
                _LEXICON = Lexicon.parse(text)
    return _LEXICON


def mentions_threat(text: str) -> bool:
    """Whether a normalised text contains a threat term at all, cancelled or not (one regex scan)."""
    return load_lexicon()._threat_re.search(text) is not None


def threat_terms(text: str) -> list[str]:
    """Uncancelled life-threat terms in a normalised text (see :class:`Lexicon`)."""
    return load_lexicon().find(text)
