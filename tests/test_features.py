"""Feature blocks: equal to scikit-learn's vectorizers without a floor; the floor's contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.charngrams import CharNgramTfidf, soft_l2_normalize
from triage.features import WordTfidf, make_features
from triage.normalize import normalize
from triage.segment import Segmenter, segment as cut

from conftest import SMALL_CORPUS

TEXTS = [normalize(t) for t, _, _ in SMALL_CORPUS] + ["在", "在 在", "好", "我现在在车上"]


def _dense_by_name(X, names) -> dict[str, np.ndarray]:
    X = X.toarray()
    return {str(n): X[:, j] for j, n in enumerate(names)}


def _assert_same_columns(ours, ours_names, ref, ref_names):
    a, b = _dense_by_name(ours, ours_names), _dense_by_name(ref, ref_names)
    assert set(a) == set(b)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    assert worst < 1e-6, f"max difference {worst:.2e}"


def test_char_block_without_floor_equals_sklearn():
    ours = CharNgramTfidf(ngram_range=(1, 3), min_df=2)
    ref = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, lowercase=False, sublinear_tf=True)
    _assert_same_columns(ours.fit_transform(TEXTS), ours.get_feature_names_out(), ref.fit_transform(TEXTS), ref.get_feature_names_out())
    assert ours.norm_floor_ == 0.0


def test_word_block_without_floor_equals_sklearn():
    ours = WordTfidf(tokenizer=cut, ngram_range=(1, 2), min_df=2)
    ref = TfidfVectorizer(tokenizer=cut, token_pattern=None, lowercase=False, ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    _assert_same_columns(ours.fit_transform(TEXTS), ours.get_feature_names_out(), ref.fit_transform(TEXTS), ref.get_feature_names_out())
    _assert_same_columns(
        ours.transform(TEXTS[:5]), ours.get_feature_names_out(), ref.transform(TEXTS[:5]), ref.get_feature_names_out()
    )


@pytest.mark.parametrize("block", [CharNgramTfidf(min_df=1, norm_floor_quantile=0.5), WordTfidf(tokenizer=cut, norm_floor_quantile=0.5)])
def test_floor_shrinks_only_rows_below_it(block):
    plain = clone(block).set_params(norm_floor_quantile=0.0).fit(TEXTS)
    X = block.fit_transform(TEXTS)
    unit = plain.transform(TEXTS)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    assert block.norm_floor_ > 0
    short = norms < 1 - 1e-6
    # about half the rows (the quantile) are below the floor, the rest keep unit length
    assert 0.3 < short.mean() < 0.7
    np.testing.assert_allclose(norms[~short], 1.0, atol=1e-5)
    # a shrunk row points the same way as the plain L2 row, only shorter
    for i in np.flatnonzero(short):
        a, b = X[i].toarray().ravel(), unit[i].toarray().ravel()
        np.testing.assert_allclose(a / norms[i], b, atol=1e-5)
    # the one-character message is among the shrunk ones
    assert short[TEXTS.index("在")]


def test_soft_l2_normalize_floor_zero_is_l2_and_keeps_empty_rows():
    import scipy.sparse as sp

    X = sp.csr_matrix(np.array([[3.0, 4.0], [0.0, 0.0], [0.3, 0.4]], dtype=np.float32))
    np.testing.assert_allclose(soft_l2_normalize(X, 0.0).toarray(), [[0.6, 0.8], [0, 0], [0.6, 0.8]], atol=1e-7)
    np.testing.assert_allclose(soft_l2_normalize(X, 1.0).toarray(), [[0.6, 0.8], [0, 0], [0.3, 0.4]], atol=1e-7)
    assert soft_l2_normalize(X, 1.0).dtype == np.float32


@pytest.mark.parametrize("quantile", [-0.1, 1.0, 2])
def test_bad_floor_quantile_is_rejected_in_fit(quantile):
    with pytest.raises(ValueError, match="expected 0 <= norm_floor_quantile < 1"):
        WordTfidf(tokenizer=cut, norm_floor_quantile=quantile).fit(TEXTS)
    with pytest.raises(ValueError, match="expected 0 <= norm_floor_quantile < 1"):
        CharNgramTfidf(norm_floor_quantile=quantile).fit(TEXTS)


def test_feature_union_pickles_and_clones(tmp_path):
    feats = make_features(Segmenter(), min_df=1, norm_floor_quantile=0.25)
    X = feats.fit_transform(TEXTS)
    path = tmp_path / "f.pkl"
    path.write_bytes(pickle.dumps(feats))
    again = pickle.loads(path.read_bytes())
    assert (again.transform(TEXTS) != X).nnz == 0
    params = clone(feats).get_params()
    assert params["word__norm_floor_quantile"] == params["char__norm_floor_quantile"] == 0.25
