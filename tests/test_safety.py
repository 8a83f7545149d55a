import pytest

from triage.safety import Lexicon, threat_terms


@pytest.mark.parametrize(
    "text,expected",
    [
        ("救命!3号楼着火了", ["救命", "着火"]),
        ("楼下有人晕倒了快打120", ["晕倒", "打120"]),
        ("我妈有老年痴呆早上走失了", ["走失"]),
        ("不是着火,是烧烤的烟", []),
        ("注意防火,防止火灾", []),
        ("作业多到救命", []),
        ("热死了救命", []),
        ("着火了哈哈 开玩笑的", []),
        ("昨天走失的老人已经找到了", []),
        ("如果走失请拨打110", []),
        ("我老婆被捅了", ["被捅"]),
        ("他喝了敌敌畏,现在叫不醒", ["叫不醒", "敌敌畏"]),
        ("这首歌有触电的感觉", []),
        ("如果有人触电先断电", []),
    ],
)
def test_threat_terms_respect_negation_hyperbole_and_jokes(text, expected):
    assert threat_terms(text) == expected


def test_lexicon_parse_rejects_terms_outside_a_section():
    with pytest.raises(ValueError, match="expected a \\[section\\] header"):
        Lexicon.parse("救命\n[threat]\n着火")
