"""The public contract of triage.predict / triage.load / Prediction."""

from __future__ import annotations

import json
import math

import pytest

import triage
from triage.taxonomy import CATEGORIES, URGENCIES

MESSAGES = ["收到", "救命！3号楼602着火了", "请问居住证怎么办", "", "   ", "[图片]", "楼上装修太吵了"]


def test_str_gives_one_prediction():
    p = triage.predict("救命！3号楼602着火了")
    assert isinstance(p, triage.Prediction)
    assert (p.category, p.urgency) == ("emergency", "critical")


def test_list_gives_list_same_order_and_length():
    ps = triage.predict(MESSAGES)
    assert isinstance(ps, list) and len(ps) == len(MESSAGES)
    assert [p.text for p in ps] == MESSAGES
    assert ps == [triage.predict(m) for m in MESSAGES]


def test_results_do_not_depend_on_batch_size(shipped_model):
    from triage.datasets import load_corpus

    texts = [r["text"] for r in load_corpus("test")[:150]]  # > 64: the vectorised path
    batch = shipped_model.predict(texts)
    assert batch[:20] == [shipped_model.predict(t) for t in texts[:20]]
    assert batch[:100] == shipped_model.predict(texts[:100])


def test_empty_list_and_tuple_and_generator():
    assert triage.predict([]) == []
    assert len(triage.predict(tuple(MESSAGES))) == len(MESSAGES)
    assert len(triage.predict(m for m in MESSAGES)) == len(MESSAGES)


def test_pandas_series_iterates_values_not_index():
    pd = pytest.importorskip("pandas")
    series = pd.Series(MESSAGES, index=range(100, 100 + len(MESSAGES)))
    assert [p.text for p in triage.predict(series)] == MESSAGES


@pytest.mark.parametrize("text", MESSAGES)
def test_scores_are_distributions_over_taxonomy_labels(text):
    p = triage.predict(text)
    assert p.category in CATEGORIES and p.urgency in URGENCIES
    assert set(p.category_scores) == set(CATEGORIES)
    assert set(p.urgency_scores) == set(URGENCIES)
    assert math.isclose(sum(p.category_scores.values()), 1.0, abs_tol=1e-6)
    assert math.isclose(sum(p.urgency_scores.values()), 1.0, abs_tol=1e-6)
    assert all(0.0 <= v <= 1.0 for v in [*p.category_scores.values(), *p.urgency_scores.values()])
    assert isinstance(p.needs_review, bool)


def test_to_dict_is_json_serialisable():
    d = triage.predict("救命！3号楼602着火了").to_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert {"text", "category", "urgency", "category_scores", "urgency_scores", "needs_review", "flags"} <= set(d)


def test_empty_input_is_flagged_not_an_error():
    p = triage.predict("   ")
    assert (p.category, p.urgency) == ("chitchat", "low") and "empty" in p.flags


@pytest.mark.parametrize("bad", [None, 42, 3.5, b"bytes", ["ok", None], ["ok", 7]])
def test_wrong_types_raise_type_error(bad):
    with pytest.raises(TypeError, match="expected"):
        triage.predict(bad)


def test_load_gives_same_predictions_as_default(shipped_model):
    from triage.api import default_model_dir

    m = triage.load(default_model_dir())
    assert m.predict(MESSAGES) == shipped_model.predict(MESSAGES)


def test_default_model_loads_once(shipped_model):
    assert triage.default_model() is shipped_model


# One sanity example per category, in words not taken from the corpus.
SANITY = [
    ("快来人啊 12号楼三楼冒黑烟了 里面还有老人", "emergency", "critical"),
    ("昨天夜里停在楼下的电动车电瓶被人偷走了", "crime", None),
    ("有个自称公安局的打电话说我涉嫌洗钱，要我把钱转到安全账户，这是骗子吧", "fraud", None),
    ("地下车库入口那个窨井盖翘起来了，车开过去很危险", "hazard", None),
    ("沪宜公路这个红绿灯时间太短了，每天早上都堵", "traffic", "normal"),
    ("楼上天天半夜拖椅子，跟他说了好几次都不听", "dispute", "normal"),
    ("今天在菜场附近丢了一个蓝色钱包，谁捡到了请联系我", "lost_found", "normal"),
    ("想问一下，居住证到期了续签要带哪些材料", "consultation", "normal"),
    ("【温馨提示】明天上午8点至12点小区停水，请提前储水", "notice", "low"),
    ("谢谢张警官，辛苦啦[抱拳]", "chitchat", "low"),
]


@pytest.mark.parametrize("text,category,urgency", SANITY)
def test_shipped_model_sanity_per_category(shipped_model, text, category, urgency):
    p = shipped_model.predict(text)
    assert p.category == category, p
    if urgency:
        assert p.urgency == urgency, p


# Very short alarms, the kind typed in a hurry; written for this test, not from the corpus.
SHORT_ALARMS = ["救命！！", "救命啊", "快来人", "快来人啊！！！", "着火了！", "着火啦", "有人晕倒了", "煤气泄漏", "有人跳楼", "打劫啊", "孩子走丢了", "门口有人被捅了", "宝宝不会呼吸了"]


@pytest.mark.parametrize("text", SHORT_ALARMS)
def test_short_alarms_are_critical(shipped_model, text):
    # the norm floor shrinks short messages towards the prior; the safety net must still catch these
    p = shipped_model.predict(text)
    assert p.urgency == "critical", p
    assert [q.urgency for q in shipped_model.predict([text] * 70)] == ["critical"] * 70  # batch path too


def test_short_everyday_messages_are_not_critical(shipped_model):
    for text in ["在", "在在 在", "你现在在哪", "我现在在车上", "马上到", "快点下来", "起来了"]:
        assert shipped_model.predict(text).urgency != "critical", text


def test_explain_stays_the_function_after_its_module_is_imported():
    import triage.evaluate  # noqa: F401 - imports the triage.explain submodule
    import triage.explain  # noqa: F401

    assert callable(triage.explain) and triage.explain.__name__ == "explain"


def test_negated_and_joking_alarm_words_are_not_critical(shipped_model):
    for text in ["不是着火，是楼下在烧烤，烟有点大", "今天作业多到救命", "热死了救命啊"]:
        assert shipped_model.predict(text).urgency != "critical", text


def test_cached_model_loads_each_directory_once(shipped_model, small_model, tmp_path):
    from triage.api import cached_model
    from triage.persist import save_model

    assert cached_model() is shipped_model
    save_model(small_model, tmp_path / "m")
    first = cached_model(tmp_path / "m")
    assert cached_model(str(tmp_path / "m")) is first  # same directory, however it is spelled
    assert first.predict("收到") == small_model.predict("收到")
