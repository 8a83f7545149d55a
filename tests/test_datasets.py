"""The shipped corpus meets the counts of its dataset card and the split is clean."""

from __future__ import annotations

import collections

import pytest

from triage.datasets import (
    corpus_stats,
    dedup_key,
    load_corpus,
    slot_key,
    validate_records,
)
from triage.exceptions import DatasetError
from triage.normalize import normalize
from triage.taxonomy import CATEGORIES


@pytest.fixture(scope="module")
def train():
    return load_corpus("train")


@pytest.fixture(scope="module")
def test():
    return load_corpus("test")


def test_every_record_is_valid(train, test):
    validate_records(train + test)  # unknown labels, empty texts and duplicates raise


def test_sizes_and_balance(train, test):
    stats = corpus_stats(train + test)
    assert stats["records"] >= 5000
    assert all(stats["categories"].get(c, 0) >= 300 for c in CATEGORIES), stats["categories"]
    assert stats["urgencies"]["critical"] >= 300 and stats["urgencies"]["high"] >= 500
    chatter = stats["categories"]["chitchat"] + stats["categories"]["notice"]
    assert chatter >= 0.3 * stats["records"]
    assert len(test) >= 1200


def test_handwritten_share_and_near_duplicates(train, test):
    stats = corpus_stats(train + test)
    assert stats["methods"].get("handwritten", 0) >= 0.7 * stats["records"]
    assert stats["near_duplicate_share"] < 0.05


def test_split_is_disjoint_also_after_normalisation(train, test):
    assert not {r["id"] for r in train} & {r["id"] for r in test}
    assert not {dedup_key(r["text"]) for r in train} & {dedup_key(r["text"]) for r in test}
    assert not {normalize(r["text"]) for r in train} & {normalize(r["text"]) for r in test}


def test_split_is_stratified(train, test):
    tr = collections.Counter((r["category"], r["urgency"]) for r in train)
    te = collections.Counter((r["category"], r["urgency"]) for r in test)
    for pair, n in tr.items():
        total = n + te[pair]
        if total >= 20:
            assert 0.15 <= te[pair] / total <= 0.30, (pair, te[pair], total)


@pytest.mark.parametrize(
    "records,match",
    [
        ([{"text": "", "category": "notice", "urgency": "low"}], "non-empty text"),
        ([{"text": "x", "category": "weather", "urgency": "low"}], "category"),
        ([{"text": "x", "category": "notice", "urgency": "urgent"}], "urgency"),
        ([{"text": "收到!", "category": "chitchat", "urgency": "low"}, {"text": "收到。", "category": "chitchat", "urgency": "low"}], "duplicate"),
    ],
)
def test_validate_records_rejects(records, match):
    with pytest.raises(DatasetError, match=match):
        validate_records(records)


def test_slot_key_folds_places_and_numbers():
    assert slot_key("3号楼602着火了") == slot_key("12号楼101着火了")
    assert slot_key("清河新村门口有人打架") == slot_key("金沙苑门口有人打架")
    assert slot_key("着火了") != slot_key("漏水了")


def test_unknown_split():
    with pytest.raises(ValueError, match="expected split"):
        load_corpus("dev")
