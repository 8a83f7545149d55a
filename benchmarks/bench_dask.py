"""Throughput of triage on a local Dask cluster with 1 and 2 worker processes, side by side.

    python benchmarks/bench_dask.py                      # 60,000 messages in 8 logs
    python benchmarks/bench_dask.py --messages 200000 --workers 1 2 4

Messages are unique (so the per-chunk de-duplication of ``predict`` does not flatter the
figures): real SMS from ``../shared/data/nus_sms_zh`` when present, else the training texts,
with a short ``#n`` suffix on repeats. They are written as generic JSONL chat logs and run
through :func:`triage.dask.classify_logs_distributed` (read → classify → Parquet parts), and
through :func:`triage.dask.classify_dataframe`. Each cluster has workers of 1 thread; the
model is preloaded (its load time is reported, not counted). All clusters stay up and the
rounds alternate between them, each showing its best round, so that other load on a shared
machine weighs on both alike; the "CPU ceiling" line says how well the machine itself scaled
plain Python work over 2 processes meanwhile. Also reported: the resident memory of each
worker after loading the model and after the runs (current and peak).
Exits 0 with a message when dask or the texts are not available.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUS = ROOT.parent / "shared" / "data" / "nus_sms_zh" / "nus_sms_zh.csv"
TRAIN = ROOT / "datasets" / "train.jsonl"
if str(ROOT) not in sys.path:  # a source checkout, run as a script
    sys.path.insert(0, str(ROOT))


def load_texts(n: int) -> tuple[list[str], str]:
    """``n`` unique non-empty texts and the name of their source."""
    if NUS.is_file():
        with open(NUS, encoding="utf-8", newline="") as fh:
            base = [row["text"] for row in csv.DictReader(fh) if row["text"].strip()]
        source = "nus_sms_zh"
    elif TRAIN.is_file():
        with open(TRAIN, encoding="utf-8") as fh:
            base = [json.loads(line)["text"] for line in fh if line.strip()]
        source = "datasets/train.jsonl"
    else:
        return [], ""
    seen: set[str] = set()
    texts = []
    for i in range(n):
        text = base[i % len(base)]
        if text in seen:
            text = f"{text} #{i}"
        seen.add(text)
        texts.append(text)
    return texts, source


def write_logs(texts: list[str], directory: Path, files: int) -> list[str]:
    paths = []
    per_file = -(-len(texts) // files)
    for f in range(files):
        path = directory / f"group{f:03d}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for j, text in enumerate(texts[f * per_file : (f + 1) * per_file]):
                fh.write(json.dumps({"text": text, "sender": f"居民{j % 50}"}, ensure_ascii=False) + "\n")
        paths.append(str(path))
    return paths


def worker_memory() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB (runs on the workers)."""
    import psutil

    rss = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    return rss, peak


def _burn(_: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return time.perf_counter() - t0


def cpu_ceiling(n: int) -> float:
    """How much more pure-Python work ``n`` processes do than 1 on this machine right now."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(n) as pool:
        pool.map(_burn, range(n))  # start-up
        one = pool.map(_burn, [0])[0]
        many = pool.map(_burn, range(n))
    return n * one / max(many)


def run_once(client, n_workers: int, paths: list[str], texts: list[str], out: Path, partition_size: int):
    """Seconds for the log job and for classify_dataframe on one cluster."""
    import dask.dataframe as dd
    import pandas as pd
    from distributed import wait

    from triage.dask import classify_dataframe, classify_logs_distributed

    t0 = time.perf_counter()
    result = classify_logs_distributed(
        paths, out / f"w{n_workers}", client=client, partition_size=partition_size, overwrite=True
    )
    logs_s = time.perf_counter() - t0
    assert result.rows == len(texts), (result.rows, len(texts))

    ddf = dd.from_pandas(pd.DataFrame({"text": texts}), chunksize=partition_size).persist()
    wait(ddf)  # the texts are on the workers before the clock starts
    t0 = time.perf_counter()
    n = len(classify_dataframe(ddf).compute())
    frame_s = time.perf_counter() - t0
    assert n == len(texts)
    del ddf
    return logs_s, frame_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--partition-size", type=int, default=5_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2, help="rounds; each cluster's best round is shown")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every round")
    args = parser.parse_args(argv)
    try:
        from distributed import Client, LocalCluster

        from triage.dask import preload_model
    except ImportError as exc:
        print(f"skipped: the dask extra is not installed ({exc}); pip install 'triage[dask]'")
        return 0
    texts, source = load_texts(args.messages)
    if not texts:
        print(f"skipped: neither {NUS} nor {TRAIN} is present")
        return 0

    from triage.api import default_model
    import pandas as pd

    from triage.batch import classify_log, predict_frame
    from triage.outputs import RecordWriter

    top = max(args.workers)
    print(f"{len(texts)} unique messages from {source} in {args.files} JSONL logs; "
          f"partition size {args.partition_size}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; worker processes of 1 thread each")
    model = default_model()
    model.predict("预热")

    rows = {n: {"workers": n, "logs_s": math.inf, "frame_s": math.inf} for n in args.workers}
    ceilings = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        paths = write_logs(texts, Path(tmp), args.files)
        # the same two jobs in this process, without dask: triage classify → JSONL, predict_frame
        t0 = time.perf_counter()
        with RecordWriter(Path(tmp) / "local.jsonl") as writer:
            for item in classify_log(paths, model=model, chunk_size=args.partition_size):
                writer.write(item)
        local_logs = len(texts) / (time.perf_counter() - t0)
        frame = pd.DataFrame({"text": texts})
        t0 = time.perf_counter()
        for start in range(0, len(frame), args.partition_size):
            predict_frame(frame.iloc[start : start + args.partition_size], model=model)
        local_frame = len(texts) / (time.perf_counter() - t0)
        clients = {}
        for n in args.workers:  # all clusters up at once; rounds alternate between them
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )  # fmt: skip
            clients[n] = client = stack.enter_context(Client(cluster))
            t0 = time.perf_counter()
            preload_model(client)
            rows[n]["load_s"] = time.perf_counter() - t0
            rows[n]["rss_load"] = max(r for r, _ in client.run(worker_memory).values())
        for _ in range(args.repeat):
            ceilings.append(cpu_ceiling(top))
            for n, client in clients.items():
                logs_s, frame_s = run_once(client, n, paths, texts, Path(tmp) / "out", args.partition_size)
                if args.verbose:
                    print(f"  {n} worker(s): logs {len(texts) / logs_s:.0f} msg/s, dataframe {len(texts) / frame_s:.0f} msg/s")
                rows[n]["logs_s"] = min(rows[n]["logs_s"], logs_s)
                rows[n]["frame_s"] = min(rows[n]["frame_s"], frame_s)
        for n, client in clients.items():
            memory = client.run(worker_memory).values()
            rows[n]["rss_run"] = max(r for r, _ in memory)
            rows[n]["peak_run"] = max(p for _, p in memory)

    ceiling = max(ceilings)
    print(f"CPU ceiling: {top} busy processes did up to {ceiling:.2f}x the work of 1 on this machine during the run")
    print(f"\nbest of {args.repeat} rounds")
    print("workers  logs→parquet msg/s  dataframe msg/s  model load s  worker RSS MiB: loaded / after runs / peak")
    print(f"no dask  {local_logs:>18.0f}  {local_frame:>15.0f}   (this process; logs → one JSONL file)")
    for r in rows.values():
        print(
            f"{r['workers']:>7}  {len(texts) / r['logs_s']:>18.0f}  {len(texts) / r['frame_s']:>15.0f}"
            f"  {r['load_s']:>12.1f}  {r['rss_load']:>21.0f} / {r['rss_run']:>10.0f} / {r['peak_run']:>4.0f}"
        )
    if 1 in rows and 2 in rows:
        line = (
            f"\n2 workers / 1 worker: logs {rows[1]['logs_s'] / rows[2]['logs_s']:.2f}x, "
            f"dataframe {rows[1]['frame_s'] / rows[2]['frame_s']:.2f}x"
        )
        print(line + (f" (CPU ceiling {ceiling:.2f}x)" if top == 2 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
