"""Shared fixtures: the shipped model (loaded once per session) and a small trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# A tiny hand-written corpus for fast training tests: (text, category, urgency).
SMALL_CORPUS = [
    ("救命！3号楼着火了，火很大", "emergency", "critical"),
    ("快来人，楼下有个老人晕倒了不动了", "emergency", "critical"),
    ("有人拿刀在小区门口砍人，快报警", "emergency", "critical"),
    ("我家孩子在菜场门口走丢了，穿红衣服", "emergency", "critical"),
    ("车棚里电瓶车烧起来了，快打119", "emergency", "critical"),
    ("前天晚上我的自行车在菜场门口被偷了", "crime", "normal"),
    ("早上起来发现门锁被撬了，家里少了现金", "crime", "normal"),
    ("刚才有两个人在车库里拉车门，现在往B区走了", "crime", "high"),
    ("有人在车棚偷电瓶，人还在里面", "crime", "high"),
    ("快递放门口被人拿走了，能调监控吗", "crime", "normal"),
    ("接到电话说我医保卡异常，这是不是诈骗", "fraud", "normal"),
    ("我妈正在银行往安全账户转钱，怎么拦住她", "fraud", "critical"),
    ("刷单被骗了八千块，怎么办", "fraud", "high"),
    ("有人冒充快递客服说要理赔，让我下载软件", "fraud", "normal"),
    ("我爸已经把五万转给冒充公安的人了", "fraud", "high"),
    ("楼道里好几辆电瓶车在飞线充电", "hazard", "normal"),
    ("东门窨井盖没了，晚上很危险", "hazard", "high"),
    ("消防通道又被私家车堵住了", "hazard", "normal"),
    ("外墙瓷砖松了，随时会掉下来", "hazard", "high"),
    ("路灯坏了好几天了，晚上很黑", "hazard", "normal"),
    ("小区出口早高峰太堵了，能不能加个右转道", "traffic", "normal"),
    ("沪A12345挡住我车了，麻烦挪一下", "traffic", "normal"),
    ("博乐路红绿灯坏了，路口乱成一团", "traffic", "high"),
    ("学校门口接孩子的车乱停", "traffic", "normal"),
    ("公交站搬走了，现在要走很远", "traffic", "normal"),
    ("楼上装修每天早上七点就开始砸墙", "dispute", "normal"),
    ("楼下广场舞太吵了，晚上十点还在跳", "dispute", "normal"),
    ("房东不退押金，说墙弄脏了", "dispute", "normal"),
    ("两个邻居为车位吵着吵着推起来了", "dispute", "high"),
    ("隔壁狗天天叫，说了也不管", "dispute", "normal"),
    ("在公交车上丢了一个黑色钱包，里面有身份证", "lost_found", "normal"),
    ("捡到一串钥匙，放在门卫了", "lost_found", "normal"),
    ("我家橘猫跑丢了，有看到的请联系", "lost_found", "normal"),
    ("谁的电瓶车钥匙掉在车棚门口", "lost_found", "normal"),
    ("地铁上丢了手机，黑色的", "lost_found", "normal"),
    ("请问新生儿落户需要什么材料", "consultation", "normal"),
    ("居住证续签要带什么", "consultation", "normal"),
    ("派出所周六上班吗", "consultation", "normal"),
    ("补办身份证去哪里办", "consultation", "normal"),
    ("带身份证和租房合同到受理中心就可以办", "consultation", "low"),
    ("【警方提醒】凡是让你转账到安全账户的都是诈骗", "notice", "low"),
    ("明天上午9点到12点3栋停水检修", "notice", "low"),
    ("东门路灯已经修好了，谢谢大家", "notice", "low"),
    ("本周六上午小区消防演练，请大家配合", "notice", "low"),
    ("台风预警，请大家收好阳台上的东西", "notice", "low"),
    ("收到，谢谢警官", "chitchat", "low"),
    ("好的", "chitchat", "low"),
    ("[强][强]", "chitchat", "low"),
    ("作业多到救命", "chitchat", "low"),
    ("今天菜场的青菜好便宜", "chitchat", "low"),
    ("大家早上好", "chitchat", "low"),
    ("[图片]", "chitchat", "low"),
    ("哈哈哈笑死我了", "chitchat", "low"),
]


def fixed_settings(max_examples: int, *suppress):
    """Hypothesis settings for CI: a fixed, derandomised budget, no deadline, no example database."""
    from hypothesis import settings

    return settings(
        max_examples=max_examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(suppress)
    )


@pytest.fixture(scope="session")
def small_corpus():
    """SMALL_CORPUS as a list of (text, category, urgency)."""
    return list(SMALL_CORPUS)


@pytest.fixture(scope="session")
def shipped_model():
    """The shipped default model, loaded once for the whole session."""
    from triage.api import default_model

    return default_model()


@pytest.fixture(scope="session")
def small_model():
    """A model freshly trained on SMALL_CORPUS (cv=2 so it fits in about a second)."""
    from triage.model import TriageClassifier

    texts, cats, urgs = zip(*SMALL_CORPUS)
    return TriageClassifier(cv=2).fit(list(texts), list(cats), list(urgs))


@pytest.fixture(scope="session")
def shared_dir():
    """``../shared`` beside the repository; skips the test where it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared material not found at {SHARED}")
    return SHARED
