"""The urgency head sees the category: ``category_gated`` and a gated model end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from triage.compiled import CompiledPredictor
from triage.features import category_gated, most_frequent_columns
from triage.model import TriageClassifier
from triage.normalize import normalize
from triage.persist import load_compiled, save_model

M = sp.csr_matrix(
    np.array(
        [
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 3.0, 1.0, 0.0],
            [0.0, 0.0, 4.0, 5.0],
        ]
    )
)
GATES = np.array([[0.9, 0.1], [0.5, 0.5], [0.0, 1.0]])


def test_most_frequent_columns_picks_by_document_frequency_and_breaks_ties_low():
    assert most_frequent_columns(M, 1).tolist() == [2]  # in all three rows
    assert most_frequent_columns(M, 2).tolist() == [0, 2]  # 0, 1 and 3 tie at one row: 0 wins
    assert most_frequent_columns(M, 10).tolist() == [0, 1, 2, 3]


def test_category_gated_lays_out_one_weighted_copy_per_category():
    columns = np.array([1, 2])
    G = category_gated(M, GATES, columns).toarray()
    assert G.shape == (3, 4 + 2 * 2)
    np.testing.assert_array_equal(G[:, :4], M.toarray())
    np.testing.assert_allclose(G[:, 4:6], M.toarray()[:, columns] * GATES[:, [0]])
    np.testing.assert_allclose(G[:, 6:8], M.toarray()[:, columns] * GATES[:, [1]])


def test_category_gated_rejects_a_gate_row_count_mismatch():
    with pytest.raises(ValueError, match=r"one row of gates per message \(3\), got 2"):
        category_gated(M, GATES[:2], np.array([0]))


# The same alarm word, urgent in an emergency and harmless in chatter.
GATED_CORPUS = [
    ("楼道里着火了，浓烟很大，快打119", "emergency", "critical"),
    ("厨房着火了，我妈还在里面", "emergency", "critical"),
    ("车库一辆车着火了，火越来越大", "emergency", "critical"),
    ("三楼窗户冒火，有人在喊救命", "emergency", "critical"),
    ("着火了，快来人，老人困在屋里", "emergency", "critical"),
    ("电瓶车着火了，火窜到二楼了", "emergency", "critical"),
    ("昨天那个着火的视频你们看了吗，笑死", "chitchat", "low"),
    ("我家猫看到烤箱着火了那个表情哈哈", "chitchat", "low"),
    ("电视剧里又着火了，编剧真能编", "chitchat", "low"),
    ("小时候玩火柴差点着火，被我爸打了一顿", "chitchat", "low"),
    ("游戏里基地着火了，队友全跑了", "chitchat", "low"),
    ("梦见家里着火了，醒来一身汗", "chitchat", "low"),
    ("请问居住证续签要带什么", "consultation", "normal"),
    ("请问电动车上牌在哪里办", "consultation", "normal"),
    ("请问社区医院周末开门吗", "consultation", "normal"),
    ("请问老年卡怎么办理", "consultation", "normal"),
    ("请问门禁卡丢了去哪补", "consultation", "normal"),
    ("请问垃圾分类几点开始", "consultation", "normal"),
]


@pytest.fixture(scope="module")
def gated_model():
    texts, cats, urgs = zip(*GATED_CORPUS)
    return TriageClassifier(cv=2, calibration_cv=2, gated_features=50).fit(list(texts), list(cats), list(urgs))


def test_gated_fit_learns_one_weight_per_feature_and_category(gated_model):
    n_features = gated_model.n_features_
    assert gated_model.gate_columns_.size == 50
    svm = gated_model.urgency_head_.calibrated_classifiers_[0].estimator
    assert svm.coef_.shape[1] == n_features + len(gated_model.categories_) * 50


def test_ungated_fit_keeps_one_weight_per_feature():
    texts, cats, urgs = zip(*GATED_CORPUS)
    model = TriageClassifier(cv=2, calibration_cv=2, category_gating=False).fit(list(texts), list(cats), list(urgs))
    assert model.gate_columns_ is None
    svm = model.urgency_head_.calibrated_classifiers_[0].estimator
    assert svm.coef_.shape[1] == model.n_features_
    assert CompiledPredictor(model).heads["urgency"].gate_columns is None


@pytest.mark.parametrize("gated_features", [0, -3, 2.5, True])
def test_gated_features_is_validated_in_fit(gated_features):
    texts, cats, urgs = zip(*GATED_CORPUS)
    with pytest.raises(ValueError, match="gated_features to be a positive int"):
        TriageClassifier(cv=2, gated_features=gated_features).fit(list(texts), list(cats), list(urgs))


def test_compiled_gated_head_matches_sklearn_in_both_paths(gated_model):
    texts = [normalize(t) for t, _, _ in GATED_CORPUS] + ["完全没见过的一句话", "着火", "请问"]
    want_cat, want_urg = gated_model.reference_proba(texts)
    compiled = CompiledPredictor(gated_model)
    got_cat, got_urg = compiled.predict_proba(texts)
    np.testing.assert_allclose(got_cat, want_cat, atol=1e-6, rtol=0)
    np.testing.assert_allclose(got_urg, want_urg, atol=1e-6, rtol=0)
    for i, text in enumerate(texts):  # one message at a time: bitwise the batch's numbers
        cat, urg = compiled.proba_lists(text)
        assert cat == got_cat[i].tolist() and urg == got_urg[i].tolist(), text


def test_gated_model_round_trips_through_the_arrays(gated_model, tmp_path):
    save_model(gated_model, tmp_path / "m")
    light = load_compiled(tmp_path / "m")
    texts = [t for t, _, _ in GATED_CORPUS] + ["完全没见过的一句话", ""]
    assert light.predict(texts) == gated_model.predict(texts)
    head = light.compiled_.heads["urgency"]
    np.testing.assert_array_equal(head.gate_columns, gated_model.gate_columns_)


def test_format_1_arrays_without_gating_still_load(small_corpus):
    texts, cats, urgs = zip(*small_corpus)
    model = TriageClassifier(cv=2, category_gating=False, category_rows="floored").fit(list(texts), list(cats), list(urgs))
    compiled = CompiledPredictor(model)
    arrays = compiled.to_arrays()
    assert not any("gate" in key for key in arrays)
    meta = json.loads(str(arrays["meta"][()]))
    assert meta["format"] == 2 and "category_rows" not in meta  # floored rows: written as format 2
    meta["format"] = 1
    arrays["meta"] = np.asarray(json.dumps(meta))
    again = CompiledPredictor.from_arrays(arrays, model.segmenter_)
    norm = [normalize(t) for t in texts]
    for got, want in zip(again.predict_proba(norm), compiled.predict_proba(norm)):
        np.testing.assert_array_equal(got, want)


def test_gated_model_reads_the_alarm_word_by_its_category(gated_model):
    """Unseen texts sharing the alarm word: critical in an emergency, low in chatter."""
    fire, joke = gated_model.predict(["隔壁着火了，火很大，快来人", "昨天梦见着火了，笑死"])
    assert fire.category == "emergency" and fire.urgency == "critical"
    assert joke.category == "chitchat" and joke.urgency == "low"


def test_gated_weights_of_the_wrong_shape_are_refused(gated_model):
    arrays = CompiledPredictor(gated_model).to_arrays()
    arrays["urgency_gated_t"] = arrays["urgency_gated_t"][:, :-1]  # one decision column short
    with pytest.raises(ValueError, match=r"expected gated weights of shape \(50, K \* 3\), got \(50, 8\)"):
        CompiledPredictor.from_arrays(arrays, gated_model.segmenter_)
