"""TF-IDF arithmetic shared by training and prediction, with numpy and scipy only.

Character n-grams as exact integer keys (code points are below 2**21, so three of them pack
into 63 bits), sublinear TF-IDF rows with the floored L2 norm of :mod:`triage.features`, and
a hash index for vocabulary look-up. :class:`triage.charngrams.CharNgramTfidf` (the
scikit-learn estimator used in training) and :class:`triage.compiled.CompiledPredictor` (the
prediction path, which must not import scikit-learn) both compute with these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = [
    "KeyIndex",
    "char_ngram_coo",
    "char_ngram_names",
    "check_ngram_range",
    "check_quantile",
    "coo_row_norms",
    "floored",
    "quantile_floor",
    "row_norms",
    "soft_l2_normalize",
    "tfidf_coo",
]

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
    return r, c, floored(r, values, coo_row_norms(r, values, n_docs), norm_floor)


def coo_row_norms(r: np.ndarray, values: np.ndarray, n_docs: int) -> np.ndarray:
    """L2 norm of each of ``n_docs`` rows given as (row, value) entries (rows in order)."""
    return np.sqrt(np.bincount(r, weights=values * values, minlength=n_docs))


def floored(r: np.ndarray, values: np.ndarray, norms: np.ndarray, norm_floor: float) -> np.ndarray:
    """Entries divided by ``max(their row's norm, norm_floor)``."""
    return values / np.maximum(norms, norm_floor)[r]


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


def check_quantile(quantile: float) -> float:
    """Validate a ``norm_floor_quantile`` (0 <= q < 1)."""
    if not 0.0 <= quantile < 1.0:
        raise ValueError(f"expected 0 <= norm_floor_quantile < 1, got {quantile!r}")
    return quantile


def quantile_floor(norms: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the non-zero training row norms (0 when ``quantile`` is 0)."""
    check_quantile(quantile)
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




def check_ngram_range(ngram_range: tuple[int, int]) -> range:
    """The n of a character n-gram range, validated (1 <= lo <= hi <= 3)."""
    lo, hi = ngram_range
    if not 1 <= lo <= hi <= _MAX_N:
        raise ValueError(f"expected 1 <= ngram_range[0] <= ngram_range[1] <= {_MAX_N}, got {tuple(ngram_range)}")
    return range(lo, hi + 1)


def char_ngram_coo(
    docs: Sequence[str],
    vocabulary_keys: Sequence[np.ndarray],
    offsets: np.ndarray,
    idf: np.ndarray,
    ngram_range: tuple[int, int],
    norm_floor: float | None,
    index: Sequence[KeyIndex] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and float64 values of the character n-gram TF-IDF of ``docs``.

    Sorted by row then column. ``vocabulary_keys`` holds the sorted keys of each n's
    vocabulary, ``offsets`` their first columns; ``index`` optionally a :class:`KeyIndex` per
    n (same result as ``searchsorted``, faster); ``norm_floor=None`` gives the raw TF-IDF.
    """
    codes, doc, remaining = _codes(docs)
    rows, cols = [], []
    for i, n in enumerate(check_ngram_range(ngram_range)):
        vocab = vocabulary_keys[i]
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
        cols.append(pos[found] + offsets[i])
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float64)
    return tfidf_coo(np.concatenate(rows), np.concatenate(cols), idf, len(docs), norm_floor)


def char_ngram_names(vocabulary_keys: Sequence[np.ndarray], ngram_range: tuple[int, int]) -> list[str]:
    """The n-grams of the keys, in column order."""
    return [_decode(int(k), n) for n, vocab in zip(check_ngram_range(ngram_range), vocabulary_keys) for k in vocab]
