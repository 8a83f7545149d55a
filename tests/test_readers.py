"""Tests of triage.readers: every exporter format, encodings, detection and error records."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import tracemalloc
from pathlib import Path

import pytest

from triage.exceptions import ChatLogDecodeError, ChatLogError, ChatLogFormatError
from triage.readers import FORMATS, detect_format, read_log
from triage.readers.encoding import sniff_encoding
from triage.readers.memotrace import read_memotrace_v2_csv
from triage.readers.special import (
    extract_mentions,
    is_system_text,
    kind_from_type_name,
    kind_from_wechat_type,
    parse_forward_items,
    parse_time,
    placeholder_kind,
    split_quote,
    system_kind,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chatlogs"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "chatformats"


def T(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def read(path: Path, **kwargs) -> list:
    messages = list(read_log(path, **kwargs))
    assert [m.index for m in messages] == list(range(len(messages)))
    assert all(m.source == str(path) for m in messages)
    return messages


def column(messages: list, name: str) -> list:
    return [getattr(m, name) for m in messages]


# =============================================================== shared specimens

@pytest.fixture(scope="module")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"specimen folder {SHARED} is absent")
    return SHARED


D = "2024-03-05 "
TIMES_10 = [D + t for t in ("08:12:03", "08:15:27", "08:15:40", "08:18:45", "08:20:41",
                            "08:31:02", "08:33:16", "08:40:55", "09:05:10", "09:30:00")]
KINDS_10 = ["text", "text", "image", "text", "voice", "system", "recall", "quote", "sticker", "link"]
SENDERS_V2 = ["3栋_王阿姨", "5栋刘先生", "5栋刘先生", "张警官", "陈姐", "", "", "5栋刘先生", "陈姐", "张警官"]
SENDERS_V3 = ["3栋王阿姨", *SENDERS_V2[1:]]
SENDERS_PYWXDUMP = ["3栋 王阿姨", *SENDERS_V2[1:]]  # remark from users.json
QUOTED = "张警官，最近楼道里又有人推电动车上楼充电，晚上很危险"
REPLY = "我家楼下也有，好几辆，天天插着电"

SPECIMENS = {
    "memotrace-v2-csv.csv": ("memotrace_v2_csv", KINDS_10, SENDERS_V2, TIMES_10),
    "memotrace-v2-txt.txt": ("memotrace_txt", KINDS_10, SENDERS_V2, TIMES_10),
    "memotrace-v3-csv.csv": ("memotrace_v3_csv", KINDS_10, SENDERS_V3, TIMES_10),
    "memotrace-v3-txt.txt": ("memotrace_txt", KINDS_10, SENDERS_V3, TIMES_10),
    "pywxdump-csv.csv": ("pywxdump_csv", KINDS_10, SENDERS_PYWXDUMP, TIMES_10),
    "pywxdump-json.json": ("pywxdump_json", KINDS_10, SENDERS_PYWXDUMP, TIMES_10),
    "chatlog-text.txt": (
        "chatlog_txt",
        ["text", "text", "text", "system", "quote", "sticker"],
        ["3栋王阿姨", "5栋刘先生", "张警官", "", "5栋刘先生", "陈姐"],
        [D + t for t in ("08:12:03", "08:15:27", "08:18:45", "08:31:02", "08:40:55", "09:05:10")],
    ),
    "wechatexporter-txt.txt": (
        "wechatexporter_txt",
        ["text", "text", "image", "text", "voice", "system", "recall", "quote", "sticker", "link", "other"],
        ["3栋王阿姨", "5栋刘先生", "5栋刘先生", "张警官", "陈姐", "", "", "", "陈姐", "张警官", "物业小李"],
        [*TIMES_10[:5], None, None, None, D + "09:05:10", D + "09:30:00", D + "10:02:17"],
    ),
    "wechatexporter-html-fragment.html": (
        "wechatexporter_html",
        ["text", "text", "system", "quote"],
        ["3栋王阿姨", "张警官", "", "5栋刘先生"],
        [D + "08:12:03", D + "08:18:45", None, D + "08:40:55"],
    ),
    "qq-msgmgr-txt.txt": (
        "qq_txt",
        ["text", "text", "text", "sticker", "system", "image", "text"],
        ["王阿姨", "刘建国", "社区民警张警官", "陈姐", "", "刘建国", "社区民警张警官"],
        [D + t for t in ("08:12:03", "08:15:27", "08:18:45", "08:20:41", "08:31:02", "09:05:10", "10:30:00")],
    ),
    "wechat-mail-share.txt": (
        "wechat_share_txt",
        ["text", "image", "text", "voice", "text", "text"],
        ["3栋王阿姨", "3栋王阿姨", "张警官", "3栋王阿姨", "张警官", "3栋王阿姨"],
        [D + "08:12:00", D + "08:13:00", D + "08:18:00", D + "08:19:00",
         "2024-03-06 09:02:00", "2024-03-06 09:05:00"],
    ),
    "wechat-merged-forward-appmsg.xml": (
        "wechat_forward_xml",
        ["text", "text", "image"],
        ["物业小李", "3栋王阿姨", "张警官"],
        ["2024-03-04 19:40:12", "2024-03-04 19:41:30", "2024-03-04 19:45:40"],
    ),
}
SPECIMENS["qq-msgmgr-txt-utf16le.txt"] = SPECIMENS["qq-msgmgr-txt.txt"]


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_specimen_counts_kinds_senders_times(shared: Path, name: str) -> None:
    fmt, kinds, senders, times = SPECIMENS[name]
    path = shared / name
    assert detect_format(path) == fmt
    messages = read(path, year=2024)
    assert column(messages, "kind") == kinds
    assert column(messages, "sender") == senders
    assert column(messages, "time") == [T(t) for t in times]
    assert not [m for m in messages if m.kind == "error"]


@pytest.mark.parametrize(
    "name, index, mention",
    [
        ("memotrace-v2-csv.csv", 1, "张警官"), ("memotrace-v2-txt.txt", 1, "张警官"),
        ("memotrace-v3-csv.csv", 1, "张警官"), ("memotrace-v3-txt.txt", 1, "张警官"),
        ("pywxdump-csv.csv", 1, "张警官"), ("pywxdump-json.json", 1, "张警官"),
        ("chatlog-text.txt", 1, "张警官"), ("wechatexporter-txt.txt", 1, "张警官"),
        ("qq-msgmgr-txt.txt", 1, "张警官"), ("qq-msgmgr-txt-utf16le.txt", 1, "张警官"),
    ],
)
def test_specimen_mentions(shared: Path, name: str, index: int, mention: str) -> None:
    messages = read(shared / name, year=2024)
    assert messages[index].mentions == [mention]
    assert all(m.mentions == [] for i, m in enumerate(messages) if i != index)


@pytest.mark.parametrize(
    "name, index",
    [
        ("memotrace-v2-txt.txt", 7), ("memotrace-v3-csv.csv", 7), ("memotrace-v3-txt.txt", 7),
        ("pywxdump-csv.csv", 7), ("pywxdump-json.json", 7), ("chatlog-text.txt", 4),
        ("wechatexporter-txt.txt", 7), ("wechatexporter-html-fragment.html", 3),
    ],
)
def test_specimen_quotes(shared: Path, name: str, index: int) -> None:
    quote = read(shared / name, year=2024)[index]
    assert (quote.kind, quote.text, quote.quoted_sender, quote.quoted_text) == (
        "quote", REPLY, "3栋王阿姨", QUOTED,
    )


def test_specimen_memotrace_v2_csv_details(shared: Path) -> None:
    messages = read(shared / "memotrace-v2-csv.csv")
    assert column(messages, "line") == [2, 3, 4, 11, 12, 13, 14, 15, 16, 17]  # row 3 spans 7 lines
    assert messages[0].sender_id == "wxid_wang3dong01"
    assert messages[2].text == "[图片]"
    # v2 CSV does not export the quote body (it lives in CompressContent)
    assert (messages[7].kind, messages[7].text, messages[7].quoted_text) == ("quote", "", "")
    assert messages[3].extra["is_self"] is True


def test_specimen_pywxdump_users_and_ids(shared: Path) -> None:
    messages = read(shared / "pywxdump-csv.csv")
    assert column(messages, "sender_id")[:5] == [
        "wxid_wang3dong01", "wxid_liu5dong02", "wxid_liu5dong02", "wxid_police_zhang01", "wxid_chenjie003",
    ]
    assert messages[4].text == "语音时长：5.23秒"
    assert messages[8].line == 12  # row 8 spans three lines
    assert {m.group for m in messages} == {"44556677889@chatroom"}
    no_names = read(shared / "pywxdump-json.json", users={})
    assert no_names[0].sender == "wxid_wang3dong01"
    mapped = read(shared / "pywxdump-json.json", users={"wxid_wang3dong01": "王阿姨"})
    assert mapped[0].sender == "王阿姨"
    assert column(read(shared / "pywxdump-json.json"), "line") == [2 + 12 * i for i in range(10)]


def test_specimen_qq_ids_titles_and_group(shared: Path) -> None:
    for name in ("qq-msgmgr-txt.txt", "qq-msgmgr-txt-utf16le.txt"):
        messages = read(shared / name)
        assert column(messages, "sender_id") == [
            "1034567821", "2456789013", "3301234567", "chenjie1980@163.com", "10000", "2456789013", "3301234567",
        ]
        assert column(messages, "line") == [9, 12, 16, 19, 22, 25, 28]
        assert messages[0].extra["title"] == "3栋"
        assert {m.group for m in messages} == {"幸福里小区3期业主群"}
        assert messages[1].text == "@张警官 东门监控是不是坏了？\n昨晚我家放门口的快递被人拿走了[图片]"
    assert sniff_encoding(shared / "qq-msgmgr-txt-utf16le.txt") == "utf-16"
    assert sniff_encoding(shared / "qq-msgmgr-txt.txt") == "utf-8-sig"


def test_specimen_chatlog_year(shared: Path) -> None:
    messages = read(shared / "chatlog-text.txt")  # no year in the file: current year
    assert {m.time.year for m in messages} == {dt.date.today().year}
    assert messages[2].sender == "张警官" and messages[2].extra == {"is_self": True}
    assert messages[0].sender_id == "wxid_wang3dong01"


def test_specimen_wechatexporter_txt_details(shared: Path) -> None:
    messages = read(shared / "wechatexporter-txt.txt")
    assert {m.group for m in messages} == {"幸福里小区3期业主群"}
    assert column(messages, "line") == [3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15]
    forward = messages[10]
    assert forward.extra["forwarded"] == [
        {"sender": "物业小李", "time": "2024-03-04 19:40:12", "text": "今晚8点到10点3栋停水检修\n请提前储水", "kind": "text"},
        {"sender": "3栋王阿姨", "time": "2024-03-04 19:41:30", "text": "收到", "kind": "text"},
    ]
    assert messages[9].extra["title"] == "警惕！冒充“快递理赔客服”诈骗又出新花样"


def test_specimen_html_ids(shared: Path) -> None:
    messages = read(shared / "wechatexporter-html-fragment.html")
    assert column(messages, "sender_id") == ["wang_xl_3d", "zhangjingguan110", "", "liujg1975"]
    assert column(messages, "line") == [2, 12, 22, 27]


def test_specimen_merged_forward_xml(shared: Path) -> None:
    messages = read(shared / "wechat-merged-forward-appmsg.xml")
    assert column(messages, "text") == ["今晚8点到10点3栋停水检修\n请提前储水", "收到", "[图片]"]
    assert {m.group for m in messages} == {"群聊的聊天记录"}
    assert column(messages, "line") == [12, 13, 13]
    title, items = parse_forward_items((shared / "wechat-merged-forward-appmsg.xml").read_text(encoding="utf-8"))
    assert title == "群聊的聊天记录" and [i.sender for i in items] == ["物业小李", "3栋王阿姨", "张警官"]


def test_specimen_special_messages(shared: Path) -> None:
    s = json.loads((shared / "wechat-special-messages.json").read_text(encoding="utf-8"))
    assert "\u2005" in s["mention_mobile"]
    assert extract_mentions(s["mention_mobile"]) == ["张警官"]
    assert extract_mentions(s["mention_pc_mac"]) == ["张警官"]
    assert extract_mentions(s["mention_all"]) == ["所有人"]
    for key in ("recall_other", "recall_self", "recall_self_pc_raw"):
        assert is_system_text(s[key]) and system_kind(s[key]) == "recall", key
    for key in ("join_other_invites_other", "join_other_invites_you_and_other",
                "join_you_invite_template", "join_qrcode"):
        assert is_system_text(s[key]) and system_kind(s[key]) == "system", key
    assert split_quote(s["quote_reply_copied"], ("phone",)) == (REPLY, "3栋王阿姨", QUOTED, "")
    kinds = {key: [placeholder_kind(p) for p in s[key]] for key in s if key.startswith("placeholders_")}
    assert kinds["placeholders_wechatexporter_zh"] == [
        "image", "voice", "voice", "video", "sticker", "link", "file", "file",
        "other", "other", "other", "other", "other",
    ]
    assert kinds["placeholders_memotrace_v2_txt"] == ["image", "voice", "video", "sticker", "file", "link"]
    assert kinds["placeholders_memotrace_v3"] == ["image", "voice", "video", "sticker", "file", "link", "other"]
    assert kinds["placeholders_chatlog"] == ["image", "voice", "sticker", "link", "file", "other", None]
    assert kinds["placeholders_pywxdump_msg"] == [None, None, None, "voice"]  # bare words: kind from type_name
    assert [kind_from_type_name(n) for n in ("图片", "视频", "动画表情", "语音")] == [
        "image", "video", "sticker", "voice",
    ]
    assert split_quote("> [引用]\n回复", ("chatlog",)) == ("回复", "", "", "")
    with pytest.raises(ChatLogFormatError, match="wechat-special-messages.json: cannot detect"):
        detect_format(shared / "wechat-special-messages.json")


# =============================================================== own fixtures, per format

def test_memotrace_v2_csv_fixture() -> None:
    messages = read(FIXTURES / "memotrace_v2.csv")
    assert column(messages, "kind") == [
        "text", "image", "file", "other", "error", "recall", "text", "quote", "video", "other", "text",
    ]
    assert column(messages, "line") == [2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    assert column(messages, "sender") == ["老周", "老周", "周师傅", "小王", "", "", "李警官", "老周", "小王", "小王", "老周"]
    assert messages[0].mentions == ["李警官"]
    assert messages[2].text == "[文件] 防诈骗宣传.pdf"
    assert messages[3].text == "[合并转发] 群聊的聊天记录"
    assert messages[3].extra["forwarded"] == [
        {"sender": "小王", "time": "2024-03-09 20:00:00", "text": "有人冒充物业收费", "kind": "text"},
        {"sender": "老周", "time": "2024-03-09 20:01:00", "text": "[图片]", "kind": "image"},
    ]
    assert (messages[4].text, messages[4].error) == ("5,5,1,0,0", "expected 12 fields, got 5")
    assert messages[9].text == "[位置]"
    assert messages[10].time == T("2024-03-10 09:10:00")  # from CreateTime, shown in China time


def test_memotrace_v3_csv_fixture() -> None:
    messages = read(FIXTURES / "memotrace_v3.csv")
    assert column(messages, "kind") == ["text", "quote", "file", "system", "other", "image", "error"]
    assert column(messages, "line") == [2, 3, 5, 6, 7, 8, 9]
    q = messages[1]
    assert (q.text, q.quoted_sender, q.quoted_text) == ("不要相信，这是诈骗", "老周", "小区门口有人发传单，说能办低息贷款")
    assert messages[0].extra["remark"] == "周师傅"
    assert messages[6].error == "month must be in 1..12"


def test_memotrace_txt_fixture_with_malformed_lines() -> None:
    messages = read(FIXTURES / "memotrace_v2.txt")
    assert column(messages, "kind") == ["error", "text", "video", "recall", "quote", "error", "text"]
    assert column(messages, "line") == [1, 3, 7, 10, 12, 16, 19]
    assert messages[0].text == "导出说明：这一行不属于任何消息"
    assert (messages[5].text, messages[5].error) == ("2024-03-10 25:61:00 老周\n好的", "hour must be in 0..23")
    assert messages[1].text == "小区门口有人发传单\n说能办低息贷款"
    assert (messages[4].quoted_sender, messages[4].quoted_text) == ("老周", "小区门口有人发传单")
    assert messages[6].mentions == ["李警官"]


def test_memotrace_v3_txt_gb18030_crlf() -> None:
    path = FIXTURES / "memotrace_v3_gb18030.txt"
    assert sniff_encoding(path) == "gb18030"
    messages = read(path)
    assert column(messages, "kind") == ["text", "system", "image", "quote"]
    assert column(messages, "sender") == ["老周", "", "小王", "李警官"]
    assert "𠮷" in messages[0].text and "\r" not in messages[0].text
    assert messages[3].quoted_text == "小区门口有人发传单，说能办低息贷款"


def test_pywxdump_csv_fixture_users_beside() -> None:
    messages = read(FIXTURES / "pywxdump" / "chat.csv")
    assert column(messages, "kind") == ["text", "quote", "recall", "voice", "error", "link"]
    assert column(messages, "sender") == ["老周", "李警官", "", "wxid_stranger", "", "李警官"]
    assert column(messages, "line") == [2, 3, 6, 7, 8, 9]
    assert {m.group for m in messages if m.kind != "error"} == {"平安社区警民群"}
    q = messages[1]
    assert (q.text, q.quoted_sender, q.extra["quoted_time"]) == ("别转账，已通知物业", "老周", "2024-03-10 09:00:00")
    assert messages[4].error == "expected 9 fields, got 10"
    assert messages[5].text == '反诈宣传\n\n<a href="https://example.org/a">点击查看详情</a>'  # CRLF → LF


def test_pywxdump_json_fixture() -> None:
    messages = read(FIXTURES / "pywxdump" / "chat.json")
    assert column(messages, "kind") == ["text", "error", "error", "image"]
    assert column(messages, "line") == [2, 5, 6, 8]
    assert messages[1].error == "array element is not an object"
    assert messages[2].error == "missing field(s) msg"
    assert messages[3].time == T("2024-03-10 09:04:00")  # Unix CreateTime


def test_pywxdump_json_malformed_document(tmp_path: Path) -> None:
    bad = tmp_path / "chat.json"
    bad.write_text('[{"type_name": "文本", "talker": "a", "msg": "x", "CreateTime": 1}, {oops}]', encoding="utf-8")
    with pytest.raises(ChatLogFormatError, match=r"chat\.json: not a PyWxDump JSON array"):
        list(read_log(bad, format="pywxdump_json"))


def test_wechatexporter_txt_fixture() -> None:
    messages = read(FIXTURES / "wechatexporter.txt")
    assert column(messages, "kind") == [
        "text", "text", "system", "recall", "quote", "file", "error", "error", "link", "other", "other",
    ]
    assert column(messages, "line") == [3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 19]
    assert messages[0].text == "小区门口有人发传单\n说能办低息贷款"  # <br /> is a line break
    assert messages[6].error == "month must be in 1..12"
    assert (messages[7].text, messages[7].error) == ("小王 (2024-03-10 09:0", "malformed message line")
    assert [f["text"] for f in messages[9].extra["forwarded"]] == ["有人敲门推销", "别开门"]
    assert (messages[4].sender, messages[4].time, messages[4].quoted_sender) == ("", None, "老周")


def test_wechatexporter_html_fixture() -> None:
    messages = read(FIXTURES / "wechatexporter.html")
    assert column(messages, "kind") == ["text", "image", "voice", "link", "recall", "quote", "error"]
    assert {m.group for m in messages} == {"平安社区警民群"}
    assert messages[0].text == "门口有人发传单\n说能办贷款 & 免息"
    assert messages[3].extra["url"] == "https://example.org/a"
    assert messages[3].text == "反诈宣传\n接到陌生电话先核实"
    assert (messages[5].text, messages[5].mentions, messages[5].quoted_text) == ("@李警官\u2005是骗子吗", ["李警官"], "门口有人发传单")
    assert column(messages, "sender_id")[:3] == ["zhou_alias", "zhou_alias", "police_li"]
    assert messages[6].line == 51


def test_qq_multi_chat_export() -> None:
    path = FIXTURES / "qq_all_utf16le.txt"
    assert detect_format(path) == "qq_txt"
    messages = read(path)
    assert column(messages, "group") == ["平安社区警民群"] * 4 + ["李警官"] * 3
    assert column(messages, "kind") == ["text", "text", "image", "recall", "text", "error", "text"]
    assert column(messages, "line") == [9, 12, 15, 18, 27, 30, 33]
    assert messages[1].time == T("2024-03-10 21:01:00")  # "9:01:00 PM"
    assert (messages[0].sender, messages[0].extra["title"]) == ("老周", "楼长")
    assert messages[2].sender_id == "xiaowang@qq.com"
    assert messages[5].text == "2024-13-11 10:01:00 老周(123456789)\n我想报案"
    assert messages[6].text == "家里老人被骗了\n转了两万"
    assert messages[4].extra["folder"] == "我的好友"


def test_share_mail_fixture() -> None:
    messages = read(FIXTURES / "share_mail.txt")
    assert column(messages, "kind") == ["text", "quote", "error", "link", "error", "text"]
    assert column(messages, "line") == [5, 11, 19, 23, 27, 29]
    assert column(messages, "time") == [
        T("2024-03-10 09:00"), T("2024-03-10 09:05"), None, T("2024-03-11 08:30"), None, None,
    ]
    assert messages[0].text == "小区门口有人发传单\n\n说能办低息贷款"
    assert messages[1].quoted_sender == "老周"
    assert messages[2].error == "bad time '25:00'"
    assert messages[0].group == "李警官 和 老周"


def test_chatlog_fixture_year_rollover_and_quotes() -> None:
    messages = read(FIXTURES / "chatlog.txt")
    assert column(messages, "kind") == ["text", "quote", "recall", "image", "error", "quote"]
    assert column(messages, "time") == [
        T("2023-12-31 23:59:00"), T("2024-01-01 00:00:30"), T("2024-01-01 00:01:00"),
        T("2024-01-01 00:02:00"), None, T("2024-01-01 00:04:00"),
    ]
    assert column(messages, "line") == [2, 5, 9, 12, 15, 18]
    assert (messages[1].text, messages[1].quoted_text) == ("同乐，注意防火", "")
    assert (messages[5].quoted_sender, messages[5].quoted_text, messages[5].mentions) == ("李警官", "同乐，注意防火", ["李警官"])
    assert messages[0].group == "平安社区警民群" and messages[0].extra["room_id"] == "123@chatroom"
    assert read(FIXTURES / "chatlog.txt", year=2030)[0].time == T("2030-12-31 23:59:00")


def test_forward_xml_fixture() -> None:
    messages = read(FIXTURES / "forward.xml")
    assert column(messages, "kind") == ["text", "file", "link"]
    assert column(messages, "text") == ["有人敲门推销净水器", "报警回执.pdf", "反诈宣传"]
    assert column(messages, "line") == [4, 5, 6]
    assert messages[1].time == T("2024-03-09 20:01:00")


def test_forward_xml_malformed(tmp_path: Path) -> None:
    bad = tmp_path / "f.xml"
    bad.write_text("<msg><appmsg><recorditem><![CDATA[<recordinfo><datalist>]]></recorditem>", encoding="utf-8")
    with pytest.raises(ChatLogFormatError, match=r"f\.xml: malformed merged-forward XML"):
        list(read_log(bad))
    bad.write_text("<msg><appmsg><title>x</title></appmsg></msg>", encoding="utf-8")
    with pytest.raises(ChatLogFormatError, match=r"f\.xml: content does not match format 'wechat_forward_xml'"):
        read_log(bad, format="wechat_forward_xml")


# =============================================================== generic CSV / TSV / JSONL

def test_generic_csv_named_columns() -> None:
    messages = read(FIXTURES / "generic.csv", text_column="内容", time_column="时间",
                    sender_column="昵称", group_column="群")
    assert column(messages, "kind") == ["text", "recall", "image", "quote", "error", "error"]
    assert column(messages, "line") == [2, 3, 4, 5, 8, 9]
    assert messages[0].time == T("2024-03-10 09:00") and messages[0].group == "平安社区"
    assert messages[0].extra == {"columns": {"id": "1", "备注": "a"}}
    assert (messages[3].text, messages[3].quoted_sender, messages[3].mentions) == ("@老周 挂断，别转账", "老周", ["老周"])
    assert messages[4].error == "expected 6 fields, got 3"
    assert messages[5].error == "unrecognised time '昨天'"
    # without column names the text column is found among the usual names
    assert read(FIXTURES / "generic.csv", format="csv")[0].text == "有人冒充民警打电话"


def test_generic_tsv_and_jsonl() -> None:
    tsv = read(FIXTURES / "generic.tsv", text_column="text", time_column="time", sender_column="user")
    assert column(tsv, "sender") == ["老周", "李警官"]
    assert column(tsv, "time") == [T("2024-03-10 09:00:00"), T("2024-03-10 21:01:00")]
    jsonl = read(FIXTURES / "generic.jsonl", text_column="text", time_column="ts", sender_column="from", year=2024)
    assert column(jsonl, "kind") == ["text", "text", "error", "error", "voice"]
    assert column(jsonl, "line") == [1, 3, 4, 5, 6]
    assert column(jsonl, "time") == [T("2024-03-10 09:00:00"), T("2024-03-10 09:01:00"), None, None, None]
    assert jsonl[1].mentions == ["老周"] and jsonl[1].extra == {"columns": {"channel": "wx"}}
    assert jsonl[3].error == "JSON line is not an object"


def test_generic_default_columns(tmp_path: Path) -> None:
    auto = read(FIXTURES / "generic.jsonl", year=2024)  # text/ts/from found by name
    assert column(auto, "sender") == ["老周", "李警官", "", "", "小王"]
    assert auto[1].time == T("2024-03-10 09:01:00")
    no_time = read(FIXTURES / "generic.jsonl", format="jsonl", time_column="")
    assert no_time[1].time is None and no_time[1].extra == {"columns": {"ts": "03-10 09:01", "channel": "wx"}}
    odd = tmp_path / "odd.tsv"
    odd.write_text("user\twhen\ttxt\n老周\t2024-03-10 09:00\t你好\n", encoding="utf-8")
    with pytest.raises(ChatLogFormatError, match=r"odd\.tsv: no text column among \['user', 'when', 'txt'\]"):
        list(read_log(odd, format="tsv"))
    assert read(odd, text_column="txt", time_column="when")[0].time == T("2024-03-10 09:00")


def test_generic_errors() -> None:
    with pytest.raises(ChatLogFormatError, match=r"generic\.csv: text column 'nope' not in header"):
        list(read_log(FIXTURES / "generic.csv", text_column="nope"))
    with pytest.raises(ValueError, match="apply to"):
        read_log(FIXTURES / "qq_all_utf16le.txt", format="qq_txt", text_column="text")


# =============================================================== detection

@pytest.mark.parametrize(
    "name, fmt",
    [
        ("memotrace_v2.csv", "memotrace_v2_csv"), ("memotrace_v3.csv", "memotrace_v3_csv"),
        ("memotrace_v2.txt", "memotrace_txt"), ("memotrace_v3_gb18030.txt", "memotrace_txt"),
        ("pywxdump/chat.csv", "pywxdump_csv"), ("pywxdump/chat.json", "pywxdump_json"),
        ("wechatexporter.txt", "wechatexporter_txt"), ("wechatexporter.html", "wechatexporter_html"),
        ("qq_all_utf16le.txt", "qq_txt"), ("share_mail.txt", "wechat_share_txt"),
        ("chatlog.txt", "chatlog_txt"), ("misleading_name.csv", "chatlog_txt"),
        ("forward.xml", "wechat_forward_xml"), ("generic.csv", "csv"), ("generic.tsv", "tsv"),
        ("generic.jsonl", "jsonl"),
    ],
)
def test_detect_from_content(name: str, fmt: str) -> None:
    assert fmt in FORMATS
    assert detect_format(FIXTURES / name) == fmt
    assert detect_format(str(FIXTURES / name)) == fmt


def test_detect_from_text_and_misleading_name() -> None:
    text = (FIXTURES / "wechatexporter.txt").read_text(encoding="utf-8")
    assert detect_format(text) == "wechatexporter_txt"
    assert detect_format("2024-03-10 9:00:00 老周(123456789)\n你好\n") == "qq_txt"
    messages = read(FIXTURES / "misleading_name.csv")
    assert len(messages) == 6 and messages[0].sender == "老周"
    with pytest.raises(ChatLogFormatError, match="<text>: cannot detect"):
        detect_format("just some words\n")
    with pytest.raises(FileNotFoundError):
        detect_format(str(FIXTURES / "no_such_file.txt"))
    with pytest.raises(FileNotFoundError):
        read_log(FIXTURES / "no_such_file.txt")


def test_forced_format_mismatch() -> None:
    with pytest.raises(ChatLogFormatError, match=r"memotrace_v3\.csv: not a memotrace_v2_csv file"):
        read_log(FIXTURES / "memotrace_v3.csv", format="memotrace_v2_csv")
    with pytest.raises(ChatLogFormatError, match=r"chatlog\.txt: content does not match format 'qq_txt'.*chatlog_txt"):
        read_log(FIXTURES / "chatlog.txt", format="qq")
    with pytest.raises(ChatLogFormatError, match="does not match format 'pywxdump_json'"):
        read_log(FIXTURES / "memotrace_v2.txt", format="pywxdump_json")
    with pytest.raises(ChatLogFormatError, match="unknown chat-log format 'whatsapp'"):
        read_log(FIXTURES / "chatlog.txt", format="whatsapp")
    # calling a format reader directly checks the header on iteration
    with pytest.raises(ChatLogFormatError, match=r"memotrace_v3\.csv: not a MemoTrace v2 CSV file"):
        list(read_memotrace_v2_csv(FIXTURES / "memotrace_v3.csv"))


def test_forced_format_aliases_and_empty_file(tmp_path: Path) -> None:
    assert len(read(FIXTURES / "memotrace_v2.txt", format="MemoTrace-v2-TXT")) == 7
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert read(empty, format="qq_txt") == []
    with pytest.raises(ChatLogFormatError, match="empty.txt: cannot detect"):
        read_log(empty)


# =============================================================== encodings and line ends

@pytest.mark.parametrize(
    "name, codec",
    [
        ("utf8_lf.txt", "utf-8"), ("utf8_bom_crlf.txt", "utf-8-sig"), ("utf16le_bom_crlf.txt", "utf-16"),
        ("utf16be_bom_lf.txt", "utf-16"), ("utf16le_nobom_lf.txt", "utf-16-le"),
        ("gb18030_crlf.txt", "gb18030"), ("gbk_lf.txt", "gb18030"),
    ],
)
def test_encodings_and_line_ends(name: str, codec: str) -> None:
    path = FIXTURES / "encodings" / name
    assert sniff_encoding(path) == codec
    messages = read(path)
    assert column(messages, "sender") == ["老周", "李警官"]
    assert column(messages, "line") == [1, 4]
    first = "你好，吉祥物业代收快递" if name == "gbk_lf.txt" else "你好，𠮷祥物业代收快递"
    assert column(messages, "text") == [first, "收到\n第二行"]


def test_explicit_encoding() -> None:
    assert len(read(FIXTURES / "encodings" / "gbk_lf.txt", encoding="gbk")) == 2
    with pytest.raises(ChatLogError, match="unknown encoding 'klingon'"):
        read_log(FIXTURES / "encodings" / "utf8_lf.txt", encoding="klingon")


def test_undecodable_bytes_name_file_and_offset() -> None:
    with pytest.raises(ChatLogDecodeError, match=r"undecodable\.txt: .*byte offset 33"):
        list(read_log(FIXTURES / "encodings" / "undecodable.txt"))
    # a GB18030 file forced as UTF-8 fails at its first non-ASCII byte
    with pytest.raises(ChatLogDecodeError, match=r"gb18030_crlf\.txt: cannot decode as utf-8.*byte offset 20"):
        list(read_log(FIXTURES / "encodings" / "gb18030_crlf.txt", encoding="utf-8"))
    with pytest.raises(UnicodeError):  # also catchable as the built-in
        list(read_log(FIXTURES / "encodings" / "undecodable.txt", format="memotrace_txt"))


def test_decode_error_after_the_sniffed_sample(tmp_path: Path) -> None:
    block = "2024-03-10 09:00:00 老周\n小区门口有人发传单\n\n".encode("utf-8")
    good = block * (1_200_000 // len(block))
    path = tmp_path / "late.txt"
    path.write_bytes(good + b"\xc0\xaf\n")
    messages = read_log(path)  # the first MiB is fine UTF-8
    seen = 0
    with pytest.raises(ChatLogDecodeError, match=rf"late\.txt: .*byte offset {len(good)}\b"):
        for _ in messages:
            seen += 1
    assert seen > 1000  # records were streamed before the bad byte was reached


def test_utf16_odd_byte_count(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "2024-03-10 9:00:00 老周(1)\n你好\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(ChatLogDecodeError, match=r"odd\.txt: .*byte offset"):
        list(read_log(path))


# =============================================================== streaming

def _peak_memory(path: Path, n: int) -> tuple[int, int]:
    block = "2024-03-10 9:{:02d}:00 老周(123456789)\n小区门口有人发传单，说能办低息贷款 @李警官 {}\n\n"
    with open(path, "w", encoding="utf-8", newline="\r\n") as fh:
        fh.write("=" * 64 + "\n消息对象:平安社区警民群\n" + "=" * 64 + "\n\n")
        for i in range(n):
            fh.write(block.format(i % 60, i))
    tracemalloc.start()
    try:
        assert sum(1 for _ in read_log(path)) == n
        return tracemalloc.get_traced_memory()[1], path.stat().st_size
    finally:
        tracemalloc.stop()


def test_streaming_memory_stays_flat(tmp_path: Path) -> None:
    small, _ = _peak_memory(tmp_path / "small.txt", 10_000)
    big, size = _peak_memory(tmp_path / "big.txt", 40_000)
    assert big < size / 3, (big, size)
    assert big < small * 1.25 + 200_000, (small, big)  # 4x the messages, same memory


# =============================================================== shared helpers

@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-05 08:12:03", "2024-03-05 08:12:03"),
        ("2024/3/5 8:12", "2024-03-05 08:12:00"),
        ("2024-3-4 19:40", "2024-03-04 19:40:00"),
        ("2024-03-05 8:12:03 PM", "2024-03-05 20:12:03"),
        ("2024-03-05 12:00:00 AM", "2024-03-05 00:00:00"),
        ("2024年3月5日 下午3:05", "2024-03-05 15:05:00"),
        ("2024-03-05T08:12:03", "2024-03-05 08:12:03"),
        ("1709597523", "2024-03-05 08:12:03"),
        ("1709597523000", "2024-03-05 08:12:03"),
        (1709597523, "2024-03-05 08:12:03"),
        ("2024-03-05", "2024-03-05 00:00:00"),
    ],
)
def test_parse_time(value: object, expected: str) -> None:
    assert parse_time(value) == T(expected)


def test_parse_time_edge_cases() -> None:
    assert parse_time("") is None and parse_time(None) is None
    assert parse_time("03-05 08:12:03", year=2023) == T("2023-03-05 08:12:03")
    with pytest.raises(ValueError, match="has no year"):
        parse_time("03-05 08:12:03")
    with pytest.raises(ValueError, match="month must be"):
        parse_time("2024-13-05 08:12:03")
    with pytest.raises(ValueError, match="unrecognised time"):
        parse_time("yesterday")


def test_mentions() -> None:
    assert extract_mentions("@3栋 王阿姨\u2005你好") == ["3栋 王阿姨"]  # phones: names may hold spaces
    assert extract_mentions("@张警官 @李警官 看一下") == ["张警官", "李警官"]
    assert extract_mentions("@张警官，你好 @张警官") == ["张警官"]
    assert extract_mentions("邮箱 chen@163.com 联系") == []
    assert extract_mentions("结尾@李警官") == ["李警官"]


def test_split_quote_styles() -> None:
    assert split_quote("回复\n引用:名:原文") == ("回复", "名", "原文", "")
    assert split_quote("回复\n引用：名: 原文\n第二行") == ("回复", "名", "原文\n第二行", "")
    assert split_quote("回复\n\n[引用](2024-03-05 08:12:03)名:原文") == ("回复", "名", "原文", "2024-03-05 08:12:03")
    assert split_quote("> 名(wxid_a) 03-05 08:12:03\n> 原文\n回复") == ("回复", "名", "原文", "03-05 08:12:03")
    assert split_quote("「名：原文」\r\n- - - - - - - - - - - - - - -\r\n回复") == ("回复", "名", "原文", "")
    assert split_quote("普通消息") is None
    assert split_quote("回复\n引用:名:原文", ("phone",)) is None
    with pytest.raises(ValueError, match="unknown quote style"):
        split_quote("x", ("nope",))


def test_placeholders_and_type_codes() -> None:
    assert placeholder_kind("快递被人拿走了[图片]") is None
    assert placeholder_kind("[图片]好看") is None
    assert placeholder_kind("[红包]恭喜发财") == "other"
    assert placeholder_kind("【分享链接】\n标题：x") == "link"
    assert placeholder_kind("【反诈提醒】注意") is None
    assert kind_from_wechat_type(49, 57) == "quote"
    assert kind_from_wechat_type("49", "6") == "file"
    assert kind_from_wechat_type(10000) == "system"
    assert kind_from_wechat_type(47) == "sticker"
    assert kind_from_type_name("(分享)卡片式链接") == "link"
    assert kind_from_type_name("系统通知") == "system"
    assert kind_from_type_name("完全未知") is None
