"""Batch classification: every message exactly once, in order, with a status."""

from __future__ import annotations

import json
import os
import time

import pytest

from triage.batch import BatchSummary, chunked, classify_messages, in_chunk_order, pack_messages, predict_frame, unpack_messages
from triage.cli import main
from triage.exceptions import ChatLogDecodeError
from triage.records import Message, MessageKind

MESSAGES = [
    Message("救命 楼下着火了", line=1, index=0),
    Message("[图片]", kind=MessageKind.IMAGE, line=2, index=1),
    Message('"刘先生" 撤回了一条消息', kind=MessageKind.RECALL, line=3, index=2),
    Message("收到", line=4, index=3),
    Message("garbled", kind=MessageKind.ERROR, error="no header", line=5, index=4),
    Message("   ", line=6, index=5),
    Message("收到", line=7, index=6),
]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 100])
def test_every_message_once_in_order(shipped_model, chunk_size):
    out = list(classify_messages(MESSAGES, model=shipped_model, chunk_size=chunk_size))
    assert [o.message for o in out] == MESSAGES
    assert [o.status for o in out] == ["classified", "skipped", "skipped", "classified", "error", "skipped", "classified"]
    assert out[0].prediction.urgency == "critical"
    assert out[3].prediction == out[6].prediction
    summary = BatchSummary()
    for o in out:
        summary.add(o)
    assert summary.reconciles() and summary.read == len(MESSAGES) and summary.errors == 1


def test_messages_read_before_a_reader_error_are_not_lost(shipped_model):
    def source():
        yield from MESSAGES[:3]
        raise ChatLogDecodeError("log.txt: cannot decode byte 0xff at offset 120")

    seen = []
    with pytest.raises(ChatLogDecodeError, match="offset 120"):
        for item in classify_messages(source(), model=shipped_model, chunk_size=100):
            seen.append(item.message)
    assert seen == MESSAGES[:3]


def test_rows_have_null_predictions_for_skipped_messages(shipped_model):
    rows = [o.to_row() for o in classify_messages(MESSAGES, model=shipped_model)]
    assert rows[1]["category"] is None and rows[1]["confidence"] is None
    assert json.loads(json.dumps(rows, ensure_ascii=False)) == rows


def test_rows_mask_numbers_by_default(shipped_model):
    m = [Message("我电话13812345678 车牌沪A·D3K21 挡住了")]
    (item,) = classify_messages(m, model=shipped_model)
    assert "13812345678" not in item.to_row()["text"]
    assert "13812345678" in item.to_row(mask=False)["text"]


def test_predict_frame_handles_missing_values(shipped_model):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"内容": ["救命 着火了", None, float("nan"), "收到"]})
    df["内容"] = df["内容"].astype("string")
    out = predict_frame(df, text_column="内容", model=shipped_model)
    assert list(out.columns) == ["内容", "category", "urgency", "confidence", "needs_review", "flags"]
    assert out["urgency"].iloc[0] == "critical" and out["flags"].iloc[1] == "empty"
    with pytest.raises(KeyError, match="expected a column 'text'"):
        predict_frame(df, model=shipped_model)


def test_worker_processes_give_the_same_results(shipped_model):
    many = [Message(f"{t} {i}", line=i + 1, index=i) for i, t in enumerate(["收到", "救命 着火了", "钱包丢了"] * 40)]
    one = [o.prediction for o in classify_messages(many, model=shipped_model, chunk_size=16)]
    for workers in (2, 3):
        out = list(classify_messages(many, model=shipped_model, chunk_size=16, workers=workers))
        assert [o.message for o in out] == many
        assert [o.prediction for o in out] == one


def _chunk_length(model, payload):
    return (len(payload), payload[0] if payload else None)


def test_in_chunk_order_keeps_order_and_finishes_chunks_read_before_an_error(shipped_model):
    def source():
        yield from MESSAGES * 5
        raise ChatLogDecodeError("log.txt: cannot decode byte 0xff at offset 9")

    got = []
    with pytest.raises(ChatLogDecodeError, match="offset 9"):
        for chunk, result in in_chunk_order(
            chunked(source(), 3), _chunk_length, pack_messages, local_payload=list, model=shipped_model, workers=2
        ):
            assert result[0] == len(chunk)
            # a helper received tuples, this process the Message objects: both are the chunk's first record
            assert unpack_messages([result[1]]) == [chunk[0]]
            got.extend(chunk)
    assert got == MESSAGES * 5


_PARENT = os.getpid()


def _raise_on_chunk(model, payload):
    if os.getpid() != _PARENT:
        time.sleep(0.05)  # slow helpers: this process does most chunks, the bad one included
    if payload and payload[0] == 150:
        raise ValueError("chunk starting at 150 is bad")
    return list(payload)


@pytest.mark.parametrize("workers", [2, 3])
def test_in_chunk_order_raises_a_chunks_error_in_its_turn(shipped_model, workers):
    # every chunk before the bad one comes out first, wherever the bad one ran
    got = []
    with pytest.raises(ValueError, match="starting at 150"):
        for chunk, result in in_chunk_order(
            chunked(list(range(300)), 2), _raise_on_chunk, list, model=shipped_model, workers=workers
        ):
            got.extend(result)
    assert got == list(range(150))


def test_chunked_can_be_closed_early():
    chunks = chunked(iter(range(10)), 3)
    assert next(chunks) == [0, 1, 2]
    chunks.close()  # no "generator ignored GeneratorExit"


def test_forkserver_helpers_get_the_model_as_it_is_in_memory():
    """With another thread alive, helpers are fresh interpreters: they must still use the
    parameters set on the model object, not reload it from disk."""
    import threading

    from triage.api import default_model_dir
    from triage.persist import load_model

    model = load_model(default_model_dir()).set_params(confidence_threshold=1.01)  # everything needs review
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        many = [Message(f"收到 {i}", line=i + 1, index=i) for i in range(60)]
        out = list(classify_messages(many, model=model, chunk_size=5, workers=2))
    finally:
        stop.set()
        other.join()
    assert [o.message for o in out] == many
    assert all(o.prediction.needs_review for o in out)


def test_pack_messages_round_trip():
    packed = pack_messages(MESSAGES)
    assert all(isinstance(row, tuple) for row in packed)
    assert unpack_messages(packed) == MESSAGES
    assert unpack_messages(MESSAGES) == MESSAGES and unpack_messages([]) == []


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_write_log_with_workers_writes_the_same_file(tmp_path, shipped_model, shared_dir, suffix):
    from triage.outputs import RecordWriter

    log = shared_dir / "chatformats" / "memotrace-v2-txt.txt"
    outputs = []
    for workers in (1, 2):
        path = tmp_path / f"w{workers}{suffix}"
        reports = []
        with RecordWriter(path) as writer:
            reports = list(writer.write_log(log, model=shipped_model, chunk_size=3, workers=workers))
        summary = BatchSummary()
        for report in reports:
            summary.update(report.summary)
        assert summary.reconciles() and summary.read == sum(r.rows for r in reports) == writer.rows
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    # the same rows as writing classify_messages' records one by one
    from triage.batch import classify_log

    path = tmp_path / f"one_by_one{suffix}"
    with RecordWriter(path) as writer:
        for item in classify_log(log, model=shipped_model):
            writer.write(item)
    assert path.read_bytes() == outputs[0]


def test_write_log_needs_an_open_writer(tmp_path, shipped_model):
    from triage.outputs import RecordWriter

    writer = RecordWriter(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="expected an open RecordWriter"):
        next(writer.write_log(tmp_path / "log.txt", model=shipped_model))


def test_cli_classify_writes_every_row_and_summary(tmp_path, capsys, shared_dir):
    out = tmp_path / "out.jsonl"
    log = shared_dir / "chatformats" / "memotrace-v2-txt.txt"
    assert main(["classify", str(log), "-o", str(out), "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    err = capsys.readouterr().err
    assert f"messages read: {len(rows)}" in err and rows[0]["line"] == 1
    assert [r["index"] for r in rows] == list(range(len(rows)))


def test_cli_classify_exit_code_on_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00\xd8" * 10 + b"\x81")
    out = tmp_path / "out.csv"
    assert main(["classify", str(bad), "-o", str(out), "-q"]) == 1
    assert main(["classify", str(bad), "-o", str(out), "-q", "--keep-going"]) == 0
    assert "could not be read" in capsys.readouterr().err
