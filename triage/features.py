"""Stage 3 of the pipeline: turn normalised texts into a sparse feature matrix.

Two TF-IDF blocks side by side (:class:`sklearn.pipeline.FeatureUnion`):

- **words**: jieba tokens (with the domain dictionary), unigrams and bigrams;
- **characters**: character 1–3-grams of the normalised text, which catch what the
  segmenter splits badly (typos, homophone slips, dialect, new scam slang). Computed by
  :class:`triage.charngrams.CharNgramTfidf`, a numpy equivalent of scikit-learn's
  ``TfidfVectorizer(analyzer="char")`` that is several times faster.

Both use sublinear TF and L2 normalisation. The README's "Features" section gives the
measured comparison that led to this choice.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from triage.charngrams import CharNgramTfidf
from triage.segment import Segmenter

__all__ = ["make_features"]


def make_features(
    segmenter: Segmenter,
    *,
    word_ngram_range: tuple[int, int] = (1, 2),
    char_ngram_range: tuple[int, int] = (1, 3),
    min_df: int = 1,
    max_features: int | None = None,
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
    """
    blocks = []
    if word_ngram_range != (0, 0):
        blocks.append(
            (
                "word",
                TfidfVectorizer(
                    tokenizer=segmenter.cut,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=word_ngram_range,
                    min_df=min_df,
                    max_features=max_features,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            )
        )
    if char_ngram_range != (0, 0):
        blocks.append(("char", CharNgramTfidf(ngram_range=char_ngram_range, min_df=min_df, dtype=np.float32)))
    if not blocks:
        raise ValueError("make_features needs at least one block; got word and char ranges (0, 0).")
    return FeatureUnion(blocks)
