"""Robustness of ``predict``: whatever people type, the answer is a valid Prediction.

Two kinds of tests:

- **named bad inputs** (issue 7's list) through the shipped model (``triage.predict``) and
  through a freshly trained tiny model (``small_model`` in ``conftest.py``): wrong types raise
  ``TypeError`` naming what was expected and what was got; every string gives a valid
  Prediction; a 1 MB string is truncated deterministically and flagged ``"truncated"``;
- **properties** (hypothesis) over any text — unpaired surrogates, control, zero-width and
  bidi characters included — with a fixed, derandomised example budget (see ``BUDGET``) so
  the file runs in CI in well under a minute and always tries the same cases.
"""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage
from triage.model import Prediction
from triage.normalize import MAX_CHARS, normalize
from triage.taxonomy import CATEGORIES, URGENCIES

from conftest import fixed_settings

#: Examples per hypothesis property (fixed, so the time in CI is fixed). docs/hardening.md
#: quotes these numbers; change both together.
BUDGET = {
    "any_text_shipped": 3000,
    "any_text_small": 1000,
    "fragments_shipped": 1500,
    "list_shipped": 500,
    "single_vs_list": 1000,
    "truncation": 100,
}


def _settings(name: str) -> settings:
    return fixed_settings(BUDGET[name], HealthCheck.too_slow, HealthCheck.data_too_large)


KNOWN_FLAGS = {"empty", "truncated", "critical_by_threshold", "safety_net"}

ONE_MB = 1 << 20

# --------------------------------------------------------------------------- strategies

#: Every code point, unpaired surrogates (category Cs) and controls included.
ANY_CHAR = st.characters(exclude_categories=())

#: Pieces that reach each branch of normalisation (quotes, mentions, media, URLs, numbers,
#: invisible characters, runs) and of the safety lexicon.
FRAGMENTS = [
    "救命", "着火了", "不是着火", "热死了救命", "哈哈", "已经找到了", "晕倒", "跳楼", "走失",
    "請問派出所幾點上班", "钱包丢了", "收到", "好的", "[强]", "[图片]", "【语音】", '[语音 5"]',
    "![图片](http://127.0.0.1/a.png)", "[文件: a.pdf]", "@张警官\u2005", "@所有人 ", "@",
    "「老周：有人发传单」\n- - - - - - - - - - - - - - -\n别信", "「", "」", "\n-----\n",
    "http://example.com/?a=1&b=2", "www.例子.com", "13812345678", "+86 139-1234-5678",
    "021-59991234", "11010519491231002X", "6222 0212 3456 7890 128", "沪A·D3K21", "1234567890",
    "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\x1b[31m", "\x7f", "\x85",
    "\ud800", "\udfff", "\ud83d", "😀", "🔥🔥🔥", "👨‍👩‍👧", "ﬁ", "Ａ１", "العربية", "русский", "עברית",
    "<script>alert(1)</script>", "<?xml version='1.0'?><a>&amp;</a>", "&#x41;", "]]>", "%s%n{0}",
    "啊" * 50, "!" * 30, " " * 10, "\t", "\r\n", "\n\n",
]
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHAR, max_size=8)), max_size=12).map("".join),
)


# --------------------------------------------------------------------------- checks


def check_prediction(p: object, text: str, model) -> None:
    """Every property a Prediction of ``text`` by ``model`` must have."""
    assert isinstance(p, Prediction)
    assert p.text == text
    cats, urgs = list(model.categories_), list(model.urgencies_)
    assert p.category in cats and p.urgency in urgs
    for scores, labels in ((p.category_scores, cats), (p.urgency_scores, urgs)):
        assert list(scores) == labels
        values = list(scores.values())
        assert all(isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)
        assert math.isclose(sum(values), 1.0, abs_tol=1e-9)
    assert p.category_scores[p.category] == max(p.category_scores.values())
    top_urgency = max(p.urgency_scores, key=p.urgency_scores.get)
    if p.urgency != top_urgency:  # only the critical rules may overrule the argmax
        assert p.urgency == "critical" and {"critical_by_threshold", "safety_net"} & set(p.flags)
    assert isinstance(p.needs_review, bool)
    assert isinstance(p.flags, tuple) and set(p.flags) <= KNOWN_FLAGS
    assert len(set(p.flags)) == len(p.flags)
    assert ("truncated" in p.flags) == (len(text) > model.max_chars)
    assert ("empty" in p.flags) == (normalize(text, max_chars=model.max_chars) == "")
    assert 0.0 <= p.confidence <= 1.0
    p.to_dict()  # serialisable without error


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shipped():
    return triage.default_model()


@pytest.fixture(params=["shipped", "small"])
def model(request, shipped, small_model):
    return shipped if request.param == "shipped" else small_model


def test_shipped_model_speaks_the_taxonomy(shipped):
    assert set(shipped.categories_) == set(CATEGORIES)
    assert set(shipped.urgencies_) == set(URGENCIES)


# --------------------------------------------------------------------------- wrong types

WRONG_TYPES = [
    (None, "NoneType"),
    (0, "int"),
    (3.5, "float"),
    (True, "bool"),
    (b"\xe6\x95\x91\xe5\x91\xbd", "bytes"),
    (bytearray(b"abc"), "bytes"),
    (object(), "object"),
    (Exception("x"), "Exception"),
]


@pytest.mark.parametrize("value,got", WRONG_TYPES, ids=[g for _, g in WRONG_TYPES])
def test_wrong_type_raises_type_error_naming_expected_and_got(model, value, got):
    with pytest.raises(TypeError, match=rf"expected a str or an iterable of str, got {got}"):
        model.predict(value)


@pytest.mark.parametrize("value,got", WRONG_TYPES, ids=[g for _, g in WRONG_TYPES])
def test_public_predict_raises_the_same_type_error(value, got):
    with pytest.raises(TypeError, match=rf"expected a str or an iterable of str, got {got}"):
        triage.predict(value)


def test_bytes_error_says_how_to_fix_it():
    with pytest.raises(TypeError, match=r"decode it first"):
        triage.predict("救命".encode())


@pytest.mark.parametrize(
    "items,position,got",
    [
        (lambda: ["好的", None], 1, "NoneType"),
        (lambda: [1, "好的"], 0, "int"),
        (lambda: ["a", "b", b"c"], 2, "bytes"),
        (lambda: (x for x in ["a", 2.0]), 1, "float"),
        (lambda: [["nested"]], 0, "list"),
    ],
    ids=["list-None", "list-int", "list-bytes", "generator-float", "nested-list"],
)
def test_wrong_element_type_names_position_and_type(model, items, position, got):
    with pytest.raises(TypeError, match=rf"expected every element to be a str, got {got} at position {position}"):
        model.predict(items())


def test_type_error_is_raised_before_any_work(monkeypatch, shipped):
    calls = []
    monkeypatch.setattr(type(shipped), "_decide", lambda self, norm: calls.append(norm) or [])
    with pytest.raises(TypeError):
        shipped.predict(["好的"] * 10 + [None])
    assert calls == []


# --------------------------------------------------------------------------- bad strings

BAD_STRINGS = {
    "empty": "",
    "space": " ",
    "whitespace": " \t\r\n\u3000\u00a0\u2005\u2028\u2029 ",
    "c0_controls": "".join(map(chr, range(0, 32))) + "\x7f",
    "c1_controls": "".join(map(chr, range(0x80, 0xA0))),
    "controls_around_text": "\x00救\x01命\x1b[31m着火了\x07",
    "zero_width": "\u200b\u200c\u200d\u2060\ufeff",
    "zero_width_in_text": "救\u200b命\u200d着\u2060火\ufeff了",
    "bidi": "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f",
    "bidi_override": "\u202e了火着楼号3\u202c 救命",
    "lone_high_surrogate": "\ud800",
    "lone_low_surrogate": "\udfff",
    "surrogates_in_text": "救命\ud83d着火\ude00了\udbff",
    "reversed_pair": "\ude00\ud83d",
    "mixed_scripts": "Help! 救命 помогите مساعدة ช่วยด้วย 助けて 도와주세요 Ａ１２",
    "traditional": "請問派出所幾點上班？護照怎麼辦",
    "emoji_only": "😀🔥🚒👮‍♂️🇨🇳❤️",
    "emoji_zwj": "👨‍👩‍👧‍👦" * 20,
    "html": "<html><head><script>alert('x')</script></head><body onload=x()><b>救命</b></body></html>",
    "xml": "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
    "entities": "&lt;&gt;&amp;&#0;&#xD800;&#x202E;",
    "wechat_emoticons": "[强][强][微笑][捂脸][图片][语音]",
    "only_brackets": "[[[[[[]]]]]]【【【】】】",
    "unclosed_quote": "「老周：有人发传单\n- - - - -",
    "quote_without_reply": "「老周：有人发传单」\n- - - - - - - - - - - - - - -",
    "mentions": "@" * 100 + "@所有人\u2005@张警官\u2005",
    "urls": "http://" + "a" * 5000,
    "digits": "1" * 3000,
    "format_string": "%s%s%n{0}{1!r}${PATH}`rm -rf /`",
    "sql": "'; DROP TABLE messages; --",
    "nfkc_expanding": "\ufdfa" * 100 + "㍻" * 100,
    "combining": "a" + "\u0301" * 2000,
    "long_run": "啊" * 1999,
    "private_use": "\ue000\uf8ff\U000f0000",
    "noncharacters": "\ufffe\uffff\U0010ffff",
    "replacement": "\ufffd" * 10,
    "newlines_only": "\n" * 500,
}


@pytest.mark.parametrize("name", sorted(BAD_STRINGS))
def test_bad_string_gives_a_valid_prediction(model, name):
    text = BAD_STRINGS[name]
    p = model.predict(text)
    check_prediction(p, text, model)
    assert model.predict(text) == p  # deterministic


def test_bad_strings_through_the_public_predict(shipped):
    texts = [BAD_STRINGS[k] for k in sorted(BAD_STRINGS)]
    batch = triage.predict(texts)
    assert len(batch) == len(texts)
    for p, t in zip(batch, texts):
        check_prediction(p, t, shipped)
        assert triage.predict(t) == p


def test_bad_strings_in_one_batch_match_one_by_one(model):
    texts = [BAD_STRINGS[k] for k in sorted(BAD_STRINGS)]
    batch = model.predict(texts)
    assert batch == [model.predict(t) for t in texts]


@pytest.mark.parametrize("name", ["empty", "space", "whitespace", "c0_controls", "zero_width", "bidi", "newlines_only"])
def test_nothing_left_is_flagged_empty(model, name):
    p = model.predict(BAD_STRINGS[name])
    assert p.flags == ("empty",) and not p.needs_review


def test_surrogates_are_replaced_not_fatal():
    assert "\ud800" not in normalize("a\ud800b")
    p = triage.predict("着火了\ud800")
    assert p.text == "着火了\ud800"  # the input is kept as given


@pytest.mark.parametrize(
    "container",
    [list, tuple, iter, lambda xs: (x for x in xs), lambda xs: dict.fromkeys(xs).keys()],
    ids=["list", "tuple", "iterator", "generator", "dict_keys"],
)
def test_any_iterable_of_str(model, container):
    texts = ["救命 着火了", "", "\ud800", "收到"]
    out = model.predict(container(texts))
    assert isinstance(out, list) and len(out) == 4
    for p, t in zip(out, texts):
        check_prediction(p, t, model)


@pytest.mark.parametrize("mapping", [dict, __import__("collections").Counter, __import__("collections").OrderedDict])
def test_mapping_input_is_classified_or_clearly_refused(model, mapping):
    texts = ["救命 着火了", "收到"]
    try:
        out = model.predict(mapping(dict.fromkeys(texts, 1)))
    except TypeError as exc:
        assert "expected" in str(exc) and "got" in str(exc), str(exc)
    else:
        assert [p.text for p in out] == texts


def test_empty_iterables_give_empty_lists(model):
    assert model.predict([]) == []
    assert model.predict(iter(())) == []


def test_str_subclass_is_a_str(model):
    class Text(str):
        pass

    p = model.predict(Text("救命 着火了"))
    assert isinstance(p, Prediction) and p == model.predict("救命 着火了")


# --------------------------------------------------------------------------- truncation


def test_one_megabyte_string_is_truncated_flagged_and_deterministic(model):
    head = ("救命！3号楼602着火了，" * 200)[:MAX_CHARS]
    big = head + "收到好的谢谢" * (ONE_MB // 6)
    assert len(big) >= ONE_MB
    p = model.predict(big)
    check_prediction(p, big, model)
    assert "truncated" in p.flags
    assert model.predict(big) == p
    # deterministic: only the first max_chars characters count
    other = head + "😀" * ONE_MB
    q = model.predict(other)
    assert (q.category, q.urgency, q.category_scores, q.urgency_scores) == (
        p.category, p.urgency, p.category_scores, p.urgency_scores
    )
    short = model.predict(head)
    assert "truncated" not in short.flags
    assert (short.category_scores, short.urgency_scores) == (p.category_scores, p.urgency_scores)


def test_one_megabyte_of_invisible_characters(model):
    text = "\u200b" * ONE_MB + "救命"
    p = model.predict(text)
    check_prediction(p, text, model)
    assert "truncated" in p.flags


def test_one_megabyte_in_a_batch(model):
    big = "钱包丢了" * (ONE_MB // 4)
    out = model.predict(["收到", big, "收到"])
    assert [("truncated" in p.flags) for p in out] == [False, True, False]
    assert out[0] == out[2]


def test_max_chars_boundary(small_model):
    n = small_model.max_chars
    assert "truncated" not in small_model.predict("好" * n).flags
    assert "truncated" in small_model.predict("好" * (n + 1)).flags


@_settings("truncation")
@given(head=st.text(ANY_CHAR, min_size=1, max_size=50), tail=st.text(ANY_CHAR, max_size=50))
def test_truncation_keeps_the_head(small_model, head, tail):
    n = small_model.max_chars
    base = (head * (n // len(head) + 1))[:n]
    a = small_model.predict(base + "x" + tail)
    b = small_model.predict(base + "y" + tail)
    assert "truncated" in a.flags and "truncated" in b.flags
    assert (a.category_scores, a.urgency_scores) == (b.category_scores, b.urgency_scores)


# --------------------------------------------------------------------------- properties


@_settings("any_text_shipped")
@given(text=TEXTS)
def test_any_text_gives_a_valid_prediction(shipped, text):
    check_prediction(shipped.predict(text), text, shipped)


@_settings("any_text_small")
@given(text=TEXTS)
def test_any_text_gives_a_valid_prediction_small_model(small_model, text):
    check_prediction(small_model.predict(text), text, small_model)


@_settings("fragments_shipped")
@given(text=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=20).map("".join))
def test_fragment_soup_gives_a_valid_prediction(shipped, text):
    p = triage.predict(text)
    check_prediction(p, text, shipped)
    assert p.category in CATEGORIES and p.urgency in URGENCIES


@_settings("list_shipped")
@given(texts=st.lists(TEXTS, max_size=12))
def test_list_in_same_length_and_order(shipped, texts):
    out = shipped.predict(texts)
    assert isinstance(out, list) and len(out) == len(texts)
    assert [p.text for p in out] == texts
    for p, t in zip(out, texts):
        check_prediction(p, t, shipped)
    assert out == [shipped.predict(t) for t in texts]  # < 64 texts: the same arithmetic


@_settings("single_vs_list")
@given(text=TEXTS)
def test_single_equals_list_of_one(shipped, text):
    assert triage.predict(text) == triage.predict([text])[0] == triage.predict((text,))[0]


def test_large_batch_agrees_with_one_by_one(shipped):
    """From 64 texts on the character block is vectorised: the same labels, scores within 1e-6."""
    texts = [f"{i}号楼{w}" for i, w in enumerate(["着火了", "钱包丢了", "收到", "请问几点上班"] * 20)]
    batch = shipped.predict(texts)
    for p, t in zip(batch, texts):
        q = shipped.predict(t)
        assert (p.category, p.urgency, p.flags) == (q.category, q.urgency, q.flags)
        for k in p.category_scores:
            assert p.category_scores[k] == pytest.approx(q.category_scores[k], abs=1e-6)
        for k in p.urgency_scores:
            assert p.urgency_scores[k] == pytest.approx(q.urgency_scores[k], abs=1e-6)


def test_normalize_never_returns_invisible_characters():
    text = "".join(chr(c) for c in range(0x0, 0x3000) if not (0xD800 <= c <= 0xDFFF)) + "\ud800"
    out = normalize(text, max_chars=len(text))
    bad = {c for c in out if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t"}
    assert not bad
