"""Stage 4 of the pipeline: the two-headed classifier and its predictions.

:class:`TriageClassifier` is a scikit-learn estimator: ``__init__`` only stores keyword
parameters, ``fit`` validates and learns (state ending in ``_``), ``predict`` returns
:class:`Prediction` objects with string labels — one for a string, a list for a sequence.

Heads
-----
- **category**: a linear SVM on the word + character TF-IDF features (:mod:`triage.features`),
  calibrated into probabilities by Platt scaling fitted on cross-validated decision values
  (:class:`sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``: one linear
  model, so its weights explain its decisions); the probabilities are the ``category_scores``.
- **urgency**: the same model over the four ordinal levels. The decision is not a plain
  argmax: a missed ``critical`` is the worst error, so a message is ``critical`` when its
  *critical score* — the larger of P(urgency=critical) and P(category=emergency) — reaches
  ``critical_threshold_``, or reaches the lower ``lexicon_threshold_`` while the message
  holds an uncancelled life-threat word (:mod:`triage.safety`). Both thresholds are tuned in
  ``fit`` on out-of-fold predictions of the training data for ``critical_recall``. A message
  of at most ``lexicon_max_chars`` characters with an uncancelled life-threat word
  ("救命啊！！", "着火了") is ``critical`` whatever its score: it carries too little evidence
  for the model (the norm floor of :mod:`triage.features` shrinks it towards the prior) and
  too little context to hide a cue that cancels the word.

Review
------
``needs_review`` follows Rasa's fallback policy: a head is unsure when its top probability is
below ``confidence_threshold`` or the gap to the runner-up is below ``ambiguity_margin``; a
message also needs review when it was made ``critical`` by the threshold rule rather than by
the argmax.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from triage.compiled import CompiledPredictor
from triage.exceptions import DatasetError
from triage.features import make_features
from triage.normalize import MAX_CHARS, normalize, normalize_many
from triage.safety import mentions_threat, threat_terms
from triage.segment import Segmenter

__all__ = ["Prediction", "TriageClassifier", "as_text_list"]

CRITICAL = "critical"
EMERGENCY = "emergency"
_COMPILE_LOCK = threading.RLock()


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


class TriageClassifier(BaseEstimator):
    """Category and urgency classifier for Chinese group-chat messages.

    Parameters
    ----------
    hmm : bool, default=False
        jieba HMM for unknown words.
    engine : {"rjieba", "jieba"}, default="rjieba"
        Implementation of jieba that segments (see :mod:`triage.segment`).
    userdict : str or None, default=None
        Text of a jieba user dictionary; None uses the shipped domain dictionary.
    word_ngram_range, char_ngram_range : tuple of int, default=(1, 2) and (1, 3)
        N-gram ranges of the word and character TF-IDF blocks.
    min_df : int, default=2
        Minimum document frequency of a feature.
    norm_floor_quantile : float, default=0.25
        Each feature block divides a row by ``max(its L2 norm, floor)``, the floor being
        this quantile of the training rows' norms, so that very short messages (little
        evidence) score near the prior instead of on one n-gram's full weight; 0 gives
        plain L2 rows (see :mod:`triage.features`).
    C : float, default=0.5
        Inverse regularisation strength of both linear-SVM heads.
    class_weight : {"balanced", None}, default=None
        Class weighting of both heads.
    calibration_cv : int, default=5
        Folds for fitting the Platt calibration of each head.
    critical_recall : float, default=0.98
        Out-of-fold recall of ``critical`` the urgency thresholds are tuned for.
    use_lexicon : bool, default=True
        Use the life-threat lexicon safety net.
    lexicon_max_chars : int, default=10
        Normalised messages up to this length with an uncancelled life-threat word are
        ``critical`` whatever their score (0 turns this rule off).
    couple_heads : bool, default=True
        Let P(category=emergency) count as a critical score.
    confidence_threshold : float, default=0.5
        A head is unsure below this top probability.
    ambiguity_margin : float, default=0.1
        A head is unsure when the top two probabilities are closer than this.
    max_chars : int, default=2000
        Longer inputs are truncated (and flagged).
    cv : int, default=5
        Folds for tuning the critical thresholds.
    random_state : int, default=0
        Seed of the folds and the solvers.
    """

    def __init__(
        self,
        *,
        hmm: bool = False,
        engine: str = "rjieba",
        userdict: str | None = None,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        norm_floor_quantile: float = 0.25,
        C: float = 0.5,
        class_weight: str | None = None,
        calibration_cv: int = 5,
        critical_recall: float = 0.98,
        use_lexicon: bool = True,
        lexicon_max_chars: int = 10,
        couple_heads: bool = True,
        confidence_threshold: float = 0.5,
        ambiguity_margin: float = 0.1,
        max_chars: int = MAX_CHARS,
        cv: int = 5,
        random_state: int = 0,
    ) -> None:
        self.hmm = hmm
        self.engine = engine
        self.userdict = userdict
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.norm_floor_quantile = norm_floor_quantile
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.critical_recall = critical_recall
        self.use_lexicon = use_lexicon
        self.lexicon_max_chars = lexicon_max_chars
        self.couple_heads = couple_heads
        self.confidence_threshold = confidence_threshold
        self.ambiguity_margin = ambiguity_margin
        self.max_chars = max_chars
        self.cv = cv
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _fit_head(self, M, y: np.ndarray) -> CalibratedClassifierCV:
        """Fit one calibrated linear-SVM head."""
        smallest = int(min(np.unique(y, return_counts=True)[1]))
        svm = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        if smallest >= 2:
            cv = StratifiedKFold(n_splits=min(self.calibration_cv, smallest), shuffle=True, random_state=self.random_state)
            return CalibratedClassifierCV(svm, method="sigmoid", cv=cv, ensemble=False).fit(M, y)
        # A label seen once cannot be held out: calibrate the fitted SVM on its own scores.
        return CalibratedClassifierCV(FrozenEstimator(svm.fit(M, y)), method="sigmoid").fit(M, y)

    def _validate_labels(self, y: Sequence[str] | None, n: int, head: str) -> np.ndarray | None:
        if y is None:
            return None
        y = np.asarray(list(y), dtype=object)
        if len(y) != n:
            raise DatasetError(f"expected {n} {head} labels (one per text), got {len(y)}")
        bad = [i for i, v in enumerate(y) if not isinstance(v, str) or not v]
        if bad:
            raise DatasetError(f"expected non-empty string {head} labels, got {y[bad[0]]!r} at position {bad[0]}")
        if len(set(y)) < 2:
            raise DatasetError(f"expected at least 2 distinct {head} labels, got {sorted(set(y))}")
        return y

    def fit(self, X: Sequence[str], y_category: Sequence[str] | None = None, y_urgency: Sequence[str] | None = None):
        """Fit the features and the heads, then tune the critical thresholds.

        Parameters
        ----------
        X : sequence of str
            Raw message texts.
        y_category, y_urgency : sequence of str or None
            Labels per head; at least one head must be given.

        Returns
        -------
        self
        """
        texts, _ = as_text_list(X)
        if not texts:
            raise DatasetError("expected at least one training text, got none")
        y_cat = self._validate_labels(y_category, len(texts), "category")
        y_urg = self._validate_labels(y_urgency, len(texts), "urgency")
        if y_cat is None and y_urg is None:
            raise DatasetError("expected labels for at least one head (y_category or y_urgency), got neither")

        self.__dict__.pop("_compiled", None)
        norm = [normalize(t, max_chars=self.max_chars) for t in texts]
        self.segmenter_ = Segmenter(hmm=self.hmm, userdict=self.userdict, engine=self.engine)
        self.features_ = make_features(
            self.segmenter_,
            word_ngram_range=tuple(self.word_ngram_range),
            char_ngram_range=tuple(self.char_ngram_range),
            min_df=self.min_df,
            norm_floor_quantile=self.norm_floor_quantile,
        )
        M = self.features_.fit_transform(norm)
        self.category_head_ = self._fit_head(M, y_cat) if y_cat is not None else None
        self.urgency_head_ = self._fit_head(M, y_urg) if y_urg is not None else None
        self.categories_ = list(self.category_head_.classes_) if self.category_head_ is not None else []
        self.urgencies_ = list(self.urgency_head_.classes_) if self.urgency_head_ is not None else []
        self.n_features_ = M.shape[1]

        self.critical_threshold_ = None
        self.lexicon_threshold_ = None
        self.threshold_report_ = {}
        if CRITICAL in self.urgencies_:
            self._tune_critical(norm, y_cat, y_urg)
        return self

    def _oof_probabilities(self, norm: list[str], y: np.ndarray, strat: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities of one head (features refitted inside each fold)."""
        classes = sorted(set(y))
        out = np.zeros((len(norm), len(classes)))
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(norm, strat):
            feats = clone(self.features_)
            Mt = feats.fit_transform([norm[i] for i in train])
            head = self._fit_head(Mt, y[train])
            proba = head.predict_proba(feats.transform([norm[i] for i in test]))
            cols = [classes.index(c) for c in head.classes_]
            out[np.ix_(test, cols)] = proba
        return out

    def _critical_scores(self, urgency_proba: np.ndarray, category_proba: np.ndarray | None) -> np.ndarray:
        score = urgency_proba[:, self.urgencies_.index(CRITICAL)]
        if self.couple_heads and category_proba is not None and EMERGENCY in self.categories_:
            score = np.maximum(score, category_proba[:, self.categories_.index(EMERGENCY)])
        return score

    def _tune_critical(self, norm: list[str], y_cat: np.ndarray | None, y_urg: np.ndarray) -> None:
        """Choose the critical and lexicon thresholds on out-of-fold scores."""
        u_proba = self._oof_probabilities(norm, y_urg, y_urg)
        c_proba = self._oof_probabilities(norm, y_cat, y_cat) if (y_cat is not None and self.couple_heads) else None
        score = self._critical_scores(u_proba, c_proba)
        lex = np.array([bool(threat_terms(t)) for t in norm]) if self.use_lexicon else np.zeros(len(norm), bool)
        short = lex & (np.array([len(t) for t in norm]) <= self.lexicon_max_chars)
        truth = y_urg == CRITICAL
        grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
        best = None
        for t in grid:
            above = score >= t
            for t_lex in grid[grid <= t] if self.use_lexicon else [t]:
                pred = above | short | (lex & (score >= t_lex))
                tp = int(np.sum(pred & truth))
                recall = tp / max(1, int(truth.sum()))
                precision = tp / max(1, int(pred.sum()))
                key = (recall >= self.critical_recall, precision if recall >= self.critical_recall else recall, t, t_lex)
                if best is None or key > best[0]:
                    best = (key, t, t_lex, recall, precision)
        _, t, t_lex, recall, precision = best
        self.critical_threshold_ = float(t)
        self.lexicon_threshold_ = float(t_lex)
        self.threshold_report_ = {
            "critical_threshold": float(t),
            "lexicon_threshold": float(t_lex),
            "lexicon_max_chars": self._short_max(),
            "oof_critical_recall": round(recall, 4),
            "oof_critical_precision": round(precision, 4),
            "target_recall": self.critical_recall,
            "n_critical": int(truth.sum()),
            "folds": self.cv,
        }

    # --------------------------------------------------------------- prediction
    def _decide(self, norm: list[str]) -> list[tuple]:
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
                short_max = self._short_max()
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
            score = self._critical_scores(u_proba, c_proba)
            lowest = min(self.critical_threshold_, self.lexicon_threshold_)
            short_max = self._short_max()
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

    def _short_max(self) -> int:
        """Length up to which a life-threat word alone makes a message critical (0: never)."""
        # models saved before this rule have no such parameter: the rule is off for them
        return int(getattr(self, "lexicon_max_chars", 0)) if self.use_lexicon else 0

    @property
    def compiled_(self) -> CompiledPredictor:
        """The lean predictor built from the fitted estimators (see :mod:`triage.compiled`)."""
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            with _COMPILE_LOCK:  # threads racing the first predict build it once
                compiled = self.__dict__.get("_compiled")
                if compiled is None:
                    compiled = self.__dict__["_compiled"] = CompiledPredictor(self)
        return compiled

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_compiled", None)  # rebuilt on first use: model files hold only sklearn objects
        return state

    def _empty_row(self) -> tuple:
        cat = "chitchat" if "chitchat" in self.categories_ else (self.categories_[0] if self.categories_ else None)
        urg = "low" if "low" in self.urgencies_ else (self.urgencies_[0] if self.urgencies_ else None)
        cs = {c: float(c == cat) for c in self.categories_}
        us = {u: float(u == urg) for u in self.urgencies_}
        return (cat, urg, cs, us, False, ("empty",))

    @overload
    def predict(self, X: str) -> Prediction: ...
    @overload
    def predict(self, X: Iterable[str]) -> list[Prediction]: ...

    def predict(self, X):
        """Classify one message or many.

        Parameters
        ----------
        X : str or iterable of str
            A message, or any sequence/iterable of messages (a pandas Series included).

        Returns
        -------
        Prediction or list of Prediction
            One Prediction for a str; a list of the same length and order otherwise.
            Identical normalised texts are classified once.
        """
        if "features_" not in self.__dict__:
            check_is_fitted(self, "features_")
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
        rows = self._decide(list(unique)) if unique else []
        empty = self._empty_row()
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
