"""``compiled.npz``: predictions without scikit-learn or pickle, equal to the estimator's."""

from __future__ import annotations

import io
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from triage import api
from triage.datasets import corpus_dir, load_jsonl
from triage.exceptions import ModelError, ModelIntegrityError
from triage.persist import COMPILED_FILE, MANIFEST_FILE, file_sha256, load_compiled, load_model, save_model
from triage.prediction import CompiledModel

from conftest import REPO


@pytest.fixture(scope="module")
def compiled_model() -> CompiledModel:
    return load_compiled(api.default_model_dir())


@pytest.fixture(scope="module")
def raw_texts() -> list[str]:
    return [r["text"] for r in load_jsonl(corpus_dir() / "test.jsonl")]


def test_shipped_arrays_predict_exactly_what_the_estimator_predicts(compiled_model, shipped_model, raw_texts):
    texts = [*raw_texts, "", "   ", "救命！！", "x" * 5000]
    assert compiled_model.predict(texts) == shipped_model.predict(texts)
    for text in texts[:60]:  # the one-message path too
        assert compiled_model.predict(text) == shipped_model.predict(text)


def test_small_model_round_trip(small_model, small_corpus, tmp_path):
    save_model(small_model, tmp_path / "m")
    light = load_compiled(tmp_path / "m")
    texts = [t for t, _, _ in small_corpus] + ["完全没见过的一句话", ""]
    assert light.predict(texts) == small_model.predict(texts)
    assert light.categories_ == small_model.categories_ and light.urgencies_ == small_model.urgencies_


def test_custom_userdict_travels_with_the_arrays(small_corpus, tmp_path):
    from triage.model import TriageClassifier

    texts, cats, urgs = zip(*small_corpus)
    model = TriageClassifier(cv=2, userdict="飞线充电 5 n\n").fit(list(texts), list(cats), list(urgs))
    save_model(model, tmp_path / "m")
    light = load_compiled(tmp_path / "m")
    assert light.compiled_.segmenter.cut("楼道里飞线充电") == model.segmenter_.cut("楼道里飞线充电")
    assert light.predict(list(texts)) == model.predict(list(texts))


def test_predict_imports_neither_sklearn_nor_joblib():
    code = (
        "import sys, triage\n"
        "p = triage.predict('救命！3号楼602着火了')\n"
        "assert p.urgency == 'critical', p\n"
        "print(sorted(m for m in ('sklearn', 'joblib') if m in sys.modules))\n"
        "print(type(triage.api.default_predictor()).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["[]", "CompiledModel"]


def test_the_estimator_is_still_one_attribute_away():
    code = "import triage\nprint(triage.TriageClassifier.__name__, triage.classify_log.__name__)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["TriageClassifier", "classify_log"]


@pytest.fixture
def copy(tmp_path) -> pathlib.Path:
    return pathlib.Path(shutil.copytree(api.default_model_dir(), tmp_path / "model"))


def test_flipped_byte_in_the_arrays_is_refused(copy):
    data = bytearray((copy / COMPILED_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / COMPILED_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match the manifest.*refusing to load"):
        load_compiled(copy)


def test_object_arrays_are_never_unpickled(copy, tmp_path):
    """A file that needs pickle is refused even when its checksum is recorded."""
    marker = tmp_path / "pwned"
    evil = np.array([pathlib.Path.touch, marker], dtype=object)  # an object array needs pickle
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.asarray("{}"), evil=evil)
    (copy / COMPILED_FILE).write_bytes(buffer.getvalue())
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["files"][COMPILED_FILE]["sha256"] = file_sha256(copy / COMPILED_FILE)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match="prediction arrays"):
        load_compiled(copy)
    assert not marker.exists()


def test_a_model_without_arrays_needs_the_estimator(copy, monkeypatch):
    (copy / COMPILED_FILE).unlink()
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["files"][COMPILED_FILE]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match="has no compiled.npz .*use load_model"):
        load_compiled(copy)
    # triage.predict falls back to the estimator for such a directory
    monkeypatch.setattr(api, "_DEFAULT", None)
    monkeypatch.setattr(api, "_PREDICTOR", None)
    monkeypatch.setattr(api, "_NO_COMPILED", False)
    monkeypatch.setattr(api, "default_model_dir", lambda: copy)
    assert api.predict("收到").category == "chitchat"
    assert type(api.default_predictor()).__name__ == "TriageClassifier"
    assert load_model(copy).predict("收到") == api.predict("收到")


def test_damaged_shipped_arrays_raise_rather_than_fall_back(copy, monkeypatch):
    (copy / COMPILED_FILE).write_bytes(b"not an npz")
    monkeypatch.setattr(api, "_DEFAULT", None)
    monkeypatch.setattr(api, "_PREDICTOR", None)
    monkeypatch.setattr(api, "_NO_COMPILED", False)
    monkeypatch.setattr(api, "default_model_dir", lambda: copy)
    with pytest.raises(ModelIntegrityError):
        api.predict("收到")


def test_a_model_without_any_user_dictionary_keeps_it_that_way(small_corpus, tmp_path):
    """userdict="" (no dictionary) is not the shipped dictionary (userdict=None)."""
    from triage.model import TriageClassifier
    from triage.persist import read_manifest

    texts, cats, urgs = zip(*small_corpus)
    model = TriageClassifier(cv=2, userdict="").fit(list(texts), list(cats), list(urgs))
    save_model(model, tmp_path / "m")
    light = load_compiled(tmp_path / "m")
    probe = "楼道里飞线充电 嘉定新城站 反诈中心"
    assert light.compiled_.segmenter.cut(probe) == model.segmenter_.cut(probe)
    assert light.predict(list(texts)) == model.predict(list(texts))
    assert read_manifest(tmp_path / "m")["userdict_sha256"] != "shipped"
