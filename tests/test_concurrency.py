"""Thread and process safety of prediction.

- 8 threads released together by a :class:`threading.Barrier` call ``predict`` on the same
  model and get exactly the serial results (single texts, small batches and batches large
  enough for the vectorised character block).
- In a fresh interpreter (a subprocess), 8 threads race the very first ``triage.predict``:
  the default model is loaded once, the segmentation engine built once, OpenCC and the
  safety lexicon created once, and every thread gets the serial answer. Each builder is
  wrapped so that a second thread entering it while the first is still inside is *detected*
  (a two-party barrier that only trips when two builders run at the same time), which makes
  a missing lock fail deterministically rather than by luck.
- ``classify_messages(workers=2)`` (worker processes) yields exactly what ``workers=1`` does.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from triage.batch import classify_messages
from triage.persist import load_model
from triage.records import Message, MessageKind

REPO = Path(__file__).resolve().parents[1]
N_THREADS = 8

TEXTS = [
    "救命！3号楼602着火了",
    "楼下有个老人晕倒了不动了",
    "我的电瓶车在车棚被偷了",
    "接到电话说我医保卡异常，让我转账到安全账户",
    "请问新生儿落户需要什么材料",
    "明天上午9点到12点3栋停水检修",
    "收到，谢谢警官",
    "[强][强]",
    "哈哈哈笑死我了",
    "請問派出所幾點上班",
    "@张警官\u2005东门监控是不是坏了？",
    "「老周：有人发传单」\n- - - - - - - - - - - - - - -\n是诈骗，别信",
    "沪A12345挡住我车了，电话13812345678",
    "",
    "\u200b\ud800",
    "😀🔥",
    "<script>alert(1)</script>",
    "啊" * 3000,
]


def _run_threads(fn, n: int = N_THREADS) -> list:
    """Run ``fn(i)`` in ``n`` threads released at the same instant; re-raise the first error."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def _many(n: int = 150) -> list[str]:
    return [f"{i}号楼{TEXTS[i % len(TEXTS)]}" for i in range(n)]


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory):
    """A model loaded from a private copy of models/default (immune to concurrent retraining)."""
    from triage.api import default_model_dir

    directory = Path(shutil.copytree(default_model_dir(), tmp_path_factory.mktemp("m") / "default"))
    return load_model(directory)


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize("mode", ["single", "batch", "large_batch"])
def test_threads_give_the_serial_results(model_copy, mode):
    texts = _many() if mode == "large_batch" else TEXTS
    if mode == "single":
        serial = [model_copy.predict(t) for t in texts]

        def call(i):  # each thread walks the texts from a different start
            order = list(range(len(texts)))[i:] + list(range(len(texts)))[:i]
            out = [None] * len(texts)
            for j in order:
                out[j] = model_copy.predict(texts[j])
            return out
    else:
        serial = model_copy.predict(texts)

        def call(i):
            return model_copy.predict(texts)

    for result in _run_threads(call):
        assert result == serial


def test_threads_share_the_shipped_default_model():
    import triage

    serial = triage.predict(TEXTS)
    results = _run_threads(lambda i: (triage.default_model(), triage.predict(TEXTS)))
    assert len({id(model) for model, _ in results}) == 1
    for _, predictions in results:
        assert predictions == serial


def test_threads_race_the_first_predict_of_an_unpickled_model(small_model, monkeypatch):
    """A model fresh from pickle builds its compiled predictor on first use: 8 threads race it."""
    import triage.model

    serial = small_model.predict(TEXTS)
    fresh = pickle.loads(pickle.dumps(small_model))
    assert "_compiled" not in fresh.__dict__
    results = _run_threads(lambda i: fresh.predict(TEXTS))
    for result in results:
        assert result == serial
    assert isinstance(fresh.compiled_, triage.model.CompiledPredictor)


def test_compiled_predictor_is_built_once_under_a_race(small_model, monkeypatch):
    import triage.model

    built = []
    overlap = threading.Barrier(2)
    real = triage.model.CompiledPredictor

    class Counting(real):
        def __init__(self, model):
            built.append(threading.get_ident())
            try:  # trips only if a second thread is building at the same time
                overlap.wait(timeout=1.0)
            except threading.BrokenBarrierError:
                pass
            super().__init__(model)

    monkeypatch.setattr(triage.model, "CompiledPredictor", Counting)
    fresh = pickle.loads(pickle.dumps(small_model))
    _run_threads(lambda i: fresh.predict("收到"))
    assert len(built) == 1


# --------------------------------------------------------------------------- fresh process

RACE_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading

    import opencc
    import triage.api, triage.persist, triage.safety, triage.segment

    counts = {"load_model": 0, "rjieba": 0, "jieba": 0, "opencc": 0, "lexicon": 0}
    overlaps = {k: 0 for k in counts}
    barriers = {k: threading.Barrier(2) for k in counts}
    lock = threading.Lock()

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            with lock:
                counts[name] += 1
            try:  # passes only when a second thread is inside the same builder
                barriers[name].wait(timeout=1.0)
                with lock:
                    overlaps[name] += 1
            except threading.BrokenBarrierError:
                pass
            return fn(*args, **kwargs)
        return wrapper

    load = counted("load_model", triage.persist.load_model)
    triage.persist.load_model = load
    triage.api.load_model = load
    triage.segment._build_rjieba = counted("rjieba", triage.segment._build_rjieba)
    triage.segment._build_tokenizer = counted("jieba", triage.segment._build_tokenizer)
    opencc.OpenCC = counted("opencc", opencc.OpenCC)
    parse = triage.safety.Lexicon.parse.__func__
    triage.safety.Lexicon.parse = classmethod(counted("lexicon", parse))

    texts = json.loads(sys.stdin.read())
    n = 8
    start = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(i):
        try:
            start.wait()
            # half the threads ask for one text first, half for the batch; a quarter look up
            # the life-threat lexicon directly (predict consults it only near the threshold)
            if i % 4 == 0:
                triage.safety.threat_terms("楼下着火了")
            first = triage.predict(texts[i % len(texts)]) if i % 2 else None
            results[i] = ([p.to_dict() for p in triage.predict(texts)], first.to_dict() if first else None)
        except BaseException as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serial = [p.to_dict() for p in triage.predict(texts)]
    singles = [triage.predict(t).to_dict() for t in texts]
    print(json.dumps({
        "counts": counts,
        "overlaps": overlaps,
        "errors": errors,
        "same_as_serial": all(r is not None and r[0] == serial for r in results),
        "singles_match": all(r[1] is None or r[1] == singles[i % len(texts)] for i, r in enumerate(results) if r),
        "segmenters": len({id(triage.default_model().compiled_.segment.__self__.cutter)}),
        "model_dir": str(triage.api.default_model_dir()),
    }))
    """
)


@pytest.fixture(scope="module")
def race_report():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-c", RACE_SCRIPT],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fresh_process_race_gives_the_serial_results(race_report):
    assert race_report["errors"] == []
    assert race_report["same_as_serial"] and race_report["singles_match"]


def test_fresh_process_loads_the_default_model_once(race_report):
    assert race_report["counts"]["load_model"] == 1
    assert race_report["overlaps"]["load_model"] == 0


def test_fresh_process_builds_the_segmentation_engine_once(race_report):
    counts, overlaps = race_report["counts"], race_report["overlaps"]
    assert counts["rjieba"] + counts["jieba"] == 1
    assert overlaps["rjieba"] == overlaps["jieba"] == 0


def test_fresh_process_builds_opencc_and_the_lexicon_once(race_report):
    counts, overlaps = race_report["counts"], race_report["overlaps"]
    assert counts["opencc"] == 1 and counts["lexicon"] == 1
    assert overlaps["opencc"] == overlaps["lexicon"] == 0


# --------------------------------------------------------------------------- processes


def _messages(n: int = 700) -> list[Message]:
    kinds = [MessageKind.TEXT] * 5 + [MessageKind.IMAGE, MessageKind.SYSTEM, MessageKind.ERROR, MessageKind.QUOTE]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        text = f"{i % 37}号楼{TEXTS[i % len(TEXTS)]}" if kind in (MessageKind.TEXT, MessageKind.QUOTE) else "[图片]"
        out.append(Message(text=text, kind=kind, line=i + 1, index=i, error="bad" if kind == MessageKind.ERROR else ""))
    # a whole chunk with nothing to classify
    out.extend(Message(text="[图片]", kind=MessageKind.IMAGE, line=n + j + 1, index=n + j) for j in range(60))
    return out


def _summary(items) -> list[tuple]:
    return [(c.message.index, c.status, c.prediction) for c in items]


def test_two_worker_processes_equal_one(model_copy):
    messages = _messages()
    one = _summary(classify_messages(messages, model=model_copy, chunk_size=50, workers=1))
    two = _summary(classify_messages(messages, model=model_copy, chunk_size=50, workers=2))
    assert len(one) == len(messages)
    assert [i for i, _, _ in one] == list(range(len(messages)))
    assert two == one


def test_worker_processes_with_an_unsaved_model(small_model):
    """A model without a directory is shipped to the workers by pickling."""
    assert getattr(small_model, "path_", None) is None
    messages = _messages(300)
    one = _summary(classify_messages(messages, model=small_model, chunk_size=40, workers=1))
    two = _summary(classify_messages(messages, model=small_model, chunk_size=40, workers=2))
    assert two == one
