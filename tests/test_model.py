"""Fitting, pickling and persistence of a freshly trained small model."""

from __future__ import annotations

import json
import pickle

import joblib
import pytest

from triage.exceptions import DatasetError, ModelError, ModelIntegrityError
from triage.model import TriageClassifier
from triage.persist import MANIFEST_FILE, MODEL_FILE, ModelVersionWarning, load_model, save_model

PROBE = ["救命 楼下着火了", "收到", "请问派出所几点上班", "钱包丢了"]


def test_init_only_stores_params():
    m = TriageClassifier(C=3.0, hmm=True)
    assert m.get_params()["C"] == 3.0 and m.get_params()["hmm"] is True
    assert not [k for k in vars(m) if k.endswith("_")]


def test_fit_learns_labels_and_thresholds(small_model, small_corpus):
    assert set(small_model.categories_) == {c for _, c, _ in small_corpus}
    assert small_model.urgencies_ == sorted({u for _, _, u in small_corpus})
    assert 0 < small_model.lexicon_threshold_ <= small_model.critical_threshold_ < 1


def test_pickle_round_trip(small_model):
    clone = pickle.loads(pickle.dumps(small_model))
    assert clone.predict(PROBE) == small_model.predict(PROBE)


def test_save_load_round_trip(small_model, tmp_path):
    save_model(small_model, tmp_path / "m", extra={"note": "test"})
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["note"] == "test" and manifest["labels"]["category"] == small_model.categories_
    assert {"scikit-learn", "jieba", "numpy", "triage"} <= set(manifest["versions"])
    loaded = load_model(tmp_path / "m")
    assert loaded.predict(PROBE) == small_model.predict(PROBE)


def test_tampered_model_file_is_refused(small_model, tmp_path):
    save_model(small_model, tmp_path)
    with open(tmp_path / MODEL_FILE, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
        load_model(tmp_path)


def test_swapped_model_file_is_refused(small_model, tmp_path):
    save_model(small_model, tmp_path)
    joblib.dump({"evil": "payload"}, tmp_path / MODEL_FILE)
    with pytest.raises(ModelIntegrityError, match="refusing to unpickle"):
        load_model(tmp_path)


def test_tampered_manifest_checksum_is_refused(small_model, tmp_path):
    save_model(small_model, tmp_path)
    path = tmp_path / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"][MODEL_FILE]["sha256"] = "0" * 64
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelIntegrityError):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda d: (d / MANIFEST_FILE).unlink(), "has no manifest.json"),
        (lambda d: (d / MANIFEST_FILE).write_text("{not json", encoding="utf-8"), "JSON manifest"),
        (lambda d: (d / MANIFEST_FILE).write_text('{"format_version": 99}', encoding="utf-8"), "format_version"),
        (lambda d: (d / MODEL_FILE).unlink(), "no model.joblib"),
    ],
)
def test_broken_model_directories_raise_model_error(small_model, tmp_path, mutate, match):
    save_model(small_model, tmp_path)
    mutate(tmp_path)
    with pytest.raises(ModelError, match=match):
        load_model(tmp_path)


def test_missing_directory_raises(tmp_path):
    with pytest.raises(ModelError, match="expected a model directory"):
        load_model(tmp_path / "nope")


def test_version_mismatch_warns(small_model, tmp_path):
    save_model(small_model, tmp_path)
    path = tmp_path / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["versions"]["scikit-learn"] = "0.1.0"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.warns(ModelVersionWarning, match="scikit-learn 0.1.0"):
        load_model(tmp_path)


def test_shipped_manifest_records_what_the_issue_asks(shipped_model):
    m = shipped_model.manifest_
    assert m["training_data"]["sha256"] and m["evaluation"]["scores"]["category"]["macro_f1"] > 0
    assert m["files"][MODEL_FILE]["sha256"] and m["thresholds"]["critical_threshold"]


@pytest.mark.parametrize(
    "X,yc,yu,match",
    [
        ([], None, None, "at least one training text"),
        (["a", "b"], None, None, "at least one head"),
        (["a", "b"], ["x"], None, "expected 2 category labels"),
        (["a", "b"], ["x", "x"], None, "at least 2 distinct"),
        (["a", "b"], ["x", None], None, "non-empty string"),
    ],
)
def test_fit_validates(X, yc, yu, match):
    with pytest.raises(DatasetError, match=match):
        TriageClassifier(cv=2).fit(X, yc, yu)


def test_single_head_models(small_corpus):
    texts = [t for t, _, _ in small_corpus]
    cats = [c for _, c, _ in small_corpus]
    urgs = [u for _, _, u in small_corpus]
    only_cat = TriageClassifier(cv=2).fit(texts, cats)
    p = only_cat.predict("钱包丢了")
    assert p.category and p.urgency is None and p.urgency_scores == {}
    only_urg = TriageClassifier(cv=2).fit(texts, None, urgs)
    p = only_urg.predict("救命 着火了")
    assert p.category is None and p.urgency in set(urgs)


def test_custom_label_set(small_corpus):
    texts = [t for t, _, _ in small_corpus]
    labels = ["急" if u == "critical" else "缓" for _, _, u in small_corpus]
    m = TriageClassifier(cv=2).fit(texts, labels)
    assert set(m.categories_) == {"急", "缓"} and m.critical_threshold_ is None
    assert m.predict("收到").category in {"急", "缓"}


def test_same_seed_same_model(small_corpus):
    texts = [t for t, _, _ in small_corpus]
    cats = [c for _, c, _ in small_corpus]
    a = TriageClassifier(cv=2, random_state=1).fit(texts, cats).predict(PROBE)
    b = TriageClassifier(cv=2, random_state=1).fit(texts, cats).predict(PROBE)
    assert a == b
