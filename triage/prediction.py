"""The prediction runtime: from normalised texts to :class:`Prediction` objects.

Everything here needs numpy and scipy only — not scikit-learn — so that
``import triage; triage.predict(...)`` on the shipped model loads neither scikit-learn nor a
pickle (see :class:`CompiledModel` and :func:`triage.persist.load_compiled`). The
:class:`~triage.model.TriageClassifier` estimator predicts through the same functions, so the
two paths cannot drift apart; ``tests/test_compiled.py`` checks they give equal predictions.

The decision rules (critical threshold, safety net, review) are documented in
:mod:`triage.model`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from triage.normalize import MAX_CHARS, normalize, normalize_many
from triage.safety import mentions_threat, threat_terms

__all__ = ["CompiledModel", "ModelLike", "Prediction", "as_text_list", "predict_with"]

CRITICAL = "critical"
EMERGENCY = "emergency"


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What triage says about one message.

    Attributes
    ----------
    text : str
        The input text, as given.
    category, urgency : str or None
        Label ids (None for a head the model does not have).
    category_scores, urgency_scores : dict
        Label → probability, each summing to 1 (empty for a missing head).
    needs_review : bool
        True when the model is unsure (see the module docstring).
    flags : tuple of str
        ``"empty"`` (nothing left after normalisation), ``"truncated"`` (input longer than
        ``max_chars``), ``"critical_by_threshold"`` (critical below the argmax),
        ``"safety_net"`` (a life-threat word lowered the critical threshold).
    """

    text: str
    category: str | None
    urgency: str | None
    category_scores: dict[str, float]
    urgency_scores: dict[str, float]
    needs_review: bool
    flags: tuple[str, ...] = ()

    @property
    def confidence(self) -> float:
        """Top category probability (top urgency probability for an urgency-only model)."""
        scores = self.category_scores or self.urgency_scores
        return max(scores.values()) if scores else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d["flags"] = list(self.flags)
        return d


def as_text_list(X: Any) -> tuple[list[str], bool]:
    """Validate the input of ``predict``: a string or an iterable of strings.

    Returns the texts as a list and whether a single string was given. Raises ``TypeError``
    naming the position and the type of the first element that is not a ``str``.
    """
    if isinstance(X, str):
        return [X], True
    if isinstance(X, (bytes, bytearray)):
        raise TypeError("expected a str or an iterable of str, got bytes; decode it first (e.g. data.decode('utf-8'))")
    if X is None or not isinstance(X, Iterable) or isinstance(X, Mapping):
        raise TypeError(f"expected a str or an iterable of str, got {type(X).__name__}")
    texts = list(X)  # a pandas Series iterates over its values
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"expected every element to be a str, got {type(t).__name__} at position {i}")
    return texts, False


def _top2_gap(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    part = np.sort(p, axis=1)
    return part[:, -1], part[:, -1] - (part[:, -2] if p.shape[1] > 1 else 0.0)


class ModelLike(Protocol):
    """What the prediction runtime reads from a model: labels, thresholds, parameters and the
    compiled arrays (a fitted :class:`~triage.model.TriageClassifier` or a :class:`CompiledModel`)."""

    categories_: list[str]
    urgencies_: list[str]
    critical_threshold_: float | None
    lexicon_threshold_: float | None
    confidence_threshold: float
    ambiguity_margin: float
    use_lexicon: bool
    couple_heads: bool
    max_chars: int

    @property
    def compiled_(self) -> Any: ...


def critical_scores(self: ModelLike, urgency_proba: np.ndarray, category_proba: np.ndarray | None) -> np.ndarray:
    """The critical score: P(urgency=critical), or the larger of it and P(category=emergency)."""
    score = urgency_proba[:, self.urgencies_.index(CRITICAL)]
    if self.couple_heads and category_proba is not None and EMERGENCY in self.categories_:
        score = np.maximum(score, category_proba[:, self.categories_.index(EMERGENCY)])
    return score


def short_max_of(self: ModelLike) -> int:
    """Length up to which a life-threat word alone makes a message critical (0: never)."""
    # models saved before this rule have no such parameter: the rule is off for them
    return int(getattr(self, "lexicon_max_chars", 0)) if self.use_lexicon else 0



def empty_row(self: ModelLike) -> tuple:
    cat = "chitchat" if "chitchat" in self.categories_ else (self.categories_[0] if self.categories_ else None)
    urg = "low" if "low" in self.urgencies_ else (self.urgencies_[0] if self.urgencies_ else None)
    cs = {c: float(c == cat) for c in self.categories_}
    us = {u: float(u == urg) for u in self.urgencies_}
    return (cat, urg, cs, us, False, ("empty",))



def decide(self: ModelLike, norm: list[str]) -> list[tuple]:
    """Labels, scores, review flags and rule flags for normalised, non-empty texts."""
    compiled = self.compiled_
    if len(norm) < 8 and hasattr(compiled, "proba_lists"):
        # A few texts: the same arithmetic on Python lists (no scipy, no numpy per-call
        # overhead on 1-row arrays); the results are bitwise those of the batch path.
        conf, margin = self.confidence_threshold, self.ambiguity_margin
        cat_labels, urg_labels = self.categories_, self.urgencies_
        tuned = self.critical_threshold_ is not None
        if tuned:
            crit = urg_labels.index(CRITICAL)
            emerg = cat_labels.index(EMERGENCY) if self.couple_heads and EMERGENCY in cat_labels else None
            lowest = min(self.critical_threshold_, self.lexicon_threshold_)
            short_max = short_max_of(self)
        rows = []
        for text in norm:
            cp, up = compiled.proba_lists(text)
            unsure = False
            cat = urg = None
            for p in (cp, up):
                if p is not None:
                    part = sorted(p)
                    top = part[-1]
                    unsure = unsure or top < conf or top - (part[-2] if len(p) > 1 else 0.0) < margin
            if cp is not None:
                cat = cat_labels[cp.index(max(cp))]
            if up is not None:
                urg = urg_labels[up.index(max(up))]
            flags = ()
            if tuned:
                score = up[crit]
                if emerg is not None and cp is not None:
                    score = max(score, cp[emerg])
                if urg != CRITICAL and (score >= lowest or len(text) <= short_max):
                    if score >= self.critical_threshold_:
                        urg, flags, unsure = CRITICAL, ("critical_by_threshold",), True
                    elif self.use_lexicon and (score >= self.lexicon_threshold_ or len(text) <= short_max) and threat_terms(text):
                        urg, flags, unsure = CRITICAL, ("safety_net",), True
            cs = dict(zip(cat_labels, cp)) if cp is not None else {}
            us = dict(zip(urg_labels, up)) if up is not None else {}
            rows.append((cat, urg, cs, us, bool(unsure), flags))
        return rows
    c_proba, u_proba = compiled.predict_proba(norm)
    n = len(norm)
    unsure = np.zeros(n, dtype=bool)
    for proba in (c_proba, u_proba):
        if proba is not None:
            top, gap = _top2_gap(proba)
            unsure |= (top < self.confidence_threshold) | (gap < self.ambiguity_margin)
    cats = np.asarray(self.categories_, dtype=object)[c_proba.argmax(1)].tolist() if c_proba is not None else [None] * n
    urgs = np.asarray(self.urgencies_, dtype=object)[u_proba.argmax(1)].tolist() if u_proba is not None else [None] * n
    flags: dict[int, tuple[str, ...]] = {}
    if self.critical_threshold_ is not None:
        score = critical_scores(self, u_proba, c_proba)
        lowest = min(self.critical_threshold_, self.lexicon_threshold_)
        short_max = short_max_of(self)
        candidates = score >= lowest
        if short_max:
            # short texts without any threat term (most of them) are ruled out by one regex
            candidates |= np.fromiter((len(t) <= short_max and mentions_threat(t) for t in norm), dtype=bool, count=n)
        critical_threshold, lexicon_threshold = self.critical_threshold_, self.lexicon_threshold_
        for i in np.flatnonzero(candidates).tolist():
            if urgs[i] == CRITICAL:
                continue
            s_i = float(score[i])
            if s_i >= critical_threshold:
                urgs[i] = CRITICAL
                flags[i] = ("critical_by_threshold",)
            elif (
                self.use_lexicon
                and (s_i >= lexicon_threshold or len(norm[i]) <= short_max)
                and threat_terms(norm[i])
            ):
                urgs[i] = CRITICAL
                flags[i] = ("safety_net",)
            else:
                continue
            unsure[i] = True
    cat_labels, urg_labels = self.categories_, self.urgencies_
    if c_proba is not None:
        flat = iter(c_proba.ravel().tolist())
        c_dicts = [dict(zip(cat_labels, flat)) for _ in range(n)]
    else:
        c_dicts = [{} for _ in range(n)]
    if u_proba is not None:
        flat = iter(u_proba.ravel().tolist())
        u_dicts = [dict(zip(urg_labels, flat)) for _ in range(n)]
    else:
        u_dicts = [{} for _ in range(n)]
    get_flags = flags.get
    no_flags = ()
    return list(zip(cats, urgs, c_dicts, u_dicts, unsure.tolist(), [get_flags(i, no_flags) for i in range(n)]))



def predict_with(self: ModelLike, X: Any) -> Prediction | list[Prediction]:
    """``model.predict(X)`` for any :class:`ModelLike`: the contract documented on
    :meth:`triage.model.TriageClassifier.predict` (one Prediction for a str, else a list of
    the same length and order; identical normalised texts classified once)."""
    texts, single = as_text_list(X)
    max_chars = self.max_chars
    if single:
        norms = [normalize(texts[0], max_chars=max_chars)]
    else:
        norms = normalize_many(texts, max_chars=max_chars)
    unique: dict[str, int] = {}
    for t in norms:
        if t:
            unique.setdefault(t, len(unique))
    rows = decide(self, list(unique)) if unique else []
    empty = None if all(norms) else empty_row(self)  # built only when some text is empty
    out = []
    append = out.append
    new = object.__new__
    for text, norm in zip(texts, norms):
        cat, urg, cs, us, review, flags = rows[unique[norm]] if norm else empty
        if len(text) > max_chars:
            flags = (*flags, "truncated")
        # Prediction(...) without the frozen dataclass's per-field object.__setattr__
        p = new(Prediction)
        p.__dict__.update(
            text=text, category=cat, urgency=urg, category_scores=cs, urgency_scores=us, needs_review=review, flags=flags
        )
        append(p)
    return out[0] if single else out


class CompiledModel:
    """A trained model for prediction only: the compiled arrays, labels and decision rules.

    What :func:`triage.persist.load_compiled` returns (and :func:`triage.predict` uses): the
    same predictions as the :class:`~triage.model.TriageClassifier` it was saved from, without
    scikit-learn or unpickling. Its parameters (``confidence_threshold``, ...) are plain
    attributes; for ``fit``, ``explain`` or ``evaluate`` load the estimator with
    :func:`triage.load`.
    """

    def __init__(self, compiled: Any, *, labels: Mapping[str, list[str]], thresholds: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        self._compiled = compiled
        self.categories_ = list(labels.get("category", []))
        self.urgencies_ = list(labels.get("urgency", []))
        self.critical_threshold_ = thresholds.get("critical_threshold")
        self.lexicon_threshold_ = thresholds.get("lexicon_threshold")
        self.confidence_threshold = float(params.get("confidence_threshold", 0.5))
        self.ambiguity_margin = float(params.get("ambiguity_margin", 0.1))
        self.use_lexicon = bool(params.get("use_lexicon", True))
        self.lexicon_max_chars = int(params.get("lexicon_max_chars", 0))
        self.couple_heads = bool(params.get("couple_heads", True))
        self.max_chars = int(params.get("max_chars", MAX_CHARS))

    @property
    def compiled_(self) -> Any:
        return self._compiled

    def predict(self, X: Any) -> Prediction | list[Prediction]:
        """Classify one message or many: the contract of :meth:`TriageClassifier.predict`."""
        return predict_with(self, X)

    def __repr__(self) -> str:
        return f"CompiledModel(path={getattr(self, 'path_', None)!r})"
