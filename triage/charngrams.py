"""Character n-gram TF-IDF computed with numpy over a whole batch at once.

Equivalent to ``TfidfVectorizer(analyzer="char", ngram_range=(lo, hi), lowercase=False,
sublinear_tf=True, smooth_idf=True, norm="l2")`` on texts whose white space is already
collapsed (as :func:`triage.normalize.normalize` leaves it) — same features, same
values, up to column order — but about ten times faster at prediction time: instead of
building a Python string per n-gram, each n-gram is an exact integer key and vocabulary
look-up is one ``numpy.searchsorted`` per n (the arithmetic is in :mod:`triage.tfidf`).
``tests/test_features.py`` checks the equivalence with scikit-learn's vectorizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from triage.tfidf import (
    KeyIndex,
    _codes,
    _keys,
    char_ngram_coo,
    char_ngram_names,
    check_ngram_range,
    check_quantile,
    coo_row_norms,
    floored,
    quantile_floor,
    row_norms,
    soft_l2_normalize,
    tfidf_coo,
)

__all__ = ["CharNgramTfidf", "KeyIndex", "quantile_floor", "row_norms", "soft_l2_normalize", "tfidf_coo"]


class CharNgramTfidf(TransformerMixin, BaseEstimator):
    """Character n-gram TF-IDF (sublinear TF, smoothed IDF, L2 rows), vectorised with numpy.

    Parameters
    ----------
    ngram_range : tuple of int, default=(1, 3)
        Smallest and largest n (at most 3).
    min_df : int, default=1
        Keep n-grams found in at least this many training documents.
    norm_floor_quantile : float, default=0.0
        Rows are divided by ``max(L2 norm, norm_floor_)``, where ``norm_floor_`` is this
        quantile of the training rows' norms (see :func:`soft_l2_normalize`); 0 gives plain
        L2 rows.
    dtype : numpy dtype, default=numpy.float32
        Type of the output matrix.

    Attributes
    ----------
    vocabulary_keys_ : list of ndarray
        Sorted integer keys of the kept n-grams, one array per n.
    idf_ : ndarray
        IDF of each column.
    norm_floor_ : float
        The learned norm floor (0 for plain L2).
    """

    def __init__(
        self, *, ngram_range: tuple[int, int] = (1, 3), min_df: int = 1, norm_floor_quantile: float = 0.0, dtype=np.float32
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.norm_floor_quantile = norm_floor_quantile
        self.dtype = dtype

    def _ns(self) -> range:
        return check_ngram_range(self.ngram_range)

    def fit(self, raw_documents: Sequence[str], y=None):
        """Learn the n-gram vocabulary and IDF of each n-gram."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Sequence[str], y=None) -> sp.csr_matrix:
        docs = list(raw_documents)
        if not docs:
            raise ValueError("expected at least one document to fit CharNgramTfidf, got none")
        check_quantile(getattr(self, "norm_floor_quantile", 0.0))
        codes, doc, remaining = _codes(docs)
        vocab, idf = [], []
        for n in self._ns():
            key, key_doc = _keys(codes, doc, remaining, n)
            pairs = np.unique(np.stack([key, key_doc.astype(np.uint64)]), axis=1)
            uniq, df = np.unique(pairs[0], return_counts=True)
            keep = df >= self.min_df
            vocab.append(uniq[keep])
            idf.append(np.log((1 + len(docs)) / (1 + df[keep])) + 1.0)
        self.vocabulary_keys_ = vocab
        self.offsets_ = np.concatenate(([0], np.cumsum([v.size for v in vocab])))
        self.idf_ = np.concatenate(idf).astype(np.float64)
        # the n-grams are counted once: raw TF-IDF, its row norms, the floor, the rows
        r, c, raw = self.coo(docs, normalize=False)
        norms = coo_row_norms(r, raw, len(docs))
        self.norm_floor_ = quantile_floor(norms, getattr(self, "norm_floor_quantile", 0.0))
        return self._matrix(len(docs), r, c, floored(r, raw, norms, self.norm_floor_), self.dtype)

    def transform(self, raw_documents: Sequence[str], *, dtype=None) -> sp.csr_matrix:
        """TF-IDF matrix of documents, one row each (``dtype`` overrides the fitted one)."""
        check_is_fitted(self, "vocabulary_keys_")
        docs = list(raw_documents)
        return self._matrix(len(docs), *self.coo(docs), self.dtype if dtype is None else dtype)

    def _matrix(self, n_docs: int, r: np.ndarray, c: np.ndarray, values: np.ndarray, dtype) -> sp.csr_matrix:
        n_features = int(self.offsets_[-1])
        indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=n_docs))))
        return sp.csr_matrix((values.astype(dtype), c.astype(np.int32), indptr), shape=(n_docs, n_features))

    def coo(
        self, docs: Sequence[str], index: Sequence[KeyIndex] | None = None, *, normalize: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and float64 values of the non-zero entries, sorted by row then column.

        ``index`` optionally holds a :class:`KeyIndex` of each n's vocabulary (same result as
        the default ``searchsorted``, faster); ``normalize=False`` returns the raw TF-IDF.
        """
        floor = getattr(self, "norm_floor_", 0.0) if normalize else None  # models saved before the floor: 0
        return char_ngram_coo(docs, self.vocabulary_keys_, self.offsets_, self.idf_, self.ngram_range, floor, index)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The n-grams, in column order."""
        check_is_fitted(self, "vocabulary_keys_")
        return np.asarray(char_ngram_names(self.vocabulary_keys_, self.ngram_range), dtype=object)
