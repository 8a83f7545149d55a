"""A lean predictor compiled from a fitted :class:`~triage.model.TriageClassifier`.

scikit-learn validates its inputs on every call (``check_array``, dataframe sniffing, ...),
which costs about 2 ms per ``predict`` — thirty times the segmentation of a short message.
At prediction time triage therefore runs the same arithmetic without that machinery:

- word features: tokens and space-joined bigrams looked up in the fitted vocabulary,
  ``1 + log(count)`` times IDF, L2-normalised (exactly ``TfidfVectorizer``'s sublinear TF);
- character features: 1–3-grams the same way (exactly :class:`~triage.charngrams.CharNgramTfidf`);
- each head: the linear SVM's decision values ``x·Wᵀ + b``, then the Platt sigmoid of each
  class and the normalisation of :class:`~sklearn.calibration.CalibratedClassifierCV`.

The compiled form is built from the fitted estimators on first use (never pickled, so a
model file stays the scikit-learn objects it was trained as), and
``tests/test_compiled.py`` checks that it reproduces scikit-learn's probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["CompiledPredictor"]


class _Head:
    """Decision weights and Platt parameters of one calibrated linear-SVM head."""

    def __init__(self, head) -> None:
        calibrated = head.calibrated_classifiers_[0]
        svm = calibrated.estimator
        svm = getattr(svm, "estimator", svm)  # FrozenEstimator wraps the SVM
        self.classes = list(head.classes_)
        self.coef = np.ascontiguousarray(svm.coef_, dtype=np.float64)  # (k or 1, n_features)
        self.intercept = np.asarray(svm.intercept_, dtype=np.float64)
        self.a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
        self.b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)
        self.binary = len(self.classes) == 2
        self.coef_t = np.ascontiguousarray(self.coef.T)  # (n_features, k or 1) for sparse @ dense

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        decision = X @ self.coef_t + self.intercept
        p = 1.0 / (1.0 + np.exp(decision * self.a + self.b))  # expit(-(a*d + b))
        if self.binary:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        total = p.sum(axis=1, keepdims=True)
        uniform = total[:, 0] == 0
        p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=~uniform[:, None])
        return p


class CompiledPredictor:
    """Features and heads of a fitted model as plain dictionaries and arrays."""

    def __init__(self, model) -> None:
        self.segment = model.segmenter_.cut
        self.blocks: list[tuple[str, dict[str, int], list[float], int, tuple[int, int]]] = []
        self.char_block = None
        offset = 0
        for name, block in model.features_.transformer_list:
            if name == "word":
                vocab = block.vocabulary_
            else:
                self.char_block = block
                vocab = {str(n): i for i, n in enumerate(block.get_feature_names_out())}
            self.blocks.append((name, vocab, block.idf_.tolist(), offset, tuple(block.ngram_range)))
            offset += len(block.idf_)
        self.n_features = offset
        self.heads = {
            "category": _Head(model.category_head_) if model.category_head_ is not None else None,
            "urgency": _Head(model.urgency_head_) if model.urgency_head_ is not None else None,
        }

    @staticmethod
    def _word_terms(tokens: list[str], ngrams: tuple[int, int]) -> list[str]:
        lo, hi = ngrams
        terms = list(tokens) if lo == 1 else []
        for n in range(max(2, lo), hi + 1):
            terms.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return terms

    @staticmethod
    def _char_terms(text: str, ngrams: tuple[int, int]) -> list[str]:
        lo, hi = ngrams
        length = len(text)
        return [text[i : i + n] for n in range(lo, hi + 1) for i in range(length - n + 1)]

    #: Batch size from which the character block is computed with numpy.
    VECTORISED_FROM = 64

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The model's feature matrix of normalised texts.

        Small batches are computed term by term in Python (no per-call numpy overhead);
        from :attr:`VECTORISED_FROM` texts on, the character block is computed by the
        vectorised :class:`~triage.charngrams.CharNgramTfidf` and the rest in Python.
        """
        if self.char_block is None or len(texts) < self.VECTORISED_FROM:
            return self._python_features(texts)
        chars = self.char_block.transform(texts, dtype=np.float64)
        if len(self.blocks) == 1:
            return chars.tocsr()
        n_other = self.n_features - chars.shape[1]  # the word block comes first
        other = self._python_features(texts, skip="char")[:, :n_other]
        return sp.hstack([other, chars], format="csr")

    def _python_features(self, texts: Sequence[str], skip: str = "") -> sp.csr_matrix:
        indices: list[int] = []
        values: list[float] = []
        indptr = [0]
        log = math.log
        sqrt = math.sqrt
        for text in texts:
            tokens = None
            for name, vocab, idf, offset, ngrams in self.blocks:
                if name == skip:
                    continue
                if name == "word":
                    if tokens is None:
                        tokens = self.segment(text)
                    terms = self._word_terms(tokens, ngrams)
                else:
                    terms = self._char_terms(text, ngrams)
                counts: dict[int, int] = {}
                for term in terms:
                    j = vocab.get(term)
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
                if not counts:
                    continue
                cols = sorted(counts)
                vals = [(1.0 + log(counts[j])) * idf[j] for j in cols]
                norm = sqrt(sum(v * v for v in vals))
                indices.extend(j + offset for j in cols)
                values.extend(v / norm for v in vals)
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(texts), self.n_features),
        )

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Category and urgency probabilities of normalised texts (None for a missing head)."""
        X = self.features(texts)
        cat, urg = self.heads["category"], self.heads["urgency"]
        return (cat.proba(X) if cat else None, urg.proba(X) if urg else None)
