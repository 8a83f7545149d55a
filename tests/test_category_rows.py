"""The category head reads plain L2 rows; the urgency head the floored ones (``category_rows``)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from triage.compiled import CompiledPredictor
from triage.features import block_bounds, blockwise_l2, make_features
from triage.model import TriageClassifier
from triage.normalize import normalize
from triage.persist import load_compiled, save_model
from triage.segment import Segmenter

SHORT = ["着火了", "有人打架", "车被刮了", "停水了吗", "收到", "完全没见过的一句话", "请问"]


def test_blockwise_l2_scales_each_block_of_each_row_to_unit_norm():
    M = sp.csr_matrix(np.array([[3.0, 4.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0], [0.6, 0.0, 2.0, 0.0]]))
    bounds = np.array([0, 2, 4])  # two blocks of two columns
    got = blockwise_l2(M, bounds).toarray()
    want = np.array([[0.6, 0.8, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    np.testing.assert_allclose(got, want)
    assert M[0, 0] == 3.0  # the input is left alone


def test_blockwise_l2_leaves_a_block_of_stored_zeros_zero():
    M = sp.csr_matrix((np.array([0.0, 2.0]), np.array([0, 2]), np.array([0, 2])), shape=(1, 4))
    assert M.nnz == 2  # the zero is stored
    np.testing.assert_array_equal(blockwise_l2(M, np.array([0, 2, 4])).toarray(), [[0.0, 0.0, 1.0, 0.0]])


def test_blockwise_l2_of_floored_rows_gives_the_rows_without_a_floor(small_corpus):
    texts = [normalize(t) for t, _, _ in small_corpus]
    plain = make_features(Segmenter(), norm_floor_quantile=0.0)
    floored = make_features(Segmenter(), norm_floor_quantile=0.5)
    want = plain.fit_transform(texts).toarray()
    F = floored.fit_transform(texts)
    assert not np.allclose(F.toarray(), want)  # the floor shrank some rows
    np.testing.assert_allclose(blockwise_l2(F, block_bounds(floored)).toarray(), want, atol=1e-6)


@pytest.fixture(scope="module", params=["l2", "floored"])
def model(request, small_corpus):
    texts, cats, urgs = zip(*small_corpus)
    return TriageClassifier(cv=2, calibration_cv=2, category_rows=request.param).fit(list(texts), list(cats), list(urgs))


def test_category_head_reads_unit_rows_only_with_l2(model):
    M = model.features_.transform([normalize(t) for t in SHORT])
    Mc = model.category_input(M)
    if model.category_rows == "floored":
        assert Mc is M
        return
    bounds = block_bounds(model.features_)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        norms = np.sqrt(np.asarray(Mc[:, lo:hi].multiply(Mc[:, lo:hi]).sum(axis=1)).ravel())
        present = np.diff(M[:, lo:hi].tocsr().indptr) > 0
        np.testing.assert_allclose(norms[present], 1.0, rtol=1e-5)


def test_compiled_predictor_matches_sklearn_and_one_message_is_bitwise_the_batch(model, small_corpus):
    texts = [normalize(t) for t, _, _ in small_corpus] + [normalize(t) for t in SHORT]
    texts = list(dict.fromkeys(texts))
    want_cat, want_urg = model.reference_proba(texts)
    compiled = CompiledPredictor(model)
    assert compiled.category_l2 == (model.category_rows == "l2")
    for batch in (texts, texts * (CompiledPredictor.VECTORISED_FROM // len(texts) + 1)):  # Python and numpy features
        got_cat, got_urg = compiled.predict_proba(batch)
        np.testing.assert_allclose(got_cat[: len(texts)], want_cat, atol=1e-6, rtol=0)
        np.testing.assert_allclose(got_urg[: len(texts)], want_urg, atol=1e-6, rtol=0)
    for i, text in enumerate(texts):
        cat, urg = compiled.proba_lists(text)
        assert cat == got_cat[i].tolist() and urg == got_urg[i].tolist(), text


def test_category_rows_survive_the_arrays(model, tmp_path):
    save_model(model, tmp_path / "m")
    light = load_compiled(tmp_path / "m")
    assert light.compiled_.category_rows == model.category_rows
    assert light.predict(SHORT) == model.predict(SHORT)


def test_category_rows_is_validated_in_fit(small_corpus):
    texts, cats, urgs = zip(*small_corpus)
    with pytest.raises(ValueError, match='expected category_rows to be "l2" or "floored", got \'plain\''):
        TriageClassifier(cv=2, category_rows="plain").fit(list(texts), list(cats), list(urgs))


def test_models_pickled_before_the_option_read_floored_rows(small_corpus):
    texts, cats, urgs = zip(*small_corpus)
    model = TriageClassifier(cv=2, calibration_cv=2, category_rows="floored").fit(list(texts), list(cats), list(urgs))
    state = model.__getstate__()
    del state["category_rows"]  # as an older version pickled it
    old = TriageClassifier.__new__(TriageClassifier)
    old.__setstate__(state)
    assert old.get_params()["category_rows"] == "floored"
    again = pickle.loads(pickle.dumps(old))
    assert again.predict(SHORT) == model.predict(SHORT)


def test_arrays_are_format_2_unless_the_category_head_reads_l2_rows(model):
    arrays = CompiledPredictor(model).to_arrays()
    meta = json.loads(str(arrays["meta"][()]))
    if model.category_rows_ == "floored":  # the format-2 layout: older versions read it
        assert meta["format"] == 2 and "category_rows" not in meta
        return
    assert meta["format"] == 3 and meta["category_rows"] == "l2"
    del meta["category_rows"]
    arrays["meta"] = np.asarray(json.dumps(meta))
    with pytest.raises(ValueError, match="format 3 to say their category_rows, got none"):
        CompiledPredictor.from_arrays(arrays, model.segmenter_)
    meta["format"] = 2
    arrays["meta"] = np.asarray(json.dumps(meta))
    assert CompiledPredictor.from_arrays(arrays, model.segmenter_).category_rows == "floored"


def test_set_params_after_fit_does_not_change_what_the_head_reads(model, small_corpus):
    texts = [normalize(t) for t in SHORT]
    want = model.reference_proba(texts)
    other = "floored" if model.category_rows == "l2" else "l2"
    refit = pickle.loads(pickle.dumps(model)).set_params(category_rows=other)
    assert refit.category_rows_ == model.category_rows
    for got, expected in zip(refit.reference_proba(texts), want):
        np.testing.assert_array_equal(got, expected)
    assert refit.predict(SHORT) == model.predict(SHORT)


def _svm_coef(model) -> np.ndarray:
    return model.category_head_.calibrated_classifiers_[0].estimator.coef_


def test_l2_category_head_is_the_head_fitted_without_a_floor(small_corpus):
    texts, cats, _ = zip(*small_corpus)
    l2 = TriageClassifier(cv=2, calibration_cv=2, category_rows="l2").fit(list(texts), y_category=list(cats))
    plain = TriageClassifier(cv=2, calibration_cv=2, norm_floor_quantile=0.0).fit(list(texts), y_category=list(cats))
    floored = TriageClassifier(cv=2, calibration_cv=2).fit(list(texts), y_category=list(cats))
    np.testing.assert_allclose(_svm_coef(l2), _svm_coef(plain), atol=1e-5)
    assert np.abs(_svm_coef(floored) - _svm_coef(plain)).max() > 0.01  # the floor did change the head


def _assert_unit_blocks(M) -> None:
    """Each row's part in each block has unit norm: a row's squared norm is its number of
    non-empty blocks (floored rows of short texts fall below it)."""
    M = sp.csr_matrix(M)
    squared = np.asarray(M.multiply(M).sum(axis=1)).ravel()
    np.testing.assert_allclose(squared, np.round(squared), atol=1e-4)


class _Spy(TriageClassifier):
    """Counts the category heads, in ``fit`` and in every fold, that fit and predict on
    unit rows per block, and fails on any that does not."""

    def _fit_head(self, M, y):
        head = super()._fit_head(M, y)
        if set(y) <= set(self.category_labels):
            _assert_unit_blocks(M)
            self.checked_ = getattr(self, "checked_", 0) + 1
            predict_proba = head.predict_proba

            def checked(X, _predict=predict_proba):
                _assert_unit_blocks(X)
                self.checked_ += 1
                return _predict(X)

            head.predict_proba = checked
        return head


def test_every_category_head_of_fit_and_its_folds_reads_l2_rows(small_corpus):
    texts, cats, urgs = zip(*small_corpus)
    spy = _Spy(cv=2, calibration_cv=2, category_rows="l2")
    spy.category_labels = set(cats)
    spy.fit(list(texts), list(cats), list(urgs))
    # fit's head and the 2 gate heads; per fold of the tuning, its head, predicting, and its 2 gate heads
    assert spy.checked_ >= 3 + 2 * 4
    floored = _Spy(cv=2, calibration_cv=2)
    floored.category_labels = set(cats)
    with pytest.raises(AssertionError):  # the check can fail: floored rows of short texts
        floored.fit(list(texts), list(cats), list(urgs))


def test_explain_uses_the_rows_the_category_head_reads(small_corpus):
    from triage.explain import explain

    texts, cats, urgs = zip(*small_corpus)
    model = TriageClassifier(cv=2, calibration_cv=2, category_rows="l2").fit(list(texts), list(cats), list(urgs))
    for text in SHORT[:4]:
        e = explain(text, model=model)
        norm = normalize(text)
        M = model.category_input(model.features_.transform([norm]))
        calibrated = model.category_head_.calibrated_classifiers_[0]
        k = list(model.categories_).index(e.category.label)
        d = calibrated.estimator.decision_function(M)[0, k]
        cal = calibrated.calibrators[k]
        log_odds = -(float(np.ravel(cal.a_)[0]) * d + float(np.ravel(cal.b_)[0]))
        assert e.category.score == pytest.approx(log_odds, abs=2e-3), text
