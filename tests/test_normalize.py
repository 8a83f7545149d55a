import pytest

from triage.normalize import clean_unicode, normalize, split_quote
from triage.segment import Segmenter, segment


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("ＡＢＣ１２３！", "abc123!"),  # full width → half width, lower case
        ("請問這個門口電動車", "请问这个门口电动车"),  # traditional → simplified
        ("@張警官\u2005東門監控壞了", "[@] 东门监控坏了"),
        ("@所有人\u2005今晚停水", "[@所有人] 今晚停水"),
        ("看这个 https://mp.weixin.qq.com/s/Xq3f 链接", "看这个 [网址] 链接"),
        ("【图片】", "[图片]"),
        ('[语音 5"]', "[语音]"),
        ("[文件: 消防检查通知.pdf]", "[文件]"),
        ("![图片](http://127.0.0.1:5030/image/abc)", "[图片]"),
        ("[强][抱拳]", "[强][抱拳]"),
        ("我电话138 1234 5678", "我电话 [电话]"),
        ("车牌沪A·D3K21挡路", "车牌 [车牌] 挡路"),
        ("订单号20240305123456", "订单号 [数字]"),
        ("救命啊啊啊啊啊！！！！！", "救命啊啊啊!!!"),
        ("3号楼602", "3号楼602"),
        ("打110还是96110", "打110还是96110"),
        ("零宽\u200b字符\u202e反转", "零宽字符反转"),
        ("坏\ud800字", "坏\ufffd字"),
        ("  \n\t ", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_quoted_reply_is_split_and_marked():
    raw = "「3栋王阿姨：楼道里又有人推电动车上楼充电」\n- - - - - - - - - - - - - - -\n已经处理好了"
    q = split_quote(raw)
    assert (q.quoted_sender, q.quoted_text, q.reply) == ("3栋王阿姨", "楼道里又有人推电动车上楼充电", "已经处理好了")
    assert normalize(raw) == "[引用] 已经处理好了"


def test_text_without_quote_block_is_unchanged():
    assert split_quote("「不是引用」就是括号").reply == "「不是引用」就是括号"


def test_truncation_is_deterministic():
    long = "着火" * 5000
    assert normalize(long, max_chars=100) == normalize(long, max_chars=100)
    assert len(normalize(long, max_chars=100)) <= 100


def test_clean_unicode_keeps_newlines_and_tabs():
    assert clean_unicode("a\nb\tc\x00d\x1b") == "a\nb\tcd"


def test_segment_keeps_bracket_tokens_and_domain_words():
    tokens = segment(normalize("@张警官\u2005嘉定镇街道清河路有人飞线充电[强]"))
    assert tokens[0] == "[@]" and tokens[-1] == "[强]"
    assert "清河路" in tokens and "飞线充电" in tokens
    assert all(not t.isspace() for t in tokens)


def test_segmenter_pickles_without_jieba_state():
    import pickle

    s = Segmenter(hmm=True, userdict="测试词 100 n", engine="jieba")
    s.cut("测试词")  # initialise
    clone = pickle.loads(pickle.dumps(s))
    assert "_cutter" not in clone.__dict__
    assert clone.cut("一个测试词") == s.cut("一个测试词")


def test_jieba_cache_goes_to_a_private_directory(tmp_path, monkeypatch):
    from triage import segment as seg

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    tok = seg._build_tokenizer("")
    assert tok.tmp_dir == str(tmp_path / "triage")
    assert (tmp_path / "triage").stat().st_mode & 0o077 == 0


def test_no_jieba_log_noise(capfd):
    from triage import segment as seg

    seg._build_tokenizer("新词语 10 n")
    assert "prefix dict" not in capfd.readouterr().err
