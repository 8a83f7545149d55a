"""Stage 3 of the pipeline: turn normalised texts into a sparse feature matrix.

Two TF-IDF blocks side by side (:class:`sklearn.pipeline.FeatureUnion`):

- **words**: jieba tokens (with the domain dictionary), unigrams and bigrams;
- **characters**: character 1–3-grams of the normalised text, which catch what the
  segmenter splits badly (typos, homophone slips, dialect, new scam slang). Computed by
  :class:`triage.charngrams.CharNgramTfidf`, a numpy equivalent of scikit-learn's
  ``TfidfVectorizer(analyzer="char")`` that is several times faster.

Both use sublinear TF and a *floored* L2 normalisation: each row is divided by
``max(its norm, norm_floor_)``, the floor being a quantile (``norm_floor_quantile``) of the
training rows' norms. Plain L2 stretches a two-character reply to unit length, so its one
common n-gram ("在", "现在") carries a whole message's weight and a linear head gives it an
extreme score; with the floor, messages with little evidence score near the prior. The
README's "Features" section gives the measured comparison that led to these choices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from triage.charngrams import CharNgramTfidf
from triage.tfidf import check_quantile, quantile_floor, row_norms, soft_l2_normalize
from triage.segment import Segmenter

__all__ = ["WordTfidf", "block_bounds", "blockwise_l2", "category_gated", "make_features", "most_frequent_columns"]


class WordTfidf(TfidfVectorizer):
    """Word n-gram TF-IDF (sublinear TF, smoothed IDF) with floored L2 rows.

    A :class:`~sklearn.feature_extraction.text.TfidfVectorizer` whose rows are divided by
    ``max(L2 norm, norm_floor_)`` (see :func:`triage.tfidf.soft_l2_normalize`).
    The settings triage does not vary (no lowercasing, no token pattern, sublinear TF) are
    fixed; the parameters below are stored as given.

    Parameters
    ----------
    tokenizer : callable
        Text → list of tokens; a module-level function or bound method, so the vectorizer
        pickles.
    ngram_range : tuple of int, default=(1, 1)
    min_df : int, default=1
    max_features : int or None, default=None
    norm_floor_quantile : float, default=0.0
        Quantile of the training rows' norms used as ``norm_floor_``; 0 gives plain L2 rows.
    dtype : numpy dtype, default=numpy.float32
    """

    def __init__(
        self,
        *,
        tokenizer=None,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 1,
        max_features: int | None = None,
        norm_floor_quantile: float = 0.0,
        dtype=np.float32,
    ) -> None:
        super().__init__(
            tokenizer=tokenizer,
            token_pattern=None,
            lowercase=False,
            ngram_range=ngram_range,
            min_df=min_df,
            max_features=max_features,
            sublinear_tf=True,
            norm=None,
            dtype=dtype,
        )
        self.norm_floor_quantile = norm_floor_quantile

    def fit(self, raw_documents, y=None):
        """Learn the vocabulary, IDF and norm floor."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents, y=None):
        """Learn the vocabulary, IDF and norm floor; return the TF-IDF matrix."""
        check_quantile(self.norm_floor_quantile)  # before the work
        raw = super().fit_transform(raw_documents)
        self.norm_floor_ = quantile_floor(row_norms(raw), self.norm_floor_quantile)
        return soft_l2_normalize(raw, self.norm_floor_)

    def transform(self, raw_documents):
        """TF-IDF matrix of documents, rows divided by ``max(norm, norm_floor_)``."""
        return soft_l2_normalize(super().transform(raw_documents), self.norm_floor_)



def make_features(
    segmenter: Segmenter,
    *,
    word_ngram_range: tuple[int, int] = (1, 2),
    char_ngram_range: tuple[int, int] = (1, 3),
    min_df: int = 1,
    max_features: int | None = None,
    norm_floor_quantile: float = 0.0,
) -> FeatureUnion:
    """Build the (unfitted) word + character TF-IDF feature union.

    Parameters
    ----------
    segmenter : Segmenter
        Its bound ``cut`` method is the word tokenizer (a method, not a lambda, so the
        fitted union pickles).
    word_ngram_range, char_ngram_range : tuple of int
        N-gram ranges of the two blocks; ``(0, 0)`` drops a block.
    min_df : int
        Minimum document frequency of a feature.
    max_features : int or None
        Cap on the word block's vocabulary size.
    norm_floor_quantile : float
        Quantile of each block's training row norms used as its norm floor (0: plain L2).
    """
    blocks = []
    if word_ngram_range != (0, 0):
        blocks.append(
            (
                "word",
                WordTfidf(
                    tokenizer=segmenter.cut,
                    ngram_range=word_ngram_range,
                    min_df=min_df,
                    max_features=max_features,
                    norm_floor_quantile=norm_floor_quantile,
                ),
            )
        )
    if char_ngram_range != (0, 0):
        blocks.append(("char", CharNgramTfidf(ngram_range=char_ngram_range, min_df=min_df, norm_floor_quantile=norm_floor_quantile)))
    if not blocks:
        raise ValueError("make_features needs at least one block; got word and char ranges (0, 0).")
    return FeatureUnion(blocks)


def block_bounds(union: FeatureUnion) -> np.ndarray:
    """First column of each block of a fitted feature union, then the total width."""
    widths = [len(block.idf_) for _, block in union.transformer_list]
    return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)


def blockwise_l2(M, bounds: np.ndarray) -> sp.csr_matrix:
    """``M`` with each row's part in each block rescaled to unit L2 norm.

    Undoes the norm floor: a floored row is the plain L2 row times a factor of at most 1
    per block, so this gives the rows of ``norm_floor_quantile=0`` from the floored matrix
    (parts that are all zero stay zero). ``bounds`` comes from :func:`block_bounds`.
    """
    M = sp.csr_matrix(M)
    parts = [soft_l2_normalize(M[:, lo:hi], 0.0) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return sp.hstack(parts, format="csr", dtype=M.dtype)


def most_frequent_columns(M, n: int) -> np.ndarray:
    """Sorted indices of the ``n`` columns of ``M`` with the highest document frequency.

    Ties go to the lower column, so the choice is deterministic.
    """
    df = np.bincount(sp.csr_matrix(M).indices, minlength=M.shape[1])
    if n >= M.shape[1]:
        return np.arange(M.shape[1], dtype=np.int64)
    return np.sort(np.argsort(-df, kind="stable")[:n]).astype(np.int64)


def category_gated(M, gates: np.ndarray, columns: np.ndarray) -> sp.csr_matrix:
    """The urgency head's input: ``[M | g_1 * M[:, columns] | ... | g_K * M[:, columns]]``.

    ``gates`` holds one row of category probabilities per message, so each category's
    block carries the message's features weighted by how much it belongs to that category:
    a linear head on this matrix has one weight per feature *and category* (for the
    ``columns`` it gates), and can learn that "救命" in a fraud message and "救命" in
    chatter mean different urgencies. See :class:`~triage.model.TriageClassifier`.
    """
    M = sp.csr_matrix(M)
    gates = np.asarray(gates, dtype=np.float64)
    if gates.shape[0] != M.shape[0]:
        raise ValueError(f"expected one row of gates per message ({M.shape[0]}), got {gates.shape[0]}")
    sub = M[:, columns]
    blocks = [M] + [sp.diags(gates[:, k]) @ sub for k in range(gates.shape[1])]
    return sp.hstack(blocks, format="csr")
