"""The compiled predictor reproduces scikit-learn's probabilities.

:class:`triage.compiled.CompiledPredictor` is the prediction path of
:meth:`TriageClassifier.predict`; the scikit-learn estimators it is built from are the
reference: ``features_.transform`` then ``category_head_`` / ``urgency_head_``
``.predict_proba``. Both must agree within 1e-6 on the test split, whatever the batch size
(small batches run the pure-Python feature code, large ones the vectorised character block).
"""

from __future__ import annotations

import numpy as np
import pytest

from triage.compiled import CompiledPredictor
from triage.datasets import corpus_dir, load_jsonl
from triage.model import TriageClassifier
from triage.normalize import normalize

TOL = 1e-6
BATCH_SIZES = (1, 10, 500)


@pytest.fixture(scope="module")
def raw_texts() -> list[str]:
    return [r["text"] for r in load_jsonl(corpus_dir() / "test.jsonl")]


@pytest.fixture(scope="module")
def test_texts(raw_texts) -> list[str]:
    norm = [normalize(t) for t in raw_texts]
    return list(dict.fromkeys(t for t in norm if t))  # what predict sends: normalised, non-empty


def _reference(model, texts):
    X = model.features_.transform(texts)
    cat = model.category_head_.predict_proba(X) if model.category_head_ is not None else None
    urg = model.urgency_head_.predict_proba(X) if model.urgency_head_ is not None else None
    return cat, urg


def _compiled(model, texts, batch_size):
    compiled = CompiledPredictor(model)
    cats, urgs = [], []
    for i in range(0, len(texts), batch_size):
        c, u = compiled.predict_proba(texts[i : i + batch_size])
        cats.append(c)
        urgs.append(u)
    cat = None if cats[0] is None else np.vstack(cats)
    urg = None if urgs[0] is None else np.vstack(urgs)
    return cat, urg


def _assert_close(got, want, what):
    if want is None:
        assert got is None, f"{what}: expected no head"
        return
    assert got is not None and got.shape == want.shape, f"{what}: shape {None if got is None else got.shape} != {want.shape}"
    diff = np.abs(got - want)
    worst = np.unravel_index(int(diff.argmax()), diff.shape)
    assert diff.max() <= TOL, f"{what}: max |compiled - sklearn| = {diff.max():.2e} at row {worst[0]}"


def test_batch_sizes_cover_both_feature_paths():
    threshold = getattr(CompiledPredictor, "VECTORISED_FROM", None)
    if threshold is None:
        pytest.skip("CompiledPredictor has a single feature path")
    assert min(BATCH_SIZES) < threshold <= max(BATCH_SIZES)


@pytest.fixture(scope="module")
def shipped_reference(shipped_model, test_texts):
    return _reference(shipped_model, test_texts)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_shipped_model_probabilities_match_sklearn(shipped_model, test_texts, shipped_reference, batch_size):
    want_cat, want_urg = shipped_reference
    got_cat, got_urg = _compiled(shipped_model, test_texts, batch_size)
    _assert_close(got_cat, want_cat, f"category, batch size {batch_size}")
    _assert_close(got_urg, want_urg, f"urgency, batch size {batch_size}")


def test_shipped_model_class_order(shipped_model):
    compiled = shipped_model.compiled_
    assert compiled.heads["category"].classes == list(shipped_model.category_head_.classes_) == shipped_model.categories_
    assert compiled.heads["urgency"].classes == list(shipped_model.urgency_head_.classes_) == shipped_model.urgencies_


def test_predict_uses_the_compiled_probabilities(shipped_model, raw_texts):
    raw = [t for t in raw_texts if normalize(t)][:300]
    want_cat, want_urg = _reference(shipped_model, [normalize(t) for t in raw])
    for preds in (shipped_model.predict(raw), [shipped_model.predict(t) for t in raw[:50]]):
        for i, p in enumerate(preds):
            got_cat = [p.category_scores[c] for c in shipped_model.categories_]
            got_urg = [p.urgency_scores[u] for u in shipped_model.urgencies_]
            assert np.allclose(got_cat, want_cat[i], atol=TOL, rtol=0), raw[i]
            assert np.allclose(got_urg, want_urg[i], atol=TOL, rtol=0), raw[i]


@pytest.fixture(scope="module")
def tiny_category_model(small_corpus):
    """A freshly trained model with the category head only."""
    texts, cats, _ = zip(*small_corpus)
    return TriageClassifier(cv=2, calibration_cv=2).fit(list(texts), y_category=list(cats))


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_tiny_single_head_model_matches_sklearn(tiny_category_model, test_texts, batch_size):
    texts = test_texts[:1000]
    assert tiny_category_model.urgency_head_ is None
    want_cat, want_urg = _reference(tiny_category_model, texts)
    got_cat, got_urg = _compiled(tiny_category_model, texts, batch_size)
    _assert_close(got_cat, want_cat, f"tiny model category, batch size {batch_size}")
    _assert_close(got_urg, want_urg, f"tiny model urgency, batch size {batch_size}")
