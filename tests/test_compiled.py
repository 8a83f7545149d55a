"""The compiled predictor reproduces scikit-learn's probabilities.

:class:`triage.compiled.CompiledPredictor` is the prediction path of
:meth:`TriageClassifier.predict`; the scikit-learn estimators it is built from are the
reference: ``features_.transform`` then ``category_head_`` / ``urgency_head_``
``.predict_proba`` (the urgency head on the category-gated matrix), as ``reference_proba`` does. Both must agree within 1e-6 on the test split, whatever the batch size
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
    return model.reference_proba(texts)


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


# ------------------------------------------------------- vectorised word block, normalize_many


def _exactly_equal(A, B) -> bool:
    return (
        A.shape == B.shape
        and np.array_equal(A.indptr, B.indptr)
        and np.array_equal(A.indices, B.indices)
        and np.array_equal(A.data, B.data)
    )


def _rows_equal(compiled, texts) -> bool:
    """Both matrices of the vectorised path (urgency rows, category rows) equal the Python path's."""
    return all(_exactly_equal(a, b) for a, b in zip(compiled.feature_rows(texts), compiled._python_features(texts)))


def test_vectorised_features_equal_python_features_exactly(shipped_model, test_texts):
    """The batched word block (one segmenter call) + numpy char block give the Python path's floats."""
    compiled = shipped_model.compiled_
    assert compiled.word_block is not None, "the shipped model should take the vectorised word path"
    odd = ["[强] 好的 [图片]", "你好\t世界", "喂 \u3000 喂", " 前导空格", "结尾空格 ", "a  b  c", "[@所有人] 开会"]
    texts = test_texts[:600] + odd + test_texts[600:700]
    assert len(texts) >= CompiledPredictor.VECTORISED_FROM
    assert _rows_equal(compiled, texts)
    plain = [t for t in test_texts if "[" not in t][:200]  # all in the single engine call
    assert _rows_equal(compiled, plain)


def test_vectorised_features_of_word_only_and_char_only_models(small_corpus, test_texts):
    train, cats, _ = zip(*small_corpus)
    texts = test_texts[:300]
    for kwargs in ({"char_ngram_range": (0, 0)}, {"word_ngram_range": (0, 0)}, {"word_ngram_range": (1, 1)}):
        for rows in ("floored", "l2"):  # (1, 1): the word block the Python way inside the vectorised path
            model = TriageClassifier(cv=2, calibration_cv=2, category_rows=rows, **kwargs).fit(list(train), y_category=list(cats))
            compiled = CompiledPredictor(model)
            assert compiled.category_l2 == (rows == "l2")
            assert _rows_equal(compiled, texts), (kwargs, rows)


def test_normalize_many_equals_normalize_on_the_corpus():
    from triage.normalize import normalize_many

    texts = [r["text"] for name in ("train.jsonl", "test.jsonl") for r in load_jsonl(corpus_dir() / name)]
    for max_chars in (2000, 12):
        assert normalize_many(texts, max_chars=max_chars) == [normalize(t, max_chars=max_chars) for t in texts]


_TRICKY = list("aAΣσς漢後丟臺 \t\n\r\x00\x85\u3000\u2005\u00a0@[]【】「」：:-!()/.0123456789\u0301\u0308\u200bİﬁ①Ⅻ喂") + [
    "\ud800", "\udc00", "语音", "图片", "所有人", "13812345678", "http://a.cn", "www.", "\n-----\n", "![图片](x)",
]


def test_normalize_many_equals_normalize_on_random_text():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    from triage.normalize import normalize_many

    text = st.one_of(st.text(max_size=30), st.lists(st.sampled_from(_TRICKY), max_size=25).map("".join))

    @hypothesis.settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @hypothesis.given(st.lists(text, max_size=8), st.sampled_from([2000, 5]))
    def check(texts, max_chars):
        assert normalize_many(texts, max_chars=max_chars) == [normalize(t, max_chars=max_chars) for t in texts]

    check()


# ------------------------------------------------------------- few-text path without scipy


@pytest.mark.parametrize("which", ["shipped", "tiny"])
def test_proba_lists_are_bitwise_the_batch_probabilities(which, shipped_model, tiny_category_model, test_texts):
    model = shipped_model if which == "shipped" else tiny_category_model
    compiled = CompiledPredictor(model)
    texts = test_texts[:400] + ["", "zzzz"]  # "" and an all-unknown text: no features at all
    cat, urg = compiled.predict_proba(texts)
    for i, text in enumerate(texts):
        c, u = compiled.proba_lists(text)
        assert (c is None) == (cat is None) and (u is None) == (urg is None)
        assert cat is None or c == cat[i].tolist(), text
        assert urg is None or u == urg[i].tolist(), text


@pytest.mark.parametrize("which", ["shipped", "tiny"])
def test_few_text_predictions_equal_batch_predictions_exactly(which, shipped_model, tiny_category_model, raw_texts):
    model = shipped_model if which == "shipped" else tiny_category_model
    texts = raw_texts[:210]
    batch = model.predict(texts)
    assert [model.predict(t) for t in texts[:70]] == batch[:70]
    for size in (2, 7):
        few = [p for i in range(0, len(texts), size) for p in model.predict(texts[i : i + size])]
        assert few == batch


def test_key_index_gives_what_searchsorted_gives():
    from triage.charngrams import KeyIndex

    rng = np.random.default_rng(0)
    for size in (0, 1, 7, 5000):
        keys = np.unique(rng.integers(0, 2**63, size=size, dtype=np.uint64))
        keys = np.unique(np.concatenate([keys, np.arange(50, dtype=np.uint64)]))  # clustered keys too
        probe = np.concatenate([keys, rng.integers(0, 2**63, size=3000, dtype=np.uint64), np.arange(100, dtype=np.uint64)])
        pos = np.searchsorted(keys, probe)
        pos[pos == keys.size] = 0
        want = np.where(keys[pos] == probe, pos, -1)
        assert np.array_equal(KeyIndex(keys).lookup(probe), want)


def test_char_block_with_key_index_equals_searchsorted(shipped_model, test_texts):
    from triage.tfidf import char_ngram_coo

    compiled = shipped_model.compiled_
    c = compiled.char_block
    got = char_ngram_coo(test_texts, c.vocabulary_keys, c.offsets, c.idf, c.ngram_range, c.norm_floor, compiled.char_index)
    want = char_ngram_coo(test_texts, c.vocabulary_keys, c.offsets, c.idf, c.ngram_range, c.norm_floor)
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    # and what the estimator computes
    block = dict(shipped_model.features_.transformer_list)["char"]
    assert all(np.array_equal(g, w) for g, w in zip(got, block.coo(test_texts)))


def test_character_ngrams_with_u0000_match_the_vectorised_path(shipped_model):
    """Packed keys collide only through U+0000: such a text takes the per-length look-ups."""
    compiled = CompiledPredictor(shipped_model)
    for text in ["\x00着火了", "a\x00b\x00c救命", "楼下\x00有人晕倒了\x00"]:
        cols, vals, _ = compiled._row(text)
        X = compiled.features([text] * compiled.VECTORISED_FROM)
        assert X[0].indices.tolist() == cols and X[0].data.tolist() == vals, repr(text)
        assert compiled._row(text)[:2] == (cols, vals)  # and again, with the rebuilt dicts
