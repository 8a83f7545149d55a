"""``triage.explain``: per-head word / character n-gram contributions, and ``triage explain``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from triage.api import default_model, default_model_dir
from triage.cli import main
from triage.exceptions import ModelError
from triage.explain import Contribution, Explanation, explain
from triage.model import TriageClassifier

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "救命！3号楼602着火了，快打119",
    "收到，谢谢警官",
    "请问新生儿落户需要什么材料",
    "我爸说有个自称检察院的人让他把存款转到安全账户，他已经在去银行的路上了",
    "樓下有人在偷電瓶車",
    "作业多到救命",
]
# A two-class station model: is this about fire or not?
FIRE = [
    "3号楼厨房着火了，快打119", "楼道里冒黑烟，电瓶车烧起来了", "家里起火了，门打不开", "车库有辆车在冒火",
    "隔壁阳台烧起来了", "着火了，12楼窗户往外冒烟", "配电箱起火了，整层楼都是烟", "车棚失火，电动车都烧着了",
    "后厨火很大，烟往楼上窜", "垃圾房着火了，旁边有煤气罐", "五楼着火，老人还没出来", "商铺起火了，火上屋顶了",
]
OTHER = [
    "楼上半夜拖椅子，吵得睡不着", "有辆车挡住我车库门了", "请问居住证怎么办", "收到，谢谢", "大家早上好",
    "钱包丢在公交车上了", "广场舞音响太大声了", "门口那辆车停了一个月", "明天停水检修", "今天天气真不错",
    "快递被人拿走了", "谢谢物业小王",
]


@pytest.fixture(scope="session")
def shipped():
    """The shipped model (loaded once per process by the API)."""
    return default_model()


@pytest.fixture(scope="module")
def binary_model():
    return TriageClassifier(cv=2).fit(FIRE + OTHER, y_category=["fire"] * len(FIRE) + ["other"] * len(OTHER))


def _independent_score(model, head, label: str, normalized: str) -> float:
    """The head's own log-odds of ``label``, computed without triage.explain."""
    M = model.features_.transform([normalized])
    if head is model.urgency_head_:  # the urgency head may read the category-gated matrix
        M = model.urgency_input(M, model.category_head_.predict_proba(M) if model.category_head_ is not None else None)
    if hasattr(head, "calibrated_classifiers_"):  # Platt-calibrated linear SVM
        (cc,) = head.calibrated_classifiers_
        classes = list(cc.estimator.classes_)
        d = np.atleast_2d(cc.estimator.decision_function(M))
        if len(classes) == 2:
            q = cc.calibrators[0].predict(d[:, 0])[0]
            q = q if label == classes[1] else 1 - q
        else:
            r = classes.index(label)
            q = cc.calibrators[r].predict(d[:, r])[0]
        return float(np.log(q / (1 - q)))
    proba = head.predict_proba(M)[0]  # multinomial logistic regression: centred logit
    logp = np.log(proba)
    return float(logp[list(head.classes_).index(label)] - logp.mean())


@pytest.mark.parametrize("text", TEXTS)
def test_labels_match_predict_and_contributions_are_exact(shipped, text):
    e = explain(text, model=shipped, top=5)
    p = shipped.predict(text)
    assert isinstance(e, Explanation) and e.flags == p.flags
    for h, head, label, scores in (
        (e.category, shipped.category_head_, p.category, p.category_scores),
        (e.urgency, shipped.urgency_head_, p.urgency, p.urgency_scores),
    ):
        assert h.label == label and h.probability == pytest.approx(scores[label], abs=1e-4)
        assert h.exact
        assert h.score == pytest.approx(_independent_score(shipped, head, label, e.normalized), abs=1e-3)


def test_contributions_sorted_and_typed(shipped):
    e = explain(TEXTS[0], model=shipped, top=4)
    for h in e.heads:
        assert 0 < len(h.features) <= 4 and len(h.against) <= 4
        values = [c.contribution for c in h.features]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)
        against = [c.contribution for c in h.against]
        assert against == sorted(against) and all(v < 0 for v in against)
        assert {c.kind for c in h.features + h.against} <= {"word", "char"}
        assert all(isinstance(c, Contribution) and isinstance(c.feature, str) for c in h.features)
        feature, kind, contribution = h.features[0]  # a plain (feature, kind, contribution) triple
        assert 0 < h.n_features


def test_emergency_words_push_emergency(shipped):
    e = explain("救命！3号楼602着火了", model=shipped)
    assert e.category.label == "emergency" and e.urgency.label == "critical"
    top_words = {c.feature for c in e.category.features if c.kind == "word"}
    assert top_words & {"着火", "救命", "着火 了"}
    assert any(c.kind == "char" and "火" in c.feature for c in e.category.features)


def test_traditional_text_is_explained_in_its_normalised_form(shipped):
    e = explain("樓下有人在偷電瓶車", model=shipped)
    assert e.normalized == "楼下有人在偷电瓶车"
    assert all("樓" not in c.feature for h in e.heads for c in h.features)


def test_binary_head_score_is_log_odds(binary_model):
    for text in ("楼下着火了，烟很大", "谢谢大家"):
        e = explain(text, model=binary_model, top=3)
        p = binary_model.predict(text)
        assert e.urgency is None and e.category.label == p.category
        q = p.category_scores[p.category]
        full = np.log(q / (1 - q))
        expected = full if e.category.score_kind != "centred_logit" else full / 2
        assert e.category.score == pytest.approx(expected, abs=1e-3)
    assert explain("楼下着火了，烟很大", model=binary_model).category.label == "fire"


def test_empty_text(shipped):
    e = explain("  \u200b ", model=shipped)
    assert e.category is None and e.urgency is None and "empty" in e.flags
    assert "nothing left" in str(e)
    assert json.loads(json.dumps(e.to_dict()))["category"] is None


def test_str_and_dict(shipped):
    e = explain(TEXTS[0], model=shipped, top=3)
    s = str(e)
    assert s.startswith("text: ") and "category: emergency" in s and "urgency: critical" in s
    assert "intercept" in s and "word" in s
    d = json.loads(json.dumps(e.to_dict(), ensure_ascii=False))
    assert d["category"]["label"] == "emergency"
    assert set(d["category"]["features"][0]) == {"feature", "kind", "contribution"}
    assert d["category"]["score_kind"] in {"platt_log_odds", "centred_logit", "decision_value"}


def test_model_argument_forms(shipped):
    by_path = explain(TEXTS[1], model=str(default_model_dir()), top=3)
    assert by_path.to_dict() == explain(TEXTS[1], model=shipped, top=3).to_dict()
    assert explain(TEXTS[1], top=3).to_dict() == by_path.to_dict()


def test_bad_input(shipped, tmp_path):
    with pytest.raises(TypeError, match="expected text to be a str, got list"):
        explain(["a"], model=shipped)
    with pytest.raises(ValueError, match="expected top to be a positive int, got 0"):
        explain("好的", model=shipped, top=0)
    with pytest.raises(ModelError, match="expected a model directory"):
        explain("好的", model=tmp_path / "missing")


def test_cli_text_and_json(capsys):
    assert main(["explain", "--top", "3", TEXTS[0], TEXTS[1]]) == 0
    out = capsys.readouterr().out
    assert out.count("text: ") == 2 and "category: emergency" in out and "category: chitchat" in out
    assert main(["explain", "--json", TEXTS[0]]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["urgency"]["label"] == "critical" and len(d["urgency"]["features"]) <= 10


def test_cli_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("收到\n\n钱包丢了\n"))
    assert main(["explain", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["text"] for x in lines] == ["收到", "钱包丢了"]


def test_cli_errors(tmp_path, capsys):
    assert main(["explain", "--model", str(tmp_path / "nope"), "好的"]) == 2
    assert "expected a model directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explain", "--top", "0", "好的"])
    assert "expected a positive integer" in capsys.readouterr().err


def test_import_stays_light():
    code = "import sys, triage, triage.explain, triage.evaluate; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
