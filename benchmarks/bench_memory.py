"""Peak memory of batch classification does not grow with the size of the chat log.

Usage::

    python benchmarks/bench_memory.py                     # 10k, 100k and 1M messages
    python benchmarks/bench_memory.py --sizes 10000 50000 # quicker

For each size a MemoTrace TXT log is generated (streamed to a temporary file, so the parent
holds none of it), then a **fresh subprocess** loads the shipped model, runs
``triage.batch.classify_log`` over the file and writes every record through
``RecordWriter(os.devnull, format="csv")`` (masking on, as by default). The child prints its
peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``) once the model is loaded and
again after the whole log; the table shows both and the growth. Classification is streamed
in chunks of ``chunk_size`` messages (2,000 by default), so the peak after the log should
be the same for 10k and 1M messages, within a few MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)

TEMPLATES = [
    "{b}号楼{r}室漏水了，楼下天花板在滴水",
    "请问{b}栋的快递柜坏了吗？",
    "刚才在{b}号门看到有人撬电瓶车，穿黑衣服",
    "收到",
    "好的，谢谢张警官[强]",
    "救命！{b}号楼{r}着火了",
    "我的钱包在{b}路公交上丢了，有身份证",
    "有人打电话说我医保卡异常，让我转账，电话是138{p}",
    "@张警官\u2005东门的监控是不是坏了？",
    "明天上午{h}点到12点{b}栋停水检修",
    "车牌沪A{p5}挡住消防通道了",
    "楼上装修每天早上七点就开始砸墙，{b}栋{r}",
    "「老周：小区门口有人发传单」\n- - - - - - - - - - - - - - -\n这是诈骗，别信",
    "小区门口有人发传单\n说能办低息贷款",
]
MEDIA = ["[图片]", "[语音]", "[视频]", "[表情]"]
NAMES = ["老周", "3栋王阿姨", "张警官", "物业小李", "5栋刘先生", "陈姐"]


def write_log(path: Path, n: int, seed: int = 0) -> None:
    """A MemoTrace TXT export of ``n`` messages (about 1 in 8 is media or a system line)."""
    rng = random.Random(seed)
    base = 1_709_600_000
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i in range(n):
            t = time.gmtime(base + i * 7)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", t)
            roll = rng.random()
            if roll < 0.02:
                fh.write(f"{stamp} {rng.choice(NAMES)}撤回了一条消息\n\n")
                continue
            if roll < 0.12:
                body = rng.choice(MEDIA)
            else:
                body = rng.choice(TEMPLATES).format(
                    b=rng.randint(1, 40), r=rng.randint(101, 2999), h=rng.randint(7, 11),
                    p=f"{rng.randint(0, 99_999_999):08d}", p5=f"{rng.randint(0, 99_999):05d}",
                )
            fh.write(f"{stamp} {rng.choice(NAMES)}\n{body}\n\n")


CHILD = r"""
import json, os, resource, sys, time
from triage.api import default_model
from triage.batch import BatchSummary, classify_log
from triage.outputs import RecordWriter

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

path, chunk = sys.argv[1], int(sys.argv[2])
model = default_model()
model.predict("预热")  # build the segmenter and compiled predictor before measuring
loaded = peak_mb()
summary = BatchSummary()
start = time.perf_counter()
with RecordWriter(os.devnull, format="csv") as writer:
    for item in classify_log(path, model=model, format="memotrace_txt", chunk_size=chunk):
        writer.write(item)
        summary.add(item)
elapsed = time.perf_counter() - start
print(json.dumps({"loaded_mb": loaded, "peak_mb": peak_mb(), "read": summary.read,
                  "classified": summary.classified, "seconds": elapsed, "reconciles": summary.reconciles()}))
"""


def run(path: Path, chunk: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(chunk)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--chunk-size", type=int, default=2000)
    args = parser.parse_args(argv)

    print(f"# MemoTrace TXT logs classified by triage.batch.classify_log (chunk_size={args.chunk_size}), "
          "written as CSV to os.devnull; one fresh process per size")
    print(f"{'messages':>10} {'file MB':>8} {'read':>10} {'classified':>10} {'seconds':>8} {'msg/s':>8} "
          f"{'RSS model MB':>13} {'peak RSS MB':>12} {'growth MB':>10}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"memotrace_{n}.txt"
            write_log(path, n)
            r = run(path, args.chunk_size)
            assert r["reconciles"] and r["read"] == n, r
            size_mb = path.stat().st_size / 1e6
            path.unlink()
            rows.append((n, r))
            print(f"{n:>10,} {size_mb:>8.1f} {r['read']:>10,} {r['classified']:>10,} {r['seconds']:>8.1f} "
                  f"{n / r['seconds']:>8.0f} {r['loaded_mb']:>13.1f} {r['peak_mb']:>12.1f} "
                  f"{r['peak_mb'] - r['loaded_mb']:>10.1f}", flush=True)
    if len(rows) > 1:
        (n0, a), (n1, b) = rows[0], rows[-1]
        print(f"\n# {n1 // n0}x more messages: peak RSS {a['peak_mb']:.1f} -> {b['peak_mb']:.1f} MB "
              f"({b['peak_mb'] - a['peak_mb']:+.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
