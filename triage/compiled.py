"""A lean predictor compiled from a fitted :class:`~triage.model.TriageClassifier`.

scikit-learn validates its inputs on every call (``check_array``, dataframe sniffing, ...),
which costs about 2 ms per ``predict`` — thirty times the segmentation of a short message.
At prediction time triage therefore runs the same arithmetic without that machinery:

- word features: tokens and space-joined bigrams looked up in the fitted vocabulary,
  ``1 + log(count)`` times IDF, divided by ``max(L2 norm, norm floor)`` (exactly
  :class:`~triage.features.WordTfidf`);
- character features: 1–3-grams the same way (exactly :class:`~triage.charngrams.CharNgramTfidf`);
- each head: the linear SVM's decision values ``x·Wᵀ + b``, then the Platt sigmoid of each
  class and the normalisation of :class:`~sklearn.calibration.CalibratedClassifierCV`; a
  category head that reads plain L2 rows (``category_rows="l2"``) gets each block's values
  divided by the block's norm instead of by ``max(norm, norm floor)``.

The compiled form is built from the fitted estimators on first use (never pickled, so a
model file stays the scikit-learn objects it was trained as), and
``tests/test_compiled.py`` checks that it reproduces scikit-learn's probabilities.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

from triage.tfidf import KeyIndex, char_ngram_coo, check_ngram_range, coo_row_norms, floored, tfidf_coo

__all__ = ["CompiledPredictor"]

_SEP = "\n"
_SEP_ID = -2  # token id of the document separator
_SPACE_ID = -3  # token id of a space (dropped, as Segmenter.cut drops white space)
# Texts the batched segmentation cannot take as they are: empty ones, and those holding
# white space other than " " (a "\n" would split the text, a "\t" token must be dropped).
_ODD_SPACE = re.compile(r"[^\S ]")


class _WordBlock:
    """The word block (unigrams + bigrams) of a whole batch, vectorised with numpy.

    Texts with no ``[`` (so no bracket token) and no white space but ``" "`` are joined with
    ``"\n"`` and segmented by one call of the engine: jieba (both engines) cuts at white
    space, each white-space character is a token of its own, so the tokens are exactly those
    of one :meth:`Segmenter.cut` per text. Other texts keep :meth:`Segmenter.cut`. Tokens
    become their unigram columns; a bigram is the integer key ``col(a) * V + col(b)`` looked up
    in a sorted array, which needs both halves of every bigram in the vocabulary (true
    whenever the bigrams are counted on the same documents as the unigrams; checked here).
    """

    def __init__(self, segmenter, vocab: dict[str, int], idf: list[float]) -> None:
        V = len(vocab)
        unigrams: dict[str, int] = {}
        keys, cols = [], []
        for term, j in vocab.items():
            parts = term.split(" ")
            if len(parts) == 1:
                unigrams[term] = j
            elif len(parts) == 2 and all(p and p in vocab and " " not in p for p in parts):
                keys.append(vocab[parts[0]] * V + vocab[parts[1]])
                cols.append(j)
            else:
                raise ValueError(f"word term {term!r} is neither a unigram nor a bigram of two known unigrams")
        if _SEP in unigrams or any(t.isspace() for t in unigrams):
            raise ValueError("white space in the word vocabulary")
        unigrams[_SEP] = _SEP_ID
        unigrams[" "] = _SPACE_ID
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        self.bigram_keys = np.asarray(keys, dtype=np.int64)[order]
        self.bigram_cols = np.asarray(cols, dtype=np.int64)[order]
        self.ids = unigrams
        self.V = V
        self.idf = np.asarray(idf, dtype=np.float64)
        self.segmenter = segmenter

    def _tokens(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
        """Tokens of all texts, each text's followed by the separator, and the texts' order."""
        joined = _SEP.join(texts)
        if "[" not in joined and _ODD_SPACE.search(joined) is None and all(texts):
            tokens = self.segmenter.cutter(joined + _SEP, self.segmenter.hmm)
            return tokens, list(range(len(texts)))
        plain = [i for i, t in enumerate(texts) if t and "[" not in t and _ODD_SPACE.search(t) is None]
        other = sorted(set(range(len(texts))).difference(plain))
        tokens = self.segmenter.cutter(_SEP.join([texts[i] for i in plain]) + _SEP, self.segmenter.hmm) if plain else []
        cut = self.segmenter.cut
        for i in other:
            tokens.extend(cut(texts[i]))
            tokens.append(_SEP)
        return tokens, plain + other

    def coo(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Rows, block columns and raw TF-IDF values of the word block, before the row
        norms (None if segmentation disagreed)."""
        tokens, order = self._tokens(texts)
        ids = np.fromiter(map(self.ids.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        ids = ids[ids != _SPACE_ID]
        sep = ids == _SEP_ID
        if int(sep.sum()) != len(texts) or (ids.size and not sep[-1]):
            return None
        doc = np.asarray(order, dtype=np.int64)[np.cumsum(sep) - sep]
        known = ids >= 0
        rows, cols = [doc[known]], [ids[known]]
        a, b = ids[:-1], ids[1:]
        pair = (a >= 0) & (b >= 0)
        if self.bigram_keys.size and pair.any():
            key = a[pair] * self.V + b[pair]
            pos = np.searchsorted(self.bigram_keys, key)
            pos[pos == self.bigram_keys.size] = 0
            found = self.bigram_keys[pos] == key
            rows.append(doc[:-1][pair][found])
            cols.append(self.bigram_cols[pos[found]])
        return tfidf_coo(np.concatenate(rows), np.concatenate(cols), self.idf, len(texts), None)


class _Head:
    """Decision weights and Platt parameters of one calibrated linear-SVM head.

    A head gated by the category (see :func:`triage.features.category_gated`) also holds
    ``gated_t``, the weights of the gated columns per category, ``(N, K * k)`` for ``N``
    gated columns, ``K`` categories and ``k`` decision values: its decision is
    ``x·W + Σ_g p_g (x_gated·W_g) + b`` with ``p`` the category probabilities.
    """

    def __init__(
        self,
        classes: Sequence[str],
        coef_t: np.ndarray,
        intercept: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        gate_columns: np.ndarray | None = None,
        gated_t: np.ndarray | None = None,
    ) -> None:
        self.classes = list(classes)
        # (n_features, k or 1), contiguous for sparse @ dense; the only copy kept
        self.coef_t = np.ascontiguousarray(coef_t, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.a = np.asarray(a, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.binary = len(self.classes) == 2
        self.gate_columns = self.gated_t = self.gated_padded = self.gate_pos = None
        if gate_columns is not None:
            self.gate_columns = np.asarray(gate_columns, dtype=np.int64)
            gated_t = np.asarray(gated_t, dtype=np.float64)
            n = self.gate_columns.size
            if gated_t.ndim != 2 or gated_t.shape[0] != n or gated_t.shape[1] % self.coef_t.shape[1]:
                raise ValueError(
                    f"expected gated weights of shape ({n}, K * {self.coef_t.shape[1]}), got {gated_t.shape}"
                )
            # one zero row after the gated ones: every feature has a row to look up (the
            # ungated ones this one), so one message needs no masking (see _gated_row)
            self.gated_padded = np.zeros((n + 1, gated_t.shape[1]))
            self.gated_padded[:n] = gated_t
            self.gated_t = self.gated_padded[:n]
            # row of each feature in gated_padded: its position among the gated columns, or n
            self.gate_pos = np.full(self.coef_t.shape[0], n, dtype=np.int64)
            self.gate_pos[self.gate_columns] = np.arange(n)

    @classmethod
    def from_estimator(cls, head, gate_columns: np.ndarray | None = None, n_features: int | None = None) -> _Head:
        """From a fitted ``CalibratedClassifierCV(LinearSVC, ensemble=False)``."""
        calibrated = head.calibrated_classifiers_[0]
        svm = calibrated.estimator
        svm = getattr(svm, "estimator", svm)  # FrozenEstimator wraps the SVM
        coef = np.asarray(svm.coef_, dtype=np.float64)
        gated_t = None
        if gate_columns is not None:
            k, n = coef.shape[0], len(gate_columns)
            # columns F + g*N + j of the gated matrix → row j, columns g*k .. g*k+k-1
            gated_t = coef[:, n_features:].reshape(k, -1, n).transpose(2, 1, 0).reshape(n, -1)
            coef = coef[:, :n_features]
        return cls(
            head.classes_,
            coef.T,
            svm.intercept_,
            [c.a_ for c in calibrated.calibrators],
            [c.b_ for c in calibrated.calibrators],
            gate_columns,
            gated_t,
        )

    def gated_products(self, X: sp.csr_matrix) -> np.ndarray:
        """``x_gated·W_g`` of every row and category, ``(rows, K * k)``."""
        # every entry keeps its place and points at its row of gated_padded (the ungated ones
        # at the zero row): the same products, in the same order, as the one-message path
        Xg = sp.csr_matrix(
            (X.data, self.gate_pos[X.indices].astype(np.int32), X.indptr), shape=(X.shape[0], self.gated_padded.shape[0])
        )
        return Xg @ self.gated_padded

    def gate(self, products: np.ndarray, gated: np.ndarray, category_proba: np.ndarray) -> np.ndarray:
        """``products + Σ_g p_g * gated_g`` (rows × k, or one row as 1-D arrays).

        The sum over categories is one ``np.add.reduce`` over a non-contiguous axis, which
        adds in category order for a batch and for one row alike (bitwise equal results).
        """
        k = products.shape[-1]
        terms = category_proba[..., None] * gated.reshape(*gated.shape[:-1], -1, k)
        return products + np.add.reduce(terms, axis=-2)

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        return self.proba_of(X @ self.coef_t)

    def proba_of(self, products: np.ndarray) -> np.ndarray:
        """Probabilities from ``x·Wᵀ`` (rows × classes, before the intercept)."""
        decision = products + self.intercept
        p = 1.0 / (1.0 + np.exp(decision * self.a + self.b))  # expit(-(a*d + b))
        if self.binary:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        total = p.sum(axis=1, keepdims=True)
        uniform = total[:, 0] == 0
        p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=~uniform[:, None])
        return p


@dataclasses.dataclass
class _CharArrays:
    """The fitted state of the character block (see :func:`triage.tfidf.char_ngram_coo`)."""

    vocabulary_keys: list[np.ndarray]
    offsets: np.ndarray
    idf: np.ndarray
    ngram_range: tuple[int, int]
    norm_floor: float


#: Version of the array layout written by :meth:`CompiledPredictor.to_arrays` (2 added the
#: optional category-gated weights of a head, 3 the rows the category head reads). A model
#: whose category head reads floored rows is written as format 2, which older versions
#: read; files of formats 1 and 2 load with floored category rows.
ARRAYS_FORMAT = 3


class CompiledPredictor:
    """Features and heads of a fitted model as plain dictionaries and arrays.

    Built from a fitted :class:`~triage.model.TriageClassifier` (``CompiledPredictor(model)``)
    or from the arrays :meth:`to_arrays` saved (:meth:`from_arrays`, which needs no
    scikit-learn).
    """

    def __init__(self, model) -> None:
        blocks = []
        for name, block in model.features_.transformer_list:
            entry = {
                "name": name,
                "ngram_range": tuple(block.ngram_range),
                "idf": np.asarray(block.idf_, dtype=np.float64),
                # a model saved before the norm floor has plain L2 rows: floor 0
                "norm_floor": float(getattr(block, "norm_floor_", 0.0)),
            }
            if name == "word":
                entry["vocab"] = block.vocabulary_  # term -> column; listed in column order by to_arrays
            else:
                entry["vocabulary_keys"] = list(block.vocabulary_keys_)
                entry["offsets"] = np.asarray(block.offsets_)
            blocks.append(entry)
        n_features = sum(len(entry["idf"]) for entry in blocks)
        gate_columns = getattr(model, "gate_columns_", None)  # None: not gated (or saved before gating)
        heads = {
            "category": _Head.from_estimator(model.category_head_) if model.category_head_ is not None else None,
            "urgency": _Head.from_estimator(model.urgency_head_, gate_columns, n_features)
            if model.urgency_head_ is not None
            else None,
        }
        self._build(model.segmenter_, blocks, heads, model.category_rows_)

    def _build(self, segmenter, blocks: list[dict], heads: dict[str, _Head | None], category_rows: str = "floored") -> None:
        if category_rows not in ("l2", "floored"):
            raise ValueError(f'expected category rows "l2" or "floored", got {category_rows!r}')
        self.category_rows = category_rows
        # whether the category head reads other values than the urgency head (see _row)
        self.category_l2 = category_rows == "l2" and heads.get("category") is not None
        self.segmenter = segmenter
        self.segment = segmenter.cut
        self._spec = blocks
        self.blocks: list[tuple[str, dict[str, int], list[float], int, tuple[int, int], float]] = []
        self.char_block: _CharArrays | None = None
        offset = 0
        for entry in blocks:
            name, idf = entry["name"], entry["idf"]
            # the character block is looked up by integer keys (see _char_counts)
            vocab = entry["vocab"] if name == "word" else {}
            if name == "char":
                self.char_block = _CharArrays(
                    list(entry["vocabulary_keys"]), entry["offsets"], idf, entry["ngram_range"], entry["norm_floor"]
                )
            self.blocks.append((name, vocab, idf.tolist(), offset, entry["ngram_range"], entry["norm_floor"]))
            offset += len(idf)
        self.n_features = offset
        self.char_index = None
        # The character n-grams of every length in one dict, packed key -> column: a key packs
        # code points 21 bits apart, so an n-gram not led by U+0000 has a key of at least
        # 2**(21 * (n - 1)), above every shorter n-gram's (see _char_counts for U+0000).
        self.char_ns: list[int] = []
        self.char_column_of: dict[int, int] = {}
        if self.char_block is not None:
            c = self.char_block
            self.char_index = [KeyIndex(keys) for keys in c.vocabulary_keys]
            for i, n in enumerate(check_ngram_range(c.ngram_range)):
                first = int(c.offsets[i])
                self.char_ns.append(n)
                self.char_column_of.update((key, first + j) for j, key in enumerate(c.vocabulary_keys[i].tolist()))
        self.word_block = None
        for name, vocab, idf, _, ngrams, _ in self.blocks:
            if name == "word" and ngrams == (1, 2):
                try:
                    self.word_block = _WordBlock(segmenter, vocab, idf)
                except ValueError:
                    pass
        self.heads = heads
        # Both heads' weights side by side, so one product serves both (the arithmetic per
        # column is unchanged: same products, summed in the same order) — when both read the
        # same rows.
        present = [h for h in heads.values() if h is not None]
        self._joint = None
        if len(present) == 2 and not self.category_l2:
            self._joint = np.ascontiguousarray(np.hstack([h.coef_t for h in present]))
            k = present[0].coef_t.shape[1]
            present[0].coef_t, present[1].coef_t = self._joint[:, :k], self._joint[:, k:]  # views: one copy

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to predict, as named numpy arrays (none of dtype object).

        Saved with :func:`numpy.savez` beside the model file and read back with
        ``numpy.load(..., allow_pickle=False)``: loading runs no pickle.
        """
        meta: dict[str, Any] = {"format": 2, "blocks": [], "heads": {}}
        if self.category_rows != "floored":  # only then is format 3 needed: older readers load the rest
            meta.update(format=ARRAYS_FORMAT, category_rows=self.category_rows)
        arrays: dict[str, np.ndarray] = {}
        for entry in self._spec:
            name = entry["name"]
            meta["blocks"].append(
                {"name": name, "ngram_range": list(entry["ngram_range"]), "norm_floor": entry["norm_floor"]}
            )
            arrays[f"{name}_idf"] = np.asarray(entry["idf"], dtype=np.float64)
            if name == "word":
                terms = [""] * len(entry["vocab"])
                for term, j in entry["vocab"].items():
                    terms[j] = term
                arrays["word_terms"] = np.asarray(terms, dtype=str)
            else:
                arrays["char_offsets"] = np.asarray(entry["offsets"], dtype=np.int64)
                for i, keys in enumerate(entry["vocabulary_keys"]):
                    arrays[f"char_keys_{i}"] = np.asarray(keys, dtype=np.uint64)
        for key, head in self.heads.items():
            if head is None:
                continue
            meta["heads"][key] = head.classes
            arrays[f"{key}_coef_t"] = head.coef_t
            arrays[f"{key}_intercept"] = head.intercept
            arrays[f"{key}_a"] = head.a
            arrays[f"{key}_b"] = head.b
            if head.gate_columns is not None:
                arrays[f"{key}_gate_columns"] = head.gate_columns
                arrays[f"{key}_gated_t"] = head.gated_t
        arrays["meta"] = np.asarray(json.dumps(meta, ensure_ascii=False))
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], segmenter) -> CompiledPredictor:
        """Rebuild from :meth:`to_arrays` output and the model's :class:`~triage.segment.Segmenter`."""
        meta = json.loads(str(arrays["meta"][()]))
        if meta.get("format") not in (1, 2, ARRAYS_FORMAT):
            raise ValueError(f"expected compiled arrays of format 1 to {ARRAYS_FORMAT}, got {meta.get('format')!r}")
        blocks = []
        for info in meta["blocks"]:
            name = info["name"]
            entry = {
                "name": name,
                "ngram_range": tuple(info["ngram_range"]),
                "idf": np.asarray(arrays[f"{name}_idf"], dtype=np.float64),
                "norm_floor": float(info["norm_floor"]),
            }
            if name == "word":
                entry["vocab"] = {term: j for j, term in enumerate(arrays["word_terms"].tolist())}
            else:
                entry["offsets"] = np.asarray(arrays["char_offsets"])
                count = len(range(*entry["ngram_range"])) + 1
                entry["vocabulary_keys"] = [np.asarray(arrays[f"char_keys_{i}"]) for i in range(count)]
            blocks.append(entry)
        heads: dict[str, _Head | None] = {"category": None, "urgency": None}
        for key, classes in meta["heads"].items():
            gated = f"{key}_gate_columns" in arrays
            heads[key] = _Head(
                classes,
                arrays[f"{key}_coef_t"],
                arrays[f"{key}_intercept"],
                arrays[f"{key}_a"],
                arrays[f"{key}_b"],
                arrays[f"{key}_gate_columns"] if gated else None,
                arrays[f"{key}_gated_t"] if gated else None,
            )
        self = cls.__new__(cls)
        if meta["format"] >= 3 and "category_rows" not in meta:
            raise ValueError(f"expected compiled arrays of format {meta['format']} to say their category_rows, got none")
        self._build(segmenter, blocks, heads, meta.get("category_rows", "floored"))
        return self

    @staticmethod
    def _word_terms(tokens: list[str], ngrams: tuple[int, int]) -> list[str]:
        lo, hi = ngrams
        terms = list(tokens) if lo == 1 else []
        for n in range(max(2, lo), hi + 1):
            terms.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return terms

    def _char_counts(self, text: str) -> Counter:
        """Column → count of the text's character n-grams (None counts the unknown ones).

        An n-gram is looked up by the integer key :mod:`triage.tfidf` uses (code points
        packed 21 bits apart) rather than as a substring: no string is built or hashed.
        """
        codes = list(map(ord, text))
        keys: list[int] = []
        for n in self.char_ns:
            if n == 1:
                grams = codes
            elif n == 2:
                grams = [(a << 21) | b for a, b in zip(codes, codes[1:])]
            else:
                grams = [(a << 42) | (b << 21) | c for a, b, c in zip(codes, codes[1:], codes[2:])]
            if n > 1 and 0 in codes:
                # an n-gram led by U+0000 (normalize removes it) packs into a shorter n-gram's
                # key range; no vocabulary holds one, so it is unknown (-1 is never a key)
                smallest = 1 << (21 * (n - 1))
                grams = [key if key >= smallest else -1 for key in grams]
            keys.extend(grams)
        return Counter(map(self.char_column_of.get, keys))

    #: Batch size from which the character block is computed with numpy.
    VECTORISED_FROM = 64

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The model's feature matrix of normalised texts (the rows the urgency head reads)."""
        return self.feature_rows(texts)[0]

    def feature_rows(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The feature matrix of normalised texts, and the rows the category head reads.

        The second is the first unless the category head reads plain L2 rows (then the
        same entries, each block's divided by its norm instead of ``max(norm, floor)``).
        Small batches are computed term by term in Python (no per-call numpy overhead);
        from :attr:`VECTORISED_FROM` texts on, the character block is computed by the
        vectorised :func:`~triage.tfidf.char_ngram_coo` and the word block by
        :class:`_WordBlock` (both give the same values as the Python code).
        """
        n = len(texts)
        if n < self.VECTORISED_FROM or (self.char_block is None and self.word_block is None):
            return self._python_features(texts)
        rows, cols, vals, l2_vals = [], [], [], []
        for name, _, _, offset, _, floor in self.blocks:
            part = None
            if name == "char":
                c = self.char_block
                part = char_ngram_coo(texts, c.vocabulary_keys, c.offsets, c.idf, c.ngram_range, None, self.char_index)
            elif self.word_block is not None:
                part = self.word_block.coo(texts)
            if part is None:  # the word block the Python way
                X, Xl2 = self._python_features(texts, skip="char")
                r = np.repeat(np.arange(n, dtype=np.int64), np.diff(X.indptr))
                rows.append(r)
                cols.append(X.indices.astype(np.int64))
                vals.append(X.data)
                l2_vals.append(Xl2.data)
                continue
            r, c, raw = part
            norms = coo_row_norms(r, raw, n)
            rows.append(r)
            cols.append(c + offset)
            vals.append(floored(r, raw, norms, floor))
            # floor 0: divided by the norm itself, as _row does
            l2_vals.append(floored(r, raw, norms, 0.0) if self.category_l2 else None)
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")  # row by row; within a row, block by block
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        indices = np.concatenate(cols)[order].astype(np.int32)
        X = sp.csr_matrix((np.concatenate(vals)[order], indices, indptr), shape=(n, self.n_features))
        if not self.category_l2:
            return X, X
        return X, sp.csr_matrix((np.concatenate(l2_vals)[order], indices, indptr), shape=(n, self.n_features))

    def _row(self, text: str, skip: str = "") -> tuple[list[int], list[float], list[float] | None]:
        """Columns (ascending) and values of one text's features, term by term in Python,
        and the values the category head reads if they differ (else None)."""
        indices: list[int] = []
        values: list[float] = []
        l2_values: list[float] | None = [] if self.category_l2 else None
        log = math.log
        sqrt = math.sqrt
        tokens = None
        for name, vocab, idf, offset, ngrams, floor in self.blocks:
            if name == skip:
                continue
            if name == "word":
                if tokens is None:
                    tokens = self.segment(text)
                counts = Counter(map(vocab.get, self._word_terms(tokens, ngrams)))  # counted in C
            else:
                counts = self._char_counts(text)
            counts.pop(None, None)  # unknown terms
            if not counts:
                continue
            cols = sorted(counts)
            # (1 + log 1) * idf is idf exactly: most n-grams occur once
            vals = [idf[j] if (k := counts[j]) == 1 else (1.0 + log(k)) * idf[j] for j in cols]
            squares = 0.0
            for v in vals:  # plain left-to-right sum, as numpy's bincount adds (not Python 3.12's compensated sum())
                squares += v * v
            raw_norm = sqrt(squares)
            norm = max(raw_norm, floor)
            indices.extend([j + offset for j in cols])
            values.extend([v / norm for v in vals])
            if l2_values is not None:
                l2_values.extend([v / raw_norm for v in vals])
        return indices, values, l2_values

    def _python_features(self, texts: Sequence[str], skip: str = "") -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """:meth:`feature_rows` term by term in Python (``skip``: a block to leave out)."""
        indices: list[int] = []
        values: list[float] = []
        l2_values: list[float] = []
        indptr = [0]
        row = self._row
        for text in texts:
            cols, vals, l2 = row(text, skip)
            indices.extend(cols)
            values.extend(vals)
            if l2 is not None:
                l2_values.extend(l2)
            indptr.append(len(indices))
        shape = (len(texts), self.n_features)
        idx, ptr = np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)
        X = sp.csr_matrix((np.asarray(values, dtype=np.float64), idx, ptr), shape=shape)
        if not self.category_l2:
            return X, X
        return X, sp.csr_matrix((np.asarray(l2_values, dtype=np.float64), idx, ptr), shape=shape)

    def proba_lists(self, text: str) -> tuple[list[float] | None, list[float] | None]:
        """Category and urgency probabilities of one normalised text, as lists, without scipy.

        The same floating-point operations in the same order as :meth:`predict_proba`
        (products ``value * weight`` summed in column order from zero, then the intercept,
        the Platt sigmoid and the normalisation by numpy), so the results are bitwise equal.
        """
        cols, vals, l2_vals = self._row(text)
        values = np.asarray(vals)
        cols = np.asarray(cols, dtype=np.intp)  # once, for every look-up below
        joint = None
        if cols.size and self._joint is not None:
            joint = np.add.reduce(self._joint[cols] * values[:, None], axis=0)
        out = []
        category_proba = None
        start = 0
        for key in ("category", "urgency"):
            head = self.heads[key]
            if head is None:
                out.append(None)
                continue
            width = head.coef_t.shape[1]
            if joint is not None:
                raw = joint[start : start + width]
            elif cols.size:
                read = np.asarray(l2_vals) if key == "category" and l2_vals is not None else values
                raw = np.add.reduce(head.coef_t[cols] * read[:, None], axis=0)
            else:
                raw = np.zeros(width)
            start += width
            if head.gate_columns is not None:
                raw = head.gate(raw, self._gated_row(head, cols, values), category_proba)
            decision = raw + head.intercept
            p = 1.0 / (1.0 + np.exp(decision * head.a + head.b))
            if head.binary:
                proba = np.asarray([1.0 - float(p[0]), float(p[0])])
            else:
                total = p.sum()
                proba = np.full(p.size, 1.0 / p.size) if total == 0 else p / total
            category_proba = proba  # what gates the urgency head (read after the category head)
            out.append(proba.tolist())
        return out[0], out[1]

    @staticmethod
    def _gated_row(head: _Head, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``x_gated·W_g`` of one text, summed in column order as the sparse product adds
        (an ungated feature adds a row of zeros, which leaves every sum unchanged)."""
        if not cols.size:
            return np.zeros(head.gated_padded.shape[1])
        return np.add.reduce(head.gated_padded[head.gate_pos[cols]] * values[:, None], axis=0)

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Category and urgency probabilities of normalised texts (None for a missing head)."""
        X, Xc = self.feature_rows(texts)
        cat, urg = self.heads["category"], self.heads["urgency"]
        if self._joint is not None:
            products = X @ self._joint
            k = cat.coef_t.shape[1]
            c_proba = cat.proba_of(products[:, :k])
            u_products = products[:, k:]
        else:
            c_proba = cat.proba(Xc) if cat else None
            if urg is None:
                return c_proba, None
            u_products = X @ urg.coef_t
        if urg.gate_columns is not None:
            u_products = urg.gate(u_products, urg.gated_products(X), c_proba)
        return c_proba, urg.proba_of(u_products)
