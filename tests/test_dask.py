"""triage.dask on a LocalCluster with 2 worker processes: same results as local, nothing lost."""

from __future__ import annotations

import argparse
import functools
import json
import os
import pickle
from pathlib import Path

import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import triage  # noqa: E402
import triage.dask as tdask  # noqa: E402
from triage.api import default_model_dir  # noqa: E402
from triage.batch import BatchSummary, classify_messages, predict_frame  # noqa: E402
from triage.dask_cli import parse_scheduler, run_distributed  # noqa: E402
from triage.records import Message  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEST_SET = ROOT / "datasets" / "test.jsonl"


def _texts(n: int) -> list[str]:
    with open(TEST_SET, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    return texts[:n]


def _jsonl_reader():
    """A picklable reader for the generic JSONL logs written below."""
    from triage.readers.generic import read_generic

    return functools.partial(read_generic, format="jsonl")


def _read_log():
    try:
        from triage.readers import read_log
    except ImportError:
        pytest.skip("triage.readers.read_log is not available yet")
    return read_log


@pytest.fixture(scope="module")
def client():
    # ":0": no clash on port 8787 in CI; processes: the model cache must be per process
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> list[str]:
    """Three generic JSONL logs with media, system, empty, unparsable, long and PII lines."""
    directory = tmp_path_factory.mktemp("logs")
    texts = _texts(300)
    special = [
        {"text": "[图片]", "sender": "居民甲"},
        {"text": "“张三”邀请“李四”加入了群聊", "sender": ""},
        {"text": "", "sender": "居民乙"},
        {"text": "我的手机13812345678，3号楼着火了！", "sender": "居民丙"},
        {"text": "楼道有人吵架" * 400, "sender": "居民丁"},  # > max_chars: truncated
    ]
    paths = []
    for i, (start, stop) in enumerate([(0, 40), (40, 60), (60, 300)]):
        path = directory / f"group{i}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for j, text in enumerate(texts[start:stop]):
                fh.write(json.dumps({"text": text, "sender": f"u{j % 7}"}, ensure_ascii=False) + "\n")
                if j % 50 == 3:
                    fh.write(json.dumps(special[(i + j) % len(special)], ensure_ascii=False) + "\n")
                if j == 10:
                    fh.write("{not json\n")
        paths.append(str(path))
    return paths


def _local_rows(paths, reader, chunk_size) -> dict[tuple[str, int], dict]:
    """Local rows by (source, index), classified in the chunks the cluster used."""
    rows = {}
    for path in paths:
        for item in classify_messages(reader(path), chunk_size=chunk_size):
            row = item.to_row()
            rows[row["source"], row["index"]] = row
    return rows


def _read_parts(result) -> list[dict]:
    rows = []
    for name in result.parts:
        path = os.path.join(result.output_dir, name)
        if result.output_format == "jsonl":
            with open(path, encoding="utf-8") as fh:
                rows.extend(json.loads(line) for line in fh)
        else:
            frame = pd.read_parquet(path)
            for row in frame.to_dict("records"):
                row["mentions"], row["flags"] = list(row["mentions"]), list(row["flags"])
                for key, value in row.items():
                    if not isinstance(value, list) and value is not None and pd.isna(value):
                        row[key] = None
                if row["needs_review"] is not None:
                    row["needs_review"] = bool(row["needs_review"])
                rows.append(row)
    return rows


# ----------------------------------------------------------------------------- DataFrame, Bag


def _sizes(collection) -> list[int]:
    """Lengths of the partitions of a dask DataFrame or Bag."""
    if isinstance(collection, db.Bag):
        return collection.map_partitions(lambda part: [len(part)]).compute()
    return collection.map_partitions(len).compute().tolist()


def _split(items, sizes):
    start = 0
    for size in sizes:
        yield items[start : start + size]
        start += size


# Probabilities are compared with local calls on the same batches: the model's arithmetic may
# differ in the last bits with the batch it is given (BLAS blocking), on a cluster or not.


def test_classify_dataframe_matches_local_predict(client):
    texts = _texts(400)
    frame = pd.DataFrame({"text": [*texts, None, "", "救命！3号楼602着火了"], "n": range(len(texts) + 3)})
    ddf = dd.from_pandas(frame, npartitions=5)
    result = tdask.classify_dataframe(ddf).compute()

    local = frame.astype({"text": object})
    expected = pd.concat([predict_frame(part) for part in _split(local, _sizes(ddf))])
    assert list(result.columns) == ["text", "n", *tdask.PREDICTION_COLUMNS]
    assert result["n"].tolist() == frame["n"].tolist()  # every row once, in order
    for column in tdask.PREDICTION_COLUMNS:
        assert result[column].tolist() == expected[column].tolist(), column
    preds = triage.predict(texts)  # one local call over everything: same labels
    assert result["category"].tolist()[: len(texts)] == [p.category for p in preds]
    assert result["urgency"].tolist()[: len(texts)] == [p.urgency for p in preds]
    assert result["confidence"].tolist()[: len(texts)] == pytest.approx([p.confidence for p in preds], abs=1e-4)
    assert result["flags"].iloc[len(texts)] == "empty"  # missing text


def test_classify_dataframe_meta_and_prefix(client):
    ddf = dd.from_pandas(pd.DataFrame({"msg": _texts(30)}), npartitions=3)
    out = tdask.classify_dataframe(ddf, "msg", prefix="p_")
    computed = out.compute()
    assert list(out.columns) == ["msg", "p_category", "p_urgency", "p_confidence", "p_needs_review", "p_flags"]
    assert dict(out.dtypes) == dict(computed.dtypes)
    with pytest.raises(KeyError, match="'text'"):
        tdask.classify_dataframe(ddf)
    with pytest.raises(TypeError, match="dask DataFrame"):
        tdask.classify_dataframe(pd.DataFrame({"text": ["x"]}))


def test_classify_bag_of_messages_and_strings(client):
    texts = _texts(120)
    messages = [Message(text=t, index=i, source="bag") for i, t in enumerate(texts)]
    messages += [Message(text="[图片]", kind="image", index=len(texts), source="bag")]
    bag = db.from_sequence(messages, partition_size=40)
    got = tdask.classify_bag(bag).compute()
    want = [w for part in _split(messages, _sizes(bag)) for w in classify_messages(part)]
    assert [(g.message.index, g.status, g.prediction) for g in got] == [
        (w.message.index, w.status, w.prediction) for w in want
    ]
    assert got[-1].status == "skipped" and got[-1].prediction is None
    assert [g.prediction.category for g in got[:-1]] == [p.category for p in triage.predict(texts)]

    bag = db.from_sequence(texts, partition_size=50)
    preds = tdask.classify_bag(bag).compute()
    assert preds == [p for part in _split(texts, _sizes(bag)) for p in triage.predict(part)]
    with pytest.raises(TypeError, match="not mixed"):
        tdask.classify_bag(db.from_sequence(["a", messages[0]], npartitions=1)).compute()


def test_model_loaded_once_per_worker_not_shipped(client):
    tdask.preload_model(client)
    ddf = tdask.classify_dataframe(dd.from_pandas(pd.DataFrame({"text": _texts(200)}), npartitions=10))
    ddf.compute()
    tdask.classify_dataframe(dd.from_pandas(pd.DataFrame({"text": _texts(50)}), npartitions=4)).compute()
    loads = client.run(tdask.model_loads)
    assert len(loads) == 2
    assert all(counts.get("default") == 1 for counts in loads.values()), loads
    assert tdask.model_loads().get("default", 0) == 0  # nothing loaded on the client by dask paths
    # the graph carries a model directory, not the ~8 MB model
    graph = dict(ddf.__dask_graph__())
    assert len(pickle.dumps(graph)) < 200_000


def test_explicit_model_dir_cached_under_its_path(client):
    model_dir = str(default_model_dir())
    texts = _texts(60)
    for _ in range(2):
        out = tdask.classify_dataframe(
            dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=4), model_dir=model_dir
        ).compute()
    assert out["category"].tolist() == [p.category for p in triage.predict(texts)]
    assert out["urgency"].tolist() == [p.urgency for p in triage.predict(texts)]
    loads = client.run(tdask.model_loads)
    assert all(counts.get(model_dir, 0) <= 1 for counts in loads.values()), loads
    assert sum(counts.get(model_dir, 0) for counts in loads.values()) >= 1


# ----------------------------------------------------------------------------- log files


@pytest.mark.parametrize(
    ("output_format", "split_bytes"),
    [("parquet", 1 << 30), ("jsonl", 1 << 30), ("parquet", 0), ("jsonl", 0)],
    ids=["parquet-file-tasks", "jsonl-file-tasks", "parquet-chunk-tasks", "jsonl-chunk-tasks"],
)
def test_logs_exactly_once_and_identical(client, logs, tmp_path, output_format, split_bytes):
    reader = _jsonl_reader()
    result = tdask.classify_logs_distributed(
        logs,
        tmp_path / "out",
        client=client,
        output_format=output_format,
        partition_size=37,  # several parts per file, a short last one
        split_bytes=split_bytes,  # 0: every file is read by one task, classified by several
        reader=reader,
    )
    rows = _read_parts(result)
    keys = [(r["source"], r["index"]) for r in rows]
    expected = _local_rows(logs, reader, chunk_size=37)
    assert len(keys) == len(set(keys)), "duplicated messages"
    assert set(keys) == set(expected), "lost or invented messages"
    for row in rows:
        assert row == expected[row["source"], row["index"]]

    local = BatchSummary()
    for path in logs:
        for item in classify_messages(reader(path)):
            local.add(item)
    assert result.summary == local and result.summary.reconciles()
    assert result.rows == len(rows) and result.failed_files == []
    assert len(result.error_lines) == local.errors == 3
    assert all(name.endswith("." + output_format) for name in result.parts)
    assert not [n for n in os.listdir(result.output_dir) if n.endswith(".tmp")]
    manifest = json.loads((tmp_path / "out" / tdask.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["rows"] == len(rows)
    assert sorted(p["name"] for f in manifest["files"] for p in f["parts"]) == result.parts
    if output_format == "parquet":
        assert len(pd.read_parquet(tmp_path / "out")) == len(rows)  # the directory reads as one table


def test_logs_missing_file_and_existing_output(client, logs, tmp_path):
    reader = _jsonl_reader()
    missing = str(tmp_path / "nope.jsonl")
    result = tdask.classify_logs_distributed(
        [logs[0], missing], tmp_path / "out", client=client, output_format="jsonl", reader=reader
    )
    assert [source for source, _ in result.failed_files] == [missing]
    assert result.rows == len(_local_rows([logs[0]], reader, chunk_size=tdask.DEFAULT_PARTITION_SIZE))
    with pytest.raises(FileExistsError, match="overwrite"):
        tdask.classify_logs_distributed([logs[1]], tmp_path / "out", client=client, reader=reader)
    again = tdask.classify_logs_distributed(
        [logs[1]], tmp_path / "out", client=client, reader=reader, overwrite=True
    )
    assert sorted(os.listdir(tmp_path / "out")) == sorted([*again.parts, tdask.MANIFEST_NAME])
    with pytest.raises(ValueError, match="output_format"):
        tdask.classify_logs_distributed(logs, tmp_path / "x", client=client, output_format="csv")


@pytest.mark.parametrize("split_bytes", [1 << 30, 0], ids=["file-task", "chunk-tasks"])
def test_log_failing_part_way_keeps_what_was_read(client, tmp_path, split_bytes):
    path = tmp_path / "broken.jsonl"
    with open(path, "wb") as fh:
        for i, text in enumerate(_texts(150)):
            fh.write(json.dumps({"text": text, "n": i}, ensure_ascii=False).encode("utf-8") + b"\n")
        fh.write(b"\xff\xfe not utf-8\n" + b'{"text": "after"}\n' * 5)
    reader = functools.partial(_jsonl_reader(), encoding="utf-8")
    read_before = []
    with pytest.raises(triage.ChatLogError):
        for message in reader(str(path)):
            read_before.append(message.index)
    assert read_before  # the test needs a failure after some messages

    result = tdask.classify_logs_distributed(
        [str(path)], tmp_path / "out", client=client, partition_size=37, split_bytes=split_bytes, reader=reader
    )
    assert [source for source, _ in result.failed_files] == [str(path)]
    assert "byte offset" in result.failed_files[0][1]
    assert sorted(row["index"] for row in _read_parts(result)) == read_before


def test_logs_default_reader(client, logs, tmp_path):
    read_log = _read_log()
    result = tdask.classify_logs_distributed(logs, tmp_path / "out", client=client, output_format="jsonl")
    rows = _read_parts(result)
    expected = _local_rows(logs, read_log, chunk_size=tdask.DEFAULT_PARTITION_SIZE)
    assert sorted((r["source"], r["index"]) for r in rows) == sorted(expected)
    assert all(row == expected[row["source"], row["index"]] for row in rows)


@pytest.mark.parametrize("split_bytes", [1 << 30, 0], ids=["file-task", "chunk-tasks"])
def test_logs_exactly_once_when_a_worker_dies(client, logs, tmp_path, split_bytes):
    from triage.readers.generic import read_generic

    victim, marker = logs[2], str(tmp_path / "killed")

    def dying_reader(path):  # a closure: shipped by value, kills its worker once, mid-file
        for i, message in enumerate(read_generic(path, format="jsonl")):
            if path == victim and i == 80 and not os.path.exists(marker):
                open(marker, "w", encoding="utf-8").close()
                os._exit(1)
            yield message

    result = tdask.classify_logs_distributed(
        logs, tmp_path / "out", client=client, partition_size=37, split_bytes=split_bytes, reader=dying_reader
    )
    assert os.path.exists(marker)  # a worker did die
    rows = _read_parts(result)
    keys = [(r["source"], r["index"]) for r in rows]
    assert len(keys) == len(set(keys)) == result.rows
    assert set(keys) == set(_local_rows(logs, _jsonl_reader(), chunk_size=37))
    assert not [n for n in os.listdir(result.output_dir) if n.endswith(".tmp")]
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker


# ----------------------------------------------------------------------------- command line


def _args(**kw) -> argparse.Namespace:
    defaults = dict(
        logs=[], output="out", scheduler="local:1", format=None, encoding=None, text_col=None, time_col=None,
        sender_col=None, group_col=None, model=None, workers=1, chunk_size=2000, no_mask=False,
        keep_going=False, quiet=True, output_format=None, partition_size=50, overwrite=False,
    )  # fmt: skip
    defaults.update(kw)
    return argparse.Namespace(**defaults)


def test_run_distributed_on_cluster_address(client, logs, tmp_path, capsys):
    _read_log()
    out = tmp_path / "out.jsonl"
    args = _args(logs=logs, output=str(out), scheduler=client.scheduler.address)
    assert run_distributed(args) == 1  # the logs hold unparsable lines
    err = capsys.readouterr().err
    assert "messages read:" in err and "errors: 3" in err and f"to {out}" in err
    assert all(name.endswith(".jsonl") for name in os.listdir(out) if name.startswith("part-"))
    assert run_distributed(_args(logs=logs, output=str(out), scheduler=client.scheduler.address, keep_going=True)) == 2
    assert "overwrite" in capsys.readouterr().err
    args = _args(logs=logs, output=str(out), scheduler=client.scheduler.address, keep_going=True, overwrite=True)
    assert run_distributed(args) == 0


def test_parse_scheduler_and_option_errors(capsys):
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("local")[0] == "local"
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("local:0", "local:x", ""):
        with pytest.raises(ValueError):
            parse_scheduler(bad)
    assert run_distributed(_args(output="-")) == 2
    assert run_distributed(_args(output="x.csv")) == 2
    assert run_distributed(_args(workers=4)) == 2
    assert run_distributed(_args(scheduler="local:0")) == 2
    assert "triage classify:" in capsys.readouterr().err
