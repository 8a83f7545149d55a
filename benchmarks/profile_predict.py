"""Where ``triage.predict`` spends its time: a pyinstrument profile (cProfile without it).

Profiles ``triage.predict(list)`` on 5,000 unique messages (NUS SMS + THUCNews titles from
``<repo>/../shared/data`` when present, else ``datasets/test.jsonl``) with the model already
loaded and warm, and prints the call tree as text. ``--single`` profiles one message per
call instead; ``--cold`` profiles ``import triage`` + loading + the first prediction.

    python benchmarks/profile_predict.py
    python benchmarks/profile_predict.py --single --n 2000
    python benchmarks/profile_predict.py --cold

pyinstrument is not a dependency of triage (``pip install pyinstrument``); it samples, so its
own overhead is small, but treat the absolute times as inflated — the shares are what count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def _profiler():
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    return Profiler


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="messages to classify (default 5000)")
    ap.add_argument("--single", action="store_true", help="one message per call: triage.predict(str)")
    ap.add_argument("--cold", action="store_true", help="profile import + model load + first predict instead")
    ap.add_argument("--interval", type=float, default=0.0002, help="pyinstrument sampling interval in seconds")
    args = ap.parse_args(argv)

    Profiler = _profiler()
    if args.cold:
        work = _cold
        label = 'import triage; triage.predict("你好")'
        messages = []
    else:
        from bench_speed import load_messages

        messages, source = load_messages(args.n)
        import triage

        triage.predict(["你好", "救命！3号楼602着火了", "请问派出所几点上班"])  # load + warm outside the profile
        if args.single:
            def work():
                predict = triage.predict
                for text in messages:
                    predict(text)
            label = f"triage.predict(str) one by one, {len(messages):,} messages from {source}"
        else:
            def work():
                triage.predict(messages)
            label = f"triage.predict(list) of {len(messages):,} messages from {source}"
        c0, w0 = time.process_time(), time.perf_counter()
        work()  # unprofiled reference run
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        print(f"unprofiled: {len(messages) / cpu:,.0f} msgs per CPU-second ({len(messages) / wall:,.0f}/s wall)")

    print(f"profiling: {label}")
    if Profiler is not None:
        profiler = Profiler(interval=args.interval)
        profiler.start()
        work()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    else:
        import cProfile
        import pstats

        print("(pyinstrument not installed: cProfile, top 40 by cumulative time)")
        prof = cProfile.Profile()
        prof.enable()
        work()
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(40)
    return 0


def _cold() -> None:
    import triage

    triage.predict("你好")


if __name__ == "__main__":
    sys.exit(main())
