"""Character n-gram TF-IDF computed with numpy over a whole batch at once.

Equivalent to ``TfidfVectorizer(analyzer="char", ngram_range=(lo, hi), lowercase=False,
sublinear_tf=True, smooth_idf=True, norm="l2")`` on texts whose white space is already
collapsed (as :func:`triage.normalize.normalize` leaves it) — same features, same
values, up to column order — but about ten times faster at prediction time: instead of
building a Python string per n-gram, each n-gram is an exact integer key (code points are
below 2**21, so three of them pack into 63 bits) and vocabulary look-up is one
``numpy.searchsorted`` per n. ``tests/test_charngrams.py`` checks the equivalence with
scikit-learn's vectorizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["CharNgramTfidf", "KeyIndex", "quantile_floor", "row_norms", "soft_l2_normalize", "tfidf_coo"]

_BITS = 21  # every Unicode code point fits in 21 bits
_MAX_N = 3


def _codes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code points of all texts concatenated, each position's document and its offset in it."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(texts) else np.zeros(0, np.int64)
    offset = np.arange(codes.size, dtype=np.int64) - starts[doc]
    return codes, doc, lengths[doc] - offset  # remaining characters from each position


def _keys(codes: np.ndarray, doc: np.ndarray, remaining: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of every n-gram and the document of each."""
    valid = np.flatnonzero(remaining >= n)
    key = codes[valid].copy()
    for k in range(1, n):
        key = (key << np.uint64(_BITS)) | codes[valid + k]
    return key, doc[valid]


def tfidf_coo(
    row: np.ndarray, col: np.ndarray, idf: np.ndarray, n_docs: int, norm_floor: float | None = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sublinear TF-IDF, L2-normalised per row, of (row, column) occurrences.

    Returns the distinct (row, column) pairs sorted by row then column and their values:
    ``(1 + log(count)) * idf`` divided by ``max(row norm, norm_floor)`` (see
    :func:`soft_l2_normalize`); ``norm_floor=None`` leaves the values unnormalised.
    """
    n_cols = max(int(idf.size), 1)
    # Count each (row, col) pair: sort by a combined key, then run-length encode.
    uniq, counts = np.unique(row * n_cols + col, return_counts=True)
    r = uniq // n_cols
    c = uniq % n_cols
    values = (1.0 + np.log(counts)) * idf[c]
    if norm_floor is None:
        return r, c, values
    norms = np.sqrt(np.bincount(r, weights=values * values, minlength=n_docs))
    return r, c, values / np.maximum(norms, norm_floor)[r]


def row_norms(X: sp.csr_matrix) -> np.ndarray:
    """Euclidean norm of each row of a sparse matrix, in float64."""
    data = X.data.astype(np.float64)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return np.sqrt(np.bincount(rows, weights=data * data, minlength=X.shape[0]))


def soft_l2_normalize(X: sp.csr_matrix, norm_floor: float) -> sp.csr_matrix:
    """Divide each row by ``max(its L2 norm, norm_floor)``.

    With ``norm_floor=0`` this is plain L2 normalisation. A positive floor keeps rows with
    little evidence — a short message of one or two common n-grams, whose raw TF-IDF norm
    is small — short instead of stretching them to unit length, so a linear model scores
    them near its intercept (the prior) rather than on the full weight of one n-gram.
    """
    X = sp.csr_matrix(X, copy=True)
    scale = np.maximum(row_norms(X), norm_floor)
    scale[scale == 0] = 1.0
    X.data = (X.data / np.repeat(scale, np.diff(X.indptr))).astype(X.dtype)
    return X


def quantile_floor(norms: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the non-zero training row norms (0 when ``quantile`` is 0)."""
    if not 0.0 <= quantile < 1.0:
        raise ValueError(f"expected 0 <= norm_floor_quantile < 1, got {quantile!r}")
    norms = norms[norms > 0]
    return float(np.quantile(norms, quantile)) if quantile > 0 and norms.size else 0.0


class KeyIndex:
    """Open-addressing hash table of distinct uint64 keys → their position in the key array.

    ``lookup`` gives exactly what ``searchsorted`` + equality test give (−1 when absent), with
    vectorised linear probing; read-only once built.
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        bits = max(4, int(np.ceil(np.log2(max(1, keys.size) * 4))))
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        self.slot_key = np.zeros(1 << bits, dtype=np.uint64)
        self.slot_pos = np.full(1 << bits, -1, dtype=np.int64)
        pending = np.arange(keys.size, dtype=np.int64)
        slot = self._hash(keys)
        while pending.size:  # each round places, per free slot, the first key probing it
            free = self.slot_pos[slot] < 0
            cand, cand_slot = pending[free], slot[free]
            _, first = np.unique(cand_slot, return_index=True)
            self.slot_key[cand_slot[first]] = keys[cand[first]]
            self.slot_pos[cand_slot[first]] = cand[first]
            placed = np.zeros(pending.size, dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slot = pending[~placed], slot[~placed]
            slot = np.where(self.slot_pos[slot] >= 0, (slot + 1) & self.mask, slot)

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * self._MULT) >> self.shift).astype(np.int64)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key in the indexed array, −1 for a key not in it."""
        out = np.full(keys.size, -1, dtype=np.int64)
        todo = np.arange(keys.size, dtype=np.int64)
        slot = self._hash(keys)
        while todo.size:
            pos = self.slot_pos[slot]
            hit = (pos >= 0) & (self.slot_key[slot] == keys[todo])
            out[todo[hit]] = pos[hit]
            more = (pos >= 0) & ~hit
            todo, slot = todo[more], (slot[more] + 1) & self.mask
        return out


def _decode(key: int, n: int) -> str:
    mask = (1 << _BITS) - 1
    return "".join(chr((key >> (_BITS * (n - 1 - k))) & mask) for k in range(n))


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
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi <= _MAX_N:
            raise ValueError(f"expected 1 <= ngram_range[0] <= ngram_range[1] <= {_MAX_N}, got {self.ngram_range}")
        return range(lo, hi + 1)

    def fit(self, raw_documents: Sequence[str], y=None):
        """Learn the n-gram vocabulary and IDF of each n-gram."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Sequence[str], y=None) -> sp.csr_matrix:
        docs = list(raw_documents)
        if not docs:
            raise ValueError("expected at least one document to fit CharNgramTfidf, got none")
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
        self.norm_floor_ = 0.0
        quantile = getattr(self, "norm_floor_quantile", 0.0)
        if quantile:
            r, _, values = self.coo(docs, normalize=False)
            norms = np.sqrt(np.bincount(r, weights=values * values, minlength=len(docs)))
            self.norm_floor_ = quantile_floor(norms, quantile)
        return self.transform(docs)

    def transform(self, raw_documents: Sequence[str], *, dtype=None) -> sp.csr_matrix:
        """TF-IDF matrix of documents, one row each (``dtype`` overrides the fitted one)."""
        check_is_fitted(self, "vocabulary_keys_")
        dtype = self.dtype if dtype is None else dtype
        docs = list(raw_documents)
        r, c, values = self.coo(docs)
        n_features = int(self.offsets_[-1])
        indptr = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=len(docs)))))
        return sp.csr_matrix((values.astype(dtype), c.astype(np.int32), indptr), shape=(len(docs), n_features))

    def coo(
        self, docs: Sequence[str], index: Sequence[KeyIndex] | None = None, *, normalize: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and float64 values of the non-zero entries, sorted by row then column.

        ``index`` optionally holds a :class:`KeyIndex` of each n's vocabulary (same result as
        the default ``searchsorted``, faster); ``normalize=False`` returns the raw TF-IDF.
        """
        codes, doc, remaining = _codes(docs)
        rows, cols = [], []
        for i, n in enumerate(self._ns()):
            vocab = self.vocabulary_keys_[i]
            key, key_doc = _keys(codes, doc, remaining, n)
            if vocab.size == 0 or key.size == 0:
                continue
            if index is not None:
                pos = index[i].lookup(key)
                found = pos >= 0
            else:
                pos = np.searchsorted(vocab, key)
                pos[pos == vocab.size] = 0
                found = vocab[pos] == key
            rows.append(key_doc[found])
            cols.append(pos[found] + self.offsets_[i])
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.float64)
        floor = getattr(self, "norm_floor_", 0.0) if normalize else None  # models saved before the floor: 0
        return tfidf_coo(np.concatenate(rows), np.concatenate(cols), self.idf_, len(docs), floor)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The n-grams, in column order."""
        check_is_fitted(self, "vocabulary_keys_")
        names = [_decode(int(k), n) for n, vocab in zip(self._ns(), self.vocabulary_keys_) for k in vocab]
        return np.asarray(names, dtype=object)
