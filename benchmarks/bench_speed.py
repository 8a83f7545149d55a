"""Speed of triage side by side with stock jieba, a naive scikit-learn pipeline and fastText.

One process, unique messages (no cache can help), one Markdown table on stdout:

- **throughput** of ``jieba.lcut`` (HMM on: stock jieba; and HMM off), the naive
  scikit-learn Pipeline of issue 6 (``TfidfVectorizer(tokenizer=jieba.lcut)`` + character
  1–3-gram TF-IDF + ``LinearSVC``, fitted in this run on ``datasets/train.jsonl``), fastText
  supervised (trained in this run on the same texts segmented by ``jieba.lcut``,
  ``wordNgrams=2``; predict *including* that segmentation; skipped when ``fasttext`` is not
  importable), ``triage.predict(list)`` and ``triage.predict(str)`` one message at a time;
- **latency** p50/p99 per message of every one-message-per-call row;
- **batch**: two jobs, ``workers=1`` vs ``workers=2``, on a generated MemoTrace v2 TXT chat
  log of ~50k unique messages (written to a temporary directory): the ``triage classify``
  job (``RecordWriter.write_log``: read, classify, mask, format, write CSV) and
  ``classify_log`` iterated in Python (every record and its Prediction back in this process);
- **cold start** (median of 5 fresh interpreters) and their peak RSS:
  ``import triage; triage.predict("你好")`` vs ``import sklearn, jieba; jieba.initialize()``.

Messages: NUS SMS (Chinese) and THUCNews titles from ``<repo>/../shared/data`` when present,
else the project's own ``datasets/test.jsonl``; white space collapsed, duplicates removed.

Throughput is messages per second of **process CPU time** (``time.process_time``), the best of
``--rounds`` interleaved rounds: on a shared machine CPU time is what other jobs disturb
least. The wall-clock rate of the same round is shown beside it; on an idle machine the two
agree. Latencies are wall clock (``perf_counter_ns``) around each call. The batch and
cold-start rows are wall clock (plus CPU for cold start) — they *are* about parallelism and
start-up, so the load average printed above the table matters for them.

    python benchmarks/bench_speed.py              # ≈ 1.5 min on 2 idle cores, up to ~4 min on busy ones
    python benchmarks/bench_speed.py --quick      # smoke run: 3,000 messages, 1 round

fastText is not a dependency of triage: ``pip install fasttext-numpy2`` (or ``fasttext-wheel``)
to get its row. fasttext 0.9.3's Python ``predict`` fails under numpy 2
(``np.array(copy=False)``), so the row calls the low-level ``model.f.predict``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Keep the module top level light: the forkserver of classify_log(workers=2) re-imports it.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED_DATA = ROOT.parent / "shared" / "data"
NUS_SMS = SHARED_DATA / "nus_sms_zh" / "nus_sms_zh.csv"
THUCNEWS = SHARED_DATA / "thucnews_titles" / "thucnews_dev_test.csv"
TRAIN = ROOT / "datasets" / "train.jsonl"
TEST = ROOT / "datasets" / "test.jsonl"

COLD_TRIAGE = 'import triage; triage.predict("你好")'
COLD_BASELINE = "import sklearn, jieba; jieba.initialize()"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data
def _one_line(text: str) -> str:
    return " ".join(text.split())


def _csv_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh) if row.get("text")]


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_messages(limit: int | None) -> tuple[list[str], str]:
    """Unique one-line messages and a description of where they come from."""
    sources, texts = [], []
    for name, path in (("NUS SMS (zh)", NUS_SMS), ("THUCNews titles", THUCNEWS)):
        if path.is_file():
            texts += _csv_texts(path)
            sources.append(name)
    if not texts:
        texts = [r["text"] for r in _jsonl(TEST)]
        sources.append("datasets/test.jsonl (../shared/data not found)")
    unique = list(dict.fromkeys(t for t in map(_one_line, texts) if t))
    if limit:
        unique = unique[:limit]
    return unique, " + ".join(sources)


def log_messages(messages: Sequence[str], n: int) -> list[str]:
    """~n unique one-line messages for the chat log: the benchmark's, the corpus', then variants."""
    pool = list(dict.fromkeys([*messages, *(_one_line(r["text"]) for p in (TRAIN, TEST) for r in _jsonl(p))]))
    pool = [t for t in pool if t]
    out = pool[:n]
    i = 0
    while len(out) < n:  # only without ../shared/data: numbered variants stay unique
        out.append(f"{pool[i % len(pool)]} #{i // len(pool) + 1}")
        i += 1
    return out


def write_memotrace_v2_txt(path: Path, messages: Sequence[str]) -> None:
    """A MemoTrace v2 TXT export: ``YYYY-MM-DD HH:MM:SS sender`` / body / blank line."""
    senders = ("3栋_王阿姨", "5栋刘先生", "张警官", "陈姐", "物业小李", "赵师傅")
    t = _dt.datetime(2024, 3, 5, 8, 0, 0)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i, text in enumerate(messages):
            t += _dt.timedelta(seconds=5 + i % 7)
            fh.write(f"{t:%Y-%m-%d %H:%M:%S} {senders[i % len(senders)]}\n{text}\n\n")


# ------------------------------------------------------------------ measurement
class Result:
    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.n = n
        self.cpu = float("inf")
        self.wall = float("inf")
        self.latencies: list[int] | None = None
        self._lat_wall = float("inf")

    def add(self, cpu: float, wall: float, latencies: list[int] | None) -> None:
        if cpu < self.cpu:
            self.cpu, self.wall = cpu, wall
        if latencies is not None and wall < self._lat_wall:  # the quietest round's latencies
            self.latencies, self._lat_wall = latencies, wall

    @property
    def rate(self) -> float:
        return self.n / self.cpu

    @property
    def wall_rate(self) -> float:
        return self.n / self.wall

    def pct(self, q: float) -> float | None:
        if not self.latencies:
            return None
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0


def per_message(fn: Callable[[str], object], messages: Sequence[str]) -> list[int]:
    """Call fn on each message; the wall-clock nanoseconds of each call."""
    clock = time.perf_counter_ns
    out = []
    append = out.append
    for text in messages:
        t0 = clock()
        fn(text)
        append(clock() - t0)
    return out


def timed(run: Callable[[], list[int] | None]) -> tuple[float, float, list[int] | None]:
    c0, w0 = time.process_time(), time.perf_counter()
    latencies = run()
    return time.process_time() - c0, time.perf_counter() - w0, latencies


# ------------------------------------------------------------------ competitors
def fit_naive_pipeline(texts: list[str], labels: list[str]):
    """Issue 6's naive pipeline: jieba word TF-IDF + character TF-IDF + LinearSVC."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None)),
            ("char", TfidfVectorizer(analyzer="char", ngram_range=(1, 3))),
        ]
    )
    return make_pipeline(features, LinearSVC(random_state=0)).fit(texts, labels)


def fit_fasttext(texts: list[str], labels: list[str], workdir: Path):
    """fastText supervised on jieba.lcut tokens (wordNgrams=2); None when not importable."""
    try:
        import fasttext
    except ImportError:
        return None
    import jieba

    path = workdir / "fasttext_train.txt"
    with open(path, "w", encoding="utf-8") as fh:
        for text, label in zip(texts, labels):
            fh.write(f"__label__{label} {' '.join(jieba.lcut(_one_line(text)))}\n")
    return fasttext.train_supervised(input=str(path), wordNgrams=2, epoch=10, thread=2, verbose=0, seed=0)


# ------------------------------------------------------------------ cold start
# Appended to each cold-start command: the child's own peak RSS. Its ``ru_maxrss`` is no good
# here: Linux carries the high-water mark of the (large) forking parent across exec.
_REPORT_HWM = (
    "\nimport os as _os, sys as _sys\n"
    "if _os.path.exists('/proc/self/status'):\n"
    "    _l = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')]\n"
    "    _sys.stdout.write('VmHWM ' + _l[0].split()[1] + '\\n')\n"
)


def cold_start(code: str, reps: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall, CPU (user + sys) and peak RSS (MB) of ``python -c code`` in fresh processes."""
    walls, cpus, rss = [], [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code + _REPORT_HWM], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = proc.communicate()
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU of reaped children only: this one
        if proc.returncode != 0:
            raise RuntimeError(f"{code!r} failed ({proc.returncode}):\n{err.decode('utf-8', 'replace')}")
        hwm = [line.split()[1] for line in out.decode().splitlines() if line.startswith("VmHWM ")]
        rss.append(int(hwm[0]) / 1024 if hwm else float("nan"))
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "rss": statistics.median(rss)}


def interleaved_cold_starts(codes: Sequence[str], reps: int) -> dict[str, dict[str, float]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    samples: dict[str, list[dict[str, float]]] = {c: [] for c in codes}
    for _ in range(reps):  # interleave so both commands see the same machine
        for code in codes:
            samples[code].append(cold_start(code, 1, env))
    return {c: {k: statistics.median(s[k] for s in samples[c]) for k in ("wall", "cpu", "rss")} for c in codes}


# ------------------------------------------------------------------ machine
def machine() -> list[str]:
    import numpy
    import scipy
    import sklearn

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"

    def version(dist: str) -> str:
        from importlib.metadata import PackageNotFoundError, version as v

        for name in (dist, dist.replace("-", "_")):
            try:
                return v(name)
            except PackageNotFoundError:
                continue
        return "not installed"

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    fasttext_dist = next((d for d in ("fasttext-numpy2", "fasttext-wheel", "fasttext") if version(d) != "not installed"), None)
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores ({affinity} usable); {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; numpy {numpy.__version__}; scipy {scipy.__version__}; "
        f"scikit-learn {sklearn.__version__}; jieba {version('jieba')}; rjieba {version('rjieba')}; "
        f"fastText {f'{fasttext_dist} {version(fasttext_dist)}' if fasttext_dist else 'not installed'}",
        f"- OPENBLAS_CORETYPE: {'set (' + coretype + ')' if coretype else 'not set'}",
    ]


# ------------------------------------------------------------------ table
def fmt_rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def fmt_us(x: float | None) -> str:
    return "—" if x is None else (f"{x:,.0f}" if x >= 100 else f"{x:.1f}")


def check(ok: bool) -> str:
    return "✔" if ok else "✘"


def batch_jobs(log_path: str, rounds: int) -> list:
    """Time the two batch jobs with 1 and 2 workers in this (fresh) process; best wall of ``rounds``."""
    import triage
    from triage.batch import classify_log
    from triage.outputs import RecordWriter

    triage.predict("你好")  # load the model first: `triage classify` does, and helpers fork with it
    workdir = Path(log_path).parent

    def job_write(workers: int) -> tuple[int, int]:
        """The ``triage classify LOG -o out.csv`` job: read, classify, mask, format, write."""
        with RecordWriter(workdir / f"classified_{workers}.csv") as writer:
            reports = list(writer.write_log(log_path, workers=workers))
        return sum(r.rows for r in reports), sum(r.summary.classified for r in reports)

    def job_iterate(workers: int) -> tuple[int, int]:
        """``classify_log`` consumed in Python: every record back in this process with its Prediction."""
        total = classified = 0
        for item in classify_log(log_path, workers=workers):
            total += 1
            classified += item.status == "classified"
        return total, classified

    best: dict[tuple[str, int], dict[str, float]] = {}
    for _ in range(rounds):
        for job_name, job in (("write", job_write), ("iterate", job_iterate)):
            for workers in (1, 2):
                # helpers are forked children of this process (it holds the model and runs no
                # other thread), reaped when the job ends: RUSAGE_CHILDREN counts their CPU
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                c0, w0 = time.process_time(), time.perf_counter()
                total, classified = job(workers)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                key = (job_name, workers)
                if key not in best or wall < best[key]["wall"]:
                    best[key] = {"wall": wall, "parent_cpu": cpu, "worker_cpu": worker_cpu, "n": total, "classified": classified}
    return [[job, workers, v] for (job, workers), v in best.items()]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, help="interleaved rounds of each throughput row, best kept (default 3)")
    ap.add_argument("--limit", type=int, help="use at most this many messages (default: all)")
    ap.add_argument("--log-messages", type=int, help="messages in the generated chat log (default 50,000)")
    ap.add_argument("--cold-reps", type=int, help="fresh interpreters per cold-start row (default 5)")
    ap.add_argument("--naive-single", type=int, help="messages for the naive pipeline's one-by-one row (default 300)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 3,000 messages, 1 round, 5k-message log, 2 cold starts")
    ap.add_argument("--batch-job", metavar="LOG", help=argparse.SUPPRESS)  # internal: the batch rows' child
    args = ap.parse_args(argv)
    if args.batch_job:
        print(json.dumps(batch_jobs(args.batch_job, args.rounds or 3)))
        return 0
    defaults = (
        {"rounds": 1, "limit": 3000, "log_messages": 5000, "cold_reps": 2, "naive_single": 100}
        if args.quick
        else {"rounds": 3, "limit": None, "log_messages": 50_000, "cold_reps": 5, "naive_single": 300}
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    started = time.perf_counter()
    load_before = os.getloadavg()
    messages, source = load_messages(args.limit)
    n = len(messages)
    mean_len = sum(map(len, messages)) / n
    log(f"{n} unique messages from {source} (mean {mean_len:.1f} characters)")

    import logging

    import jieba

    jieba.setLogLevel(logging.ERROR)
    jieba.initialize()

    train = _jsonl(TRAIN)
    train_texts = [r["text"] for r in train]
    train_labels = [r["category"] for r in train]

    log("fitting the naive scikit-learn pipeline on datasets/train.jsonl")
    naive = fit_naive_pipeline(train_texts, train_labels)
    workdir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    log("training fastText (wordNgrams=2) on the same texts")
    ft = fit_fasttext(train_texts, train_labels, workdir)
    if ft is None:
        log("fasttext is not importable: its row is skipped")

    import triage

    model = triage.default_model()
    triage.predict(["你好", "救命！3号楼602着火了", "请问派出所几点上班"])  # warm: compiled form, segmenter, OpenCC

    lcut = jieba.lcut

    def jieba_nohmm(text: str) -> list[str]:
        return lcut(text, HMM=False)

    rows: list[tuple[str, Callable[[], list[int] | None], int]] = [
        ("stock `jieba.lcut` (HMM on), per message", lambda: per_message(lcut, messages), n),
        ("`jieba.lcut(HMM=False)`, per message", lambda: per_message(jieba_nohmm, messages), n),
        ("naive sklearn Pipeline `.predict(list)`", lambda: (naive.predict(messages), None)[1], n),
    ]
    naive_sample = messages[: args.naive_single]
    rows.append(
        (f"naive sklearn Pipeline `.predict([msg])`, per message ({len(naive_sample)} msgs)",
         lambda: per_message(lambda t: naive.predict([t]), naive_sample), len(naive_sample))
    )
    if ft is not None:
        ft_predict = ft.f.predict

        def fasttext_one(text: str):
            return ft_predict(" ".join(lcut(text)) + "\n", 1, 0.0, "strict")

        rows.append(("fastText predict incl. `jieba.lcut`, per message", lambda: per_message(fasttext_one, messages), n))
    rows += [
        ("**`triage.predict(list)`**", lambda: (triage.predict(messages), None)[1], n),
        ("**`triage.predict(str)`**, per message", lambda: per_message(triage.predict, messages), n),
    ]

    results = {name: Result(name, count) for name, _, count in rows}
    for r in range(args.rounds):
        for name, run, _ in rows:
            log(f"round {r + 1}/{args.rounds}: {name}")
            results[name].add(*timed(run))

    # ---------------------------------------------------------------- batch log
    from triage.batch import classify_log
    from triage.outputs import RecordWriter

    log_texts = log_messages(messages, args.log_messages)
    log_path = workdir / "memotrace_v2.txt"
    write_memotrace_v2_txt(log_path, log_texts)

    # The jobs run in a fresh interpreter, as `triage classify` does: this process holds the
    # corpus, fastText and the naive pipelines, which the job's process would not.
    rounds = 5 if not args.quick else 1  # ~6 s a round: cheap enough to take the best of more
    log(f"batch jobs in a fresh interpreter: {rounds} round(s) x 2 jobs x workers 1, 2 ({len(log_texts)} messages)")
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--batch-job", str(log_path), "--rounds", str(rounds)],
        capture_output=True, text=True, check=True,
    )
    batch = {(job, int(w)): v for job, w, v in json.loads(proc.stdout.strip().splitlines()[-1])}
    for (job_name, workers), b in batch.items():
        if b["n"] != len(log_texts):
            raise RuntimeError(f"{job_name} returned {b['n']} records for {len(log_texts)} messages")

    # ---------------------------------------------------------------- cold start
    log(f"cold start: {args.cold_reps} fresh interpreters each")
    cold = interleaved_cold_starts([COLD_TRIAGE, COLD_BASELINE], args.cold_reps)
    load_after = os.getloadavg()

    # ---------------------------------------------------------------- table
    jb = results[rows[0][0]]
    ftr = results.get("fastText predict incl. `jieba.lcut`, per message")
    jb_p50 = jb.pct(0.50)
    lines = [
        f"### triage speed — {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        *machine(),
        f"- Load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}",
        f"- Messages: {n:,} unique from {source}; mean {mean_len:.1f} characters. "
        f"Throughput: best of {args.rounds} interleaved round(s), messages per CPU-second of this process "
        f"(wall-clock rate beside it); latency: wall clock per call.",
        f"- Model: `{Path(model.path_).relative_to(ROOT) if str(model.path_).startswith(str(ROOT)) else model.path_}` "
        f"(created {model.manifest_.get('created', '?')}), segmenter {model.segmenter_!r}",
        "",
        "| case | msgs/s (CPU) | msgs/s (wall) | vs `jieba.lcut` | vs fastText | p50 µs | p99 µs | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, _, _ in rows:
        res = results[name]
        vs_jb = res.rate / jb.rate
        vs_ft = res.rate / ftr.rate if ftr else None
        p50, p99 = res.pct(0.50), res.pct(0.99)
        target = ""
        if name == "**`triage.predict(list)`**":
            target = f"≥ 2× jieba {check(vs_jb >= 2)}" + (f", ≥ 2× fastText {check(vs_ft >= 2)}" if ftr else "")
        elif name.startswith("**`triage.predict(str)`**"):
            ratio = p50 / jb_p50
            target = f"p50 = {ratio:.2f}× jieba p50 (≤ 2×) {check(ratio <= 2)}"
        lines.append(
            f"| {name} | {fmt_rate(res.rate)} | {fmt_rate(res.wall_rate)} | {fmt_ratio(vs_jb)} | {fmt_ratio(vs_ft)} "
            f"| {fmt_us(p50)} | {fmt_us(p99)} | {target} |"
        )
    job_titles = {
        "write": "`triage classify` job (`RecordWriter.write_log` → CSV)",
        "iterate": "`classify_log` iterated in Python",
    }
    for job_name in ("write", "iterate"):
        one, two = batch[(job_name, 1)], batch[(job_name, 2)]
        speedup = one["wall"] / two["wall"]
        # What 2 idle cores would allow: half of all the CPU the 2-worker job used.
        idle_bound = one["wall"] / ((two["parent_cpu"] + two["worker_cpu"]) / 2)
        for workers in (1, 2):
            b = batch[(job_name, workers)]
            target = ""
            if workers == 2:
                target = f"{speedup:.2f}× workers=1" + (f" (≥ 1.7×) {check(speedup >= 1.7)}" if job_name == "write" else "")
                target += f"; CPU-bound limit on 2 idle cores ≈ {idle_bound:.2f}×"
            workers_cpu = f" + helper {b['worker_cpu']:.2f} s" if workers > 1 else ""
            lines.append(
                f"| {job_titles[job_name]}, {b['n']:,}-message MemoTrace v2 TXT ({b['classified']:,} classified), "
                f"`workers={workers}`: wall {b['wall']:.2f} s, CPU: this process {b['parent_cpu']:.2f} s{workers_cpu} "
                f"| — | {fmt_rate(b['n'] / b['wall'])} | — | — | — | — | {target} |"
            )
    tri, base = cold[COLD_TRIAGE], cold[COLD_BASELINE]
    for code, c in ((COLD_TRIAGE, tri), (COLD_BASELINE, base)):
        target = ""
        if code == COLD_TRIAGE:
            target = (
                f"wall {check(tri['wall'] < base['wall'])}, CPU {check(tri['cpu'] < base['cpu'])}, "
                f"RSS {check(tri['rss'] < base['rss'])} vs baseline"
            )
        lines.append(
            f"| cold start `{code}`: median of {args.cold_reps}: wall {c['wall']:.2f} s, CPU {c['cpu']:.2f} s, "
            f"peak RSS {c['rss']:.0f} MB | — | — | — | — | — | — | {target} |"
        )
    print("\n".join(lines), flush=True)
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
