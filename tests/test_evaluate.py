"""``triage.evaluate``: metrics, calibration, the report with plots, and ``triage evaluate``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from triage.api import default_model
from triage.cli import main
from triage.evaluate import evaluate, format_confusion, format_summary, reliability, write_report
from triage.exceptions import DatasetError, ModelError
from triage.model import TriageClassifier
from triage.taxonomy import URGENCY_PRIORITY

# Hand-written labelled messages (taxonomy labels), written for these tests.
LABELLED = [
    ("2号楼车棚电瓶车着火了，火很大，快打119", "emergency", "critical"),
    ("快来人，菜场门口有个老人晕倒了", "emergency", "critical"),
    ("我女儿在小区花园不见了，穿黄色外套，五岁", "emergency", "critical"),
    ("我妈正在银行柜台给“公安局”的人转账，拦不住", "fraud", "critical"),
    ("刚才有人在地库挨个拉车门，往北门跑了", "crime", "high"),
    ("昨晚我家电瓶车在楼下被偷了", "crime", "normal"),
    ("有人打电话说我快递丢了要理赔，让我开屏幕共享，是骗子吗", "fraud", "normal"),
    ("6号楼外墙瓷砖掉下来一块，下面是人行道", "hazard", "high"),
    ("楼道里又有人飞线给电动车充电", "hazard", "normal"),
    ("南门出口早上堵得要命，能不能加个红绿灯", "traffic", "normal"),
    ("楼上每天晚上十一点还在跳绳，咚咚咚", "dispute", "normal"),
    ("在地铁上丢了一个蓝色书包", "lost_found", "normal"),
    ("请问办居住证需要带什么材料", "consultation", "normal"),
    ("【温馨提示】明天上午8点到12点停水，请提前储水", "notice", "low"),
    ("收到，谢谢民警同志", "chitchat", "low"),
    ("大家早上好", "chitchat", "low"),
    ("[强]", "chitchat", "low"),
    ("作业多到救命，孩子写到十一点", "chitchat", "low"),
]
# A station's own labels for a freshly trained model (category: 火情/其他; urgency: 急/不急).
STATION = [
    ("厨房着火了，快打119", "火情", "急"), ("楼道冒黑烟，电瓶车烧起来了", "火情", "急"),
    ("阳台起火了，有人在里面", "火情", "急"), ("车棚失火，好几辆车烧着了", "火情", "急"),
    ("垃圾房着火了", "火情", "急"), ("配电箱起火，整层楼都是烟", "火情", "急"),
    ("楼上半夜拖椅子，很吵", "其他", "不急"), ("请问居住证怎么办", "其他", "不急"),
    ("收到，谢谢", "其他", "不急"), ("有辆车挡住我车库门了", "其他", "不急"),
    ("钱包丢在公交车上了", "其他", "不急"), ("大家早上好", "其他", "不急"),
]


def _records(rows) -> list[dict]:
    return [{"text": t, "category": c, "urgency": u} for t, c, u in rows]


@pytest.fixture(scope="session")
def shipped():
    """The shipped model (loaded once per process by the API)."""
    return default_model()


@pytest.fixture(scope="module")
def result(shipped):
    return evaluate(shipped, _records(LABELLED), source="LABELLED")


def test_metrics_agree_with_predictions(shipped, result):
    preds = shipped.predict([t for t, _, _ in LABELLED])
    n = len(LABELLED)
    assert result["n"] == n and result["source"] == "LABELLED"
    for i, head in enumerate(("category", "urgency"), 1):
        h = result[head]
        truth = [row[i] for row in LABELLED]
        pred = [getattr(p, head) for p in preds]
        assert h["accuracy"] == pytest.approx(np.mean([a == b for a, b in zip(truth, pred)]), abs=1e-4)
        assert np.asarray(h["confusion"]).sum() == n
        assert np.trace(np.asarray(h["confusion"])) == sum(a == b for a, b in zip(truth, pred))
        assert {k: v["support"] for k, v in h["per_class"].items() if v["support"]} == {
            label: truth.count(label) for label in set(truth)
        }
        assert sum(b["count"] for b in h["calibration"]["bins"]) == n
        assert 0 <= h["calibration"]["ece"] <= 1 and 0 <= h["calibration"]["brier"] <= 2
    assert result["category"]["labels"][0] == "emergency"  # taxonomy order
    assert result["urgency"]["labels"] == ["critical", "high", "normal", "low"]  # ordinal order


def test_urgency_figures(shipped, result):
    preds = [p.urgency for p in shipped.predict([t for t, _, _ in LABELLED])]
    truth = [u for _, _, u in LABELLED]
    u = result["urgency"]
    tp = sum(t == p == "critical" for t, p in zip(truth, preds))
    assert u["critical_support"] == 4 and u["missed_critical"] == 4 - tp
    assert u["critical_recall"] == pytest.approx(tp / 4, abs=1e-4)
    mse = np.mean([(URGENCY_PRIORITY[t] - URGENCY_PRIORITY[p]) ** 2 for t, p in zip(truth, preds)])
    assert u["priority_mse"] == pytest.approx(mse, abs=1e-5)
    assert sum(b["count"] for b in u["critical_calibration"]["bins"]) == len(LABELLED)
    assert len(u["false_critical_examples"]) == sum(p == "critical" and t != "critical" for t, p in zip(truth, preds))


def test_reliability_known_values():
    r = reliability([0.9, 0.9, 0.15, 0.15, 1.0], [True, False, False, False, True], n_bins=10)
    assert [(b["lo"], b["count"]) for b in r["bins"]] == [(0.1, 2), (0.9, 3)]
    # gaps: 0.15 (2 messages) and |2/3 - 0.9333| = 0.2667 (3 messages)
    assert r["ece"] == pytest.approx((2 * 0.15 + 3 * (0.9333 - 2 / 3)) / 5, abs=1e-3)
    assert r["mce"] == pytest.approx(0.2667, abs=1e-3)
    with pytest.raises(ValueError, match="same length"):
        reliability([0.5], [True, False])


def test_format_confusion():
    text = format_confusion(["critical", "low"], [[3, 1], [0, 12]])
    lines = text.splitlines()
    assert lines[0].split() == ["true", "\\", "pred", "critic", "low", "total"]
    assert lines[1].split() == ["critical", "3", "1", "4"] and lines[2].split() == ["low", "0", "12", "12"]


def test_write_report(result, tmp_path):
    report = write_report(result, tmp_path / "eval")
    assert report == tmp_path / "eval" / "report.md"
    for name in ("confusion_category.png", "confusion_urgency.png", "reliability.png"):
        assert (tmp_path / "eval" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = report.read_text(encoding="utf-8")
    assert md.startswith("# triage evaluation report")
    assert "critical recall" in md and "priority MSE" in md and "ECE" in md
    assert md.count("```") == 4  # two text confusion matrices
    assert "true \\ pred" in md and "](confusion_category.png)" in md and "](reliability.png)" in md
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text(encoding="utf-8"))["n"] == len(LABELLED)
    assert "18 records from LABELLED" in format_summary(result)


def test_one_head_and_unknown_labels(shipped, tmp_path):
    records = [{"text": t, "category": c, "urgency": None} for t, c, _ in LABELLED]
    records.append({"text": "小区里新开了一家奶茶店", "category": "shop_news", "urgency": None})
    r = evaluate(shipped, records)
    assert "urgency" not in r and r["category"]["unknown_labels"] == ["shop_news"]
    assert r["category"]["per_class"]["shop_news"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    write_report(r, tmp_path)
    assert (tmp_path / "confusion_category.png").is_file() and not (tmp_path / "confusion_urgency.png").exists()


def test_custom_label_model():
    texts, cats, urgs = zip(*STATION)
    model = TriageClassifier(cv=2).fit(list(texts), list(cats), list(urgs))
    r = evaluate(model, _records(STATION))
    assert r["category"]["labels"] == ["其他", "火情"] and r["urgency"]["labels"] == ["不急", "急"]
    assert r["urgency"]["critical_support"] == 0 and "priority_mse" not in r["urgency"]
    assert "critical_calibration" not in r["urgency"]


def test_bad_input(shipped):
    with pytest.raises(DatasetError, match="at least one labelled record"):
        evaluate(shipped, [])
    with pytest.raises(DatasetError, match="record 1: expected a str 'text'"):
        evaluate(shipped, [{"text": "好的", "category": "chitchat"}, {"text": None, "category": "chitchat"}])
    with pytest.raises(DatasetError, match="labelled for a head of the model"):
        evaluate(shipped, [{"text": "好的"}])
    with pytest.raises(ValueError, match="dict returned by evaluate"):
        write_report({"n": 1}, "unused")


def _csv(path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["内容", "类别", "紧急程度"])
        w.writerows(LABELLED)
    return path


def test_cli_csv_with_report(tmp_path, capsys):
    data = _csv(tmp_path / "mine.csv")
    rc = main(["evaluate", "default", str(data), "-o", str(tmp_path / "out"),
               "--text-col", "内容", "--category-col", "类别", "--urgency-col", "紧急程度"])
    captured = capsys.readouterr()
    assert rc == 0 and "category: accuracy" in captured.out and "critical recall" in captured.out
    assert "wrote" in captured.err and (tmp_path / "out" / "report.md").is_file()


def test_cli_shipped_test_split_json(capsys):
    assert main(["evaluate", "default", "test", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] > 500 and r["urgency"]["critical_support"] > 50
    assert r["category"]["accuracy"] > 0.7  # a loose floor: the shipped model is retrained from time to time


def test_cli_errors(tmp_path, capsys):
    data = _csv(tmp_path / "mine.csv")
    assert main(["evaluate", "default", str(data)]) == 2  # the default column names are absent
    assert "expected a text column 'text'" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope"), str(data), "--text-col", "内容"]) == 2
    assert "expected a model directory" in capsys.readouterr().err
    with pytest.raises(ModelError, match="expected a model directory"):
        evaluate(tmp_path / "nope", _records(LABELLED))
