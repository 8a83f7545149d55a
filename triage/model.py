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
- **urgency**: the same model over the four ordinal levels, reading the features *gated by
  the category* (``category_gating``): besides one weight per feature it has, for the most
  frequent features, one weight per feature and category, applied in proportion to the
  message's category probabilities (:func:`triage.features.category_gated`). "快来人" in
  an emergency and in a group-buy message, "还在" in a fire and in a theft weigh differently.
  The category probabilities of the training messages that gate the head in ``fit`` are
  out-of-fold, so the head learns on gates as noisy as those of unseen messages.
  The decision is not a plain argmax: a missed ``critical`` is the worst error, so a message
  is ``critical`` when its *critical score* — P(urgency=critical), or the larger of it and
  P(category=emergency) with ``couple_heads`` — reaches ``critical_threshold_``, or reaches the lower ``lexicon_threshold_`` while the message
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

import threading
from collections.abc import Iterable, Sequence
from typing import overload

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from triage.compiled import CompiledPredictor
from triage.exceptions import DatasetError
from triage.features import block_bounds, blockwise_l2, category_gated, make_features, most_frequent_columns
from triage.normalize import MAX_CHARS, normalize
from triage.prediction import (
    CRITICAL,
    Prediction,
    as_text_list,
    critical_scores,
    decide,
    predict_with,
    short_max_of,
)
from triage.safety import threat_terms
from triage.segment import Segmenter

__all__ = ["Prediction", "TriageClassifier", "as_text_list"]  # Prediction, as_text_list: from triage.prediction

_COMPILE_LOCK = threading.RLock()


def _expand_columns(proba: np.ndarray, have: list[str], want: list[str]) -> np.ndarray:
    """Probabilities over the labels ``have`` as columns over ``want`` (missing ones 0)."""
    if have == want:
        return proba
    out = np.zeros((proba.shape[0], len(want)))
    out[:, [want.index(c) for c in have]] = proba
    return out


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
    category_rows : {"floored", "l2"}, default="floored"
        Rows the category head reads: "floored", the urgency head's rows, or "l2", each
        block's part scaled to unit L2 norm, so that the norm floor only serves the urgency
        head and a short report keeps its full weight for its category. "l2" scores a little
        better on the corpus but takes far more real chatter for reports (README,
        "Features"), hence the default. The choice made in ``fit`` is ``category_rows_``.
    C : float, default=1.0
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
    category_gating : bool, default=True
        Let the urgency head see the category: its input is the features plus, for each
        category, the features times the message's probability of that category (see
        :func:`triage.features.category_gated`), so a word can weigh differently on urgency
        in a fraud report and in chatter. In ``fit`` the gates of the training messages are
        out-of-fold category probabilities, as they will be for unseen messages.
    gated_features : int, default=20000
        How many of the most frequent features get a weight per category (the others keep
        one weight); bounds the model's size.
    couple_heads : bool, default=False
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
        category_rows: str = "floored",
        C: float = 1.0,
        class_weight: str | None = None,
        calibration_cv: int = 5,
        critical_recall: float = 0.98,
        use_lexicon: bool = True,
        lexicon_max_chars: int = 10,
        category_gating: bool = True,
        gated_features: int = 20000,
        couple_heads: bool = False,
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
        self.category_rows = category_rows
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.critical_recall = critical_recall
        self.use_lexicon = use_lexicon
        self.lexicon_max_chars = lexicon_max_chars
        self.category_gating = category_gating
        self.gated_features = gated_features
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
        # A label seen once cannot be held out: calibrate the fitted SVM on its own scores
        # (one "fold" scoring every row; the frozen SVM is not refitted).
        every = np.arange(M.shape[0])
        frozen = FrozenEstimator(svm.fit(M, y))
        return CalibratedClassifierCV(frozen, method="sigmoid", cv=[(every, every)]).fit(M, y)

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
        if self.category_rows not in ("l2", "floored"):
            raise ValueError(f'expected category_rows to be "l2" or "floored", got {self.category_rows!r}')
        self.category_rows_ = self.category_rows  # what the head is trained on, whatever set_params does later

        self.__dict__.pop("_compiled", None)
        norm = [normalize(t, max_chars=self.max_chars) for t in texts]
        self.segmenter_ = Segmenter(hmm=self.hmm, userdict=self.userdict, engine=self.engine)
        self.features_ = self._make_features(self.segmenter_)
        M = self.features_.fit_transform(norm)
        Mc = self._category_rows(M, self.features_)
        self.category_head_ = self._fit_head(Mc, y_cat) if y_cat is not None else None
        self.gate_columns_ = None
        if y_urg is not None and self._gating(y_cat):
            self.gate_columns_ = most_frequent_columns(M, self.gated_features)
            gates = self._oof_head_proba(Mc, y_cat)
            self.urgency_head_ = self._fit_head(category_gated(M, gates, self.gate_columns_), y_urg)
        else:
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

    def _make_features(self, segmenter: Segmenter):
        """The unfitted feature union of these parameters (see :func:`triage.features.make_features`)."""
        return make_features(
            segmenter,
            word_ngram_range=tuple(self.word_ngram_range),
            char_ngram_range=tuple(self.char_ngram_range),
            min_df=self.min_df,
            norm_floor_quantile=self.norm_floor_quantile,
        )

    def _category_rows(self, M, features):
        """The rows the category head reads, from feature rows ``M`` of the fitted union
        ``features`` (see ``category_rows``; ``category_rows_`` is the fitted choice)."""
        if self.category_rows_ == "l2":
            return blockwise_l2(M, block_bounds(features))
        return M

    def _gating(self, y_cat: np.ndarray | None) -> bool:
        """Whether the urgency head is gated by the category (both heads trained, option on)."""
        if not self.category_gating or y_cat is None:
            return False
        if isinstance(self.gated_features, bool) or not isinstance(self.gated_features, (int, np.integer)) or self.gated_features < 1:
            raise ValueError(f"expected gated_features to be a positive int, got {self.gated_features!r}")
        return True

    def _oof_head_proba(self, M, y: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities of a head on a fixed feature matrix (columns: sorted labels)."""
        classes = sorted(set(y))
        out = np.zeros((M.shape[0], len(classes)))
        smallest = int(min(np.unique(y, return_counts=True)[1]))
        folds = StratifiedKFold(n_splits=max(2, min(self.cv, smallest)), shuffle=True, random_state=self.random_state)
        for train, test in folds.split(np.zeros(len(y)), y):
            head = self._fit_head(M[train], y[train])
            out[test] = _expand_columns(head.predict_proba(M[test]), list(head.classes_), classes)
        return out

    def _critical_scores(self, urgency_proba: np.ndarray, category_proba: np.ndarray | None) -> np.ndarray:
        return critical_scores(self, urgency_proba, category_proba)

    def _oof_critical_scores(self, norm: list[str], y_cat: np.ndarray | None, y_urg: np.ndarray) -> np.ndarray:
        """Out-of-fold critical scores, the whole fit (features, heads, gates) redone per fold."""
        gating = self._gating(y_cat)
        with_category = y_cat is not None and (gating or self.couple_heads)
        urgencies = sorted(set(y_urg))
        categories = sorted(set(y_cat)) if with_category else []
        u_proba = np.zeros((len(norm), len(urgencies)))
        c_proba = np.zeros((len(norm), len(categories))) if with_category else None
        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(norm, y_urg):
            feats = clone(self.features_)
            Mt = feats.fit_transform([norm[i] for i in train])
            Ms = feats.transform([norm[i] for i in test])
            if with_category:
                Mct = self._category_rows(Mt, feats)
                category_head = self._fit_head(Mct, y_cat[train])
                c_proba[test] = _expand_columns(
                    category_head.predict_proba(self._category_rows(Ms, feats)), list(category_head.classes_), categories
                )
            if gating:
                columns = most_frequent_columns(Mt, self.gated_features)
                gates = self._oof_head_proba(Mct, y_cat[train])
                # a category absent from this fold's training part still gets its (empty) column
                gates = _expand_columns(gates, sorted(set(y_cat[train])), categories)
                head = self._fit_head(category_gated(Mt, gates, columns), y_urg[train])
                proba = head.predict_proba(category_gated(Ms, c_proba[test], columns))
            else:
                head = self._fit_head(Mt, y_urg[train])
                proba = head.predict_proba(Ms)
            cols = [urgencies.index(c) for c in head.classes_]
            u_proba[np.ix_(test, cols)] = proba
        return self._critical_scores(u_proba, c_proba)

    def _tune_critical(self, norm: list[str], y_cat: np.ndarray | None, y_urg: np.ndarray) -> None:
        """Choose the critical and lexicon thresholds on out-of-fold scores."""
        score = self._oof_critical_scores(norm, y_cat, y_urg)
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
    def category_input(self, M):
        """What the category head reads for feature rows ``M`` (see ``category_rows``)."""
        return self._category_rows(M, self.features_)

    def urgency_input(self, M, category_proba: np.ndarray | None):
        """What the urgency head reads for feature rows ``M``: ``M`` itself, or ``M`` gated
        by the category probabilities (see :func:`triage.features.category_gated`)."""
        if getattr(self, "gate_columns_", None) is None:
            return M
        return category_gated(M, category_proba, self.gate_columns_)

    def reference_proba(self, norm: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Category and urgency probabilities of normalised texts through the scikit-learn
        estimators — the reference the compiled predictor (``compiled_``) reproduces."""
        check_is_fitted(self, "features_")
        M = self.features_.transform(list(norm))
        cat = self.category_head_.predict_proba(self.category_input(M)) if self.category_head_ is not None else None
        urg = self.urgency_head_.predict_proba(self.urgency_input(M, cat)) if self.urgency_head_ is not None else None
        return cat, urg

    def _decide(self, norm: list[str]) -> list[tuple]:
        """Labels, scores, review flags and rule flags for normalised, non-empty texts."""
        return decide(self, norm)

    def _short_max(self) -> int:
        """Length up to which a life-threat word alone makes a message critical (0: never)."""
        return short_max_of(self)

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

    def __setstate__(self, state: dict) -> None:
        # a model pickled before category_rows existed: its category head reads floored rows
        state.setdefault("category_rows", "floored")
        state.setdefault("category_rows_", state["category_rows"])
        super().__setstate__(state)

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
        return predict_with(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
