"""``triage train DATA -o MODELDIR`` on a station's own labelled file (issue 9).

A custom label set, one head only, a user dictionary, reproducibility with a seed, and a
result that loads with :func:`triage.load` and works with the other commands. The models
are trained on the 60 hand-written messages below (four custom categories), in about a
second each.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

import triage
from triage.cli import main
from triage.exceptions import DatasetError, ModelError
from triage.explain import explain
from triage.persist import MANIFEST_FILE, MODEL_FILE, file_sha256
from triage.segment import Segmenter
from triage.train import read_labelled

# (text, category, urgency): a station's own label set — 火情 / 噪音 / 停车 / 闲聊.
STATION_CORPUS = [
    ("3号楼厨房着火了，快打119", "火情", "critical"),
    ("楼道里冒黑烟，好像是电瓶车烧起来了", "火情", "critical"),
    ("救命，家里起火了，门打不开", "火情", "critical"),
    ("地下车库有辆车在冒火，火越来越大", "火情", "critical"),
    ("隔壁阳台烧起来了，有人在里面", "火情", "critical"),
    ("着火了着火了，12楼窗户往外冒烟", "火情", "critical"),
    ("配电箱爆炸起火了，整层楼都是烟", "火情", "critical"),
    ("车棚失火，好几辆电动车都烧着了", "火情", "critical"),
    ("楼下饭店后厨火很大，烟往楼上窜", "火情", "critical"),
    ("快来人，垃圾房着火了，旁边就是煤气罐", "火情", "critical"),
    ("五楼有人家里着火，老人还没出来", "火情", "critical"),
    ("电梯井里冒烟了，闻到很重的焦味", "火情", "critical"),
    ("小区东门那排商铺起火了，火已经上屋顶", "火情", "critical"),
    ("我家油锅着火了，灭不掉，怎么办", "火情", "critical"),
    ("对面楼顶烧起来了，火苗一米多高", "火情", "critical"),
    ("楼上半夜还在拖椅子，吵得睡不着", "噪音", "normal"),
    ("隔壁装修电钻一直响，周末也不停", "噪音", "normal"),
    ("广场舞音响太大声了，能不能调小点", "噪音", "normal"),
    ("楼下KTV每天唱到凌晨两点", "噪音", "normal"),
    ("对门家的狗从早叫到晚", "噪音", "normal"),
    ("工地晚上十一点还在施工，噪音很大", "噪音", "normal"),
    ("楼上小孩天天在屋里跑跳，咚咚响", "噪音", "normal"),
    ("有人在楼道里大声打电话，吵了一个小时", "噪音", "normal"),
    ("早上六点就有人在楼下按喇叭", "噪音", "normal"),
    ("隔壁邻居天天吵架，声音特别大", "噪音", "normal"),
    ("小区里有人放鞭炮，吓到孩子了", "噪音", "normal"),
    ("空调外机噪音太大，嗡嗡响一晚上", "噪音", "normal"),
    ("楼下烧烤店半夜还在喧哗", "噪音", "normal"),
    ("装修公司中午也在砸墙，休息不了", "噪音", "normal"),
    ("凌晨有人在楼下唱歌喝酒", "噪音", "normal"),
    ("有辆白车挡住我车库门了，麻烦挪一下", "停车", "normal"),
    ("小区里乱停车太多，能不能管管", "停车", "normal"),
    ("外来车辆占了我的固定车位", "停车", "normal"),
    ("门口那辆车停了一个月没动过", "停车", "normal"),
    ("地库里有人把车停在通道上", "停车", "normal"),
    ("访客车位总是被业主占着", "停车", "normal"),
    ("晚上回来根本找不到地方停车", "停车", "normal"),
    ("电动车停在楼道口，进出不方便", "停车", "normal"),
    ("有人把车停在人行道上，推婴儿车过不去", "停车", "normal"),
    ("请问小区月租车位怎么申请", "停车", "normal"),
    ("消防通道被三辆车堵死了，消防车进不来", "停车", "high"),
    ("救护车被门口违停的车挡住了，开不进来", "停车", "high"),
    ("有辆车停在学校门口斑马线上，孩子们只能绕到马路上走", "停车", "high"),
    ("货车停在弯道上挡住视线，刚才差点撞到人", "停车", "high"),
    ("东门出口被一辆车堵住了，几十辆车出不去", "停车", "high"),
    ("收到，谢谢", "闲聊", "low"),
    ("好的", "闲聊", "low"),
    ("大家早上好", "闲聊", "low"),
    ("今天天气真不错", "闲聊", "low"),
    ("[强][强]", "闲聊", "low"),
    ("哈哈哈", "闲聊", "low"),
    ("辛苦了", "闲聊", "low"),
    ("晚安", "闲聊", "low"),
    ("谢谢物业小王", "闲聊", "low"),
    ("周末有人一起爬山吗", "闲聊", "low"),
    ("楼下新开的面包店挺好吃", "闲聊", "low"),
    ("明天见", "闲聊", "low"),
    ("[图片]", "闲聊", "low"),
    ("祝大家新年快乐", "闲聊", "low"),
    ("我也觉得", "闲聊", "low"),
]
STATION_LABELS = ["停车", "噪音", "火情", "闲聊"]
PROBES = ["楼下着火了，烟很大", "楼上又在砸墙，吵死了", "谁的车挡住消防通道了", "好的谢谢", "", "[图片]"]
USERDICT_WORD = "拖椅子"


def _write_csv(path: Path, rows, header=("内容", "类别", "紧急程度")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_jsonl(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for text, cat, urg in rows:
            fh.write(json.dumps({"text": text, "label": cat, "priority": urg}, ensure_ascii=False) + "\n")
    return path


def _train(tmp: Path, name: str, *extra: str, data: Path | None = None) -> tuple[int, Path]:
    data = data or _write_csv(tmp / f"{name}.csv", STATION_CORPUS)
    out = tmp / name
    columns = ["--text-col", "内容", "--category-col", "类别", "--urgency-col", "紧急程度"] if data.suffix == ".csv" else []
    # The columns go first so that an --urgency-col / --category-col in ``extra`` overrides them.
    return main(["train", str(data), "-o", str(out), "--folds", "2", *columns, *extra]), out


def _prediction_digest(model) -> str:
    payload = json.dumps([p.to_dict() for p in model.predict(PROBES)], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def station(tmp_path_factory) -> tuple[Path, str]:
    """A model directory trained by the CLI on the custom label set (both heads, seed 7), and what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        rc, out = _train(tmp_path_factory.mktemp("station"), "model", "--seed", "7")
    assert rc == 0
    return out, buffer.getvalue()


@pytest.fixture(scope="module")
def station_dir(station) -> Path:
    return station[0]


def test_custom_labels_train_prints_cv_and_loads(station):
    out, printed = station
    assert "2-fold cross-validation (60 records)" in printed
    assert "category: accuracy" in printed and "urgency: accuracy" in printed
    assert "critical recall" in printed and "wrote" in printed
    for label in STATION_LABELS:
        assert f"  {label}" in printed  # per-class lines of the custom categories

    model = triage.load(out)
    assert model.categories_ == STATION_LABELS
    assert model.urgencies_ == ["critical", "high", "low", "normal"]
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["labels"]["category"] == STATION_LABELS
    assert manifest["training_data"]["records"] == 60
    assert manifest["evaluation"]["split"] == "2-fold cross-validation"
    assert manifest["params"]["random_state"] == 7


def test_custom_model_predicts_custom_labels(station_dir):
    model = triage.load(station_dir)
    preds = model.predict(PROBES)
    assert len(preds) == len(PROBES)
    assert all(p.category in STATION_LABELS for p in preds)
    assert all(abs(sum(p.category_scores.values()) - 1) < 1e-6 for p in preds)
    assert preds[0].category == "火情" and preds[0].urgency == "critical"
    assert preds[3].category == "闲聊" and preds[3].urgency == "low"
    # An empty text gets the "empty" flag and a label of the custom set (taxonomy-free models have
    # no "chitchat"/"low" to fall back to).
    assert "empty" in preds[4].flags and preds[4].category in STATION_LABELS and preds[4].urgency == "low"


def test_custom_model_works_with_every_command(station_dir, tmp_path, capsys):
    capsys.readouterr()
    assert main(["predict", "--model", str(station_dir), "--json", "楼下着火了，烟很大"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["category"] == "火情" and out["urgency"] == "critical"

    assert main(["explain", "--model", str(station_dir), "--json", "--top", "3", "楼下着火了，烟很大"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["category"]["label"] == "火情" and len(e["category"]["features"]) <= 3

    data = _write_csv(tmp_path / "held_out.csv", STATION_CORPUS[::3])
    assert main(["evaluate", str(station_dir), str(data), "-o", str(tmp_path / "eval"),
                 "--text-col", "内容", "--category-col", "类别", "--urgency-col", "紧急程度"]) == 0
    assert "category: accuracy" in capsys.readouterr().out
    assert (tmp_path / "eval" / "report.md").is_file()

    log = tmp_path / "chat.csv"
    _write_csv(log, [("2024-05-01 08:00:00", "张三", "楼下着火了，烟很大"), ("2024-05-01 08:01:00", "李四", "收到")],
               header=("time", "sender", "text"))
    rc = main(["classify", str(log), "-o", str(tmp_path / "out.jsonl"), "--model", str(station_dir), "-q"])
    assert rc == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["category"] for r in rows] == ["火情", "闲聊"]


def test_same_seed_same_model_and_predictions(tmp_path, station_dir):
    rc, again = _train(tmp_path, "again", "--seed", "7")
    assert rc == 0
    assert file_sha256(again / MODEL_FILE) == file_sha256(station_dir / MODEL_FILE)
    assert _prediction_digest(triage.load(again)) == _prediction_digest(triage.load(station_dir))


def test_category_only_model(tmp_path, capsys):
    rc, out = _train(tmp_path, "cat_only", "--urgency-col", "")
    printed = capsys.readouterr().out
    assert rc == 0 and "urgency:" not in printed
    model = triage.load(out)
    assert model.urgency_head_ is None and model.urgencies_ == []
    p = model.predict("楼下着火了，烟很大")
    assert p.category == "火情" and p.urgency is None and p.urgency_scores == {}
    assert explain("楼下着火了", model=model).urgency is None


def test_urgency_only_model_from_jsonl_with_custom_urgencies(tmp_path):
    rows = [(t, c, "急" if u in ("critical", "high") else "不急") for t, c, u in STATION_CORPUS]
    data = _write_jsonl(tmp_path / "mine.jsonl", rows)
    rc, out = _train(tmp_path, "urg_only", "--category-col", "", "--urgency-col", "priority", data=data)
    assert rc == 0
    model = triage.load(out)
    assert model.category_head_ is None and model.urgencies_ == ["不急", "急"]
    assert model.critical_threshold_ is None  # no "critical" label: plain argmax
    p = model.predict("楼下着火了，烟很大")
    assert p.category is None and p.urgency == "急"


def test_userdict_is_used_and_recorded(tmp_path):
    userdict = tmp_path / "dict.txt"
    userdict.write_text(f"# station words\n{USERDICT_WORD} 1000 n\n", encoding="utf-8")
    rc, out = _train(tmp_path, "with_dict", "--userdict", str(userdict))
    assert rc == 0
    model = triage.load(out)
    assert USERDICT_WORD in model.segmenter_.cut("楼上半夜还在拖椅子")
    word_block = dict(model.features_.transformer_list)["word"]
    assert USERDICT_WORD in word_block.build_analyzer()("楼上半夜还在拖椅子")
    assert USERDICT_WORD not in Segmenter(engine=model.segmenter_.engine).cut("楼上半夜还在拖椅子")  # shipped dict
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["userdict_sha256"] != "shipped"


def test_missing_column_is_reported(tmp_path, capsys):
    data = _write_csv(tmp_path / "bad.csv", STATION_CORPUS)
    with pytest.raises(DatasetError, match="expected a text column 'text'"):
        read_labelled(data)
    with pytest.raises(DatasetError, match="category column 'kind'"):
        read_labelled(data, text_col="内容", category_col="kind", urgency_col="level")
    rc = main(["train", str(data), "-o", str(tmp_path / "m"), "--text-col", "message"])
    assert rc == 2
    assert "expected a text column 'message'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_empty_label_and_single_class_are_rejected(tmp_path):
    rows = [*STATION_CORPUS[:5], ("又有人乱停车", "", "normal")]
    with pytest.raises(DatasetError, match=r"row 7: expected a label in '类别'"):
        read_labelled(_write_csv(tmp_path / "gap.csv", rows), text_col="内容", category_col="类别", urgency_col="紧急程度")
    one_class = _write_csv(tmp_path / "one.csv", STATION_CORPUS[:15])
    with pytest.raises(DatasetError, match="at least 2 distinct category labels"):
        triage.TriageClassifier(cv=2).fit(
            [r["text"] for r in read_labelled(one_class, text_col="内容", category_col="类别", urgency_col=None)],
            ["火情"] * 15,
        )


def test_output_dir_required_with_data(tmp_path):
    data = _write_csv(tmp_path / "d.csv", STATION_CORPUS)
    with pytest.raises(SystemExit, match="-o MODELDIR"):
        main(["train", str(data), "--text-col", "内容"])


def test_unknown_model_dir(tmp_path, capsys):
    with pytest.raises(ModelError, match="expected a model directory"):
        triage.load(tmp_path / "no_such_model")
    assert main(["predict", "--model", str(tmp_path / "no_such_model"), "好的"]) == 2
    assert "expected a model directory" in capsys.readouterr().err
