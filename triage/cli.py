"""The ``triage`` command.

    triage predict "救命！3号楼602着火了"        # or one message per line on stdin
    triage classify LOG [LOG ...] -o out.csv      # exported chat logs → classified records
    triage ledger LOG [LOG ...] --db ledger.sqlite --report report.html
    triage train [DATA] -o MODELDIR               # retrain (default: rebuild models/default)
    triage evaluate MODELDIR DATA                 # scores, confusion matrices, calibration
    triage explain "..."                          # words that pushed each decision
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from triage._version import __version__
from triage.exceptions import ChatLogError, TriageError

__all__ = ["main", "build_parser"]


def _model(path: str | None):
    from triage.api import default_model, load

    return load(path) if path else default_model()


def _cmd_predict(args: argparse.Namespace) -> int:
    texts = args.text or [line.rstrip("\n") for line in sys.stdin]
    model = _model(args.model)
    for p in model.predict(texts):
        if args.json:
            print(json.dumps(p.to_dict(), ensure_ascii=False))
        else:
            review = "review" if p.needs_review else "-"
            flags = ",".join(p.flags) or "-"
            print(f"{p.category}\t{p.urgency}\t{p.confidence:.2f}\t{review}\t{flags}\t{p.text}")
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    if args.scheduler:
        from triage.dask_cli import run_distributed

        return run_distributed(args)
    from tqdm import tqdm

    from triage.batch import BatchSummary
    from triage.outputs import RecordWriter

    # Loaded here even with --workers N: on Linux the workers are then forked with the model
    # already in memory instead of each starting an interpreter and loading it (triage.batch).
    model = _model(args.model)
    tqdm.monitor_interval = 0  # no monitor thread: a single-threaded parent may fork workers
    reader_options = {
        k: v
        for k, v in {
            "encoding": args.encoding,
            "text_column": args.text_col,
            "time_column": args.time_col,
            "sender_column": args.sender_col,
            "group_column": args.group_col,
        }.items()
        if v
    }
    summary = BatchSummary()
    failed_files: list[str] = []
    with RecordWriter(args.output, mask=not args.no_mask) as writer, tqdm(
        unit=" msg", desc="classifying", file=sys.stderr, disable=args.quiet, mininterval=0.5
    ) as bar:
        for path in args.logs:
            try:
                for report in writer.write_log(
                    path, model=model, format=args.format, chunk_size=args.chunk_size, workers=args.workers, **reader_options
                ):
                    summary.update(report.summary)
                    bar.update(report.rows)
                    for source, line, why in report.errors:
                        tqdm.write(f"{source}:{line}: {why}", file=sys.stderr)
            except (ChatLogError, OSError) as exc:
                failed_files.append(path)
                tqdm.write(f"triage classify: {exc}", file=sys.stderr)
                if not args.keep_going:
                    break
    print(summary.format(), file=sys.stderr)
    if failed_files:
        print(f"files that could not be read: {len(failed_files)} ({', '.join(failed_files)})", file=sys.stderr)
    print(f"wrote {writer.rows} rows to {args.output}", file=sys.stderr)
    problems = summary.errors + len(failed_files)
    return 1 if problems and not args.keep_going else 0


def _cmd_train(args: argparse.Namespace) -> int:
    from triage.train import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``triage`` command."""
    parser = argparse.ArgumentParser(prog="triage", description="Category and urgency of Chinese group-chat messages.")
    parser.add_argument("--version", action="version", version=f"triage {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="classify messages given as arguments or on stdin (one per line)")
    p.add_argument("text", nargs="*", help="messages; read from stdin when none are given")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="one JSON object per message with all scores")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("classify", help="classify exported chat logs into a CSV or JSONL file")
    p.add_argument("logs", nargs="+", metavar="LOG")
    p.add_argument(
        "-o", "--output", required=True, help="out.csv, out.jsonl, or - for JSONL on stdout (a directory with --scheduler)"
    )
    p.add_argument("--format", help="force a reader instead of detecting the format from content")
    p.add_argument("--encoding", help="force an encoding instead of detecting it")
    p.add_argument("--text-col", help="generic CSV/TSV/JSONL: the text column")
    p.add_argument("--time-col", help="generic CSV/TSV/JSONL: the time column")
    p.add_argument("--sender-col", help="generic CSV/TSV/JSONL: the sender column")
    p.add_argument("--group-col", help="generic CSV/TSV/JSONL: the group column")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--chunk-size", type=int, default=2000, help="messages per chunk (default 2000)")
    p.add_argument("--no-mask", action="store_true", help="write phone/ID/card/plate numbers unmasked")
    p.add_argument("--keep-going", action="store_true", help="exit 0 even when lines or files could not be read")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    from triage.dask_cli import add_arguments as add_distributed_arguments

    add_distributed_arguments(p)
    p.set_defaults(func=_cmd_classify)

    from triage.train import build_parser as train_parser

    p = sub.add_parser("train", help="train a model directory (default: rebuild models/default from datasets/)")
    train_parser(p)
    p.set_defaults(func=_cmd_train)

    for module in ("triage.ledger.cli", "triage.evaluate", "triage.explain"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError:
            continue
        mod.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``triage`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TriageError as exc:
        print(f"triage {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
