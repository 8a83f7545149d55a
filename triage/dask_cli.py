"""``triage classify --scheduler ...``: the batch job on a Dask cluster.

    triage classify logs/*.txt -o out/ --scheduler local:4            # 4 local worker processes
    triage classify logs/*.txt -o out/ --scheduler tcp://host:8786    # an existing cluster

The output is a directory of part files (Parquet, or JSONL when ``--output-format jsonl`` or
``-o`` ends in ``.jsonl``) plus ``_manifest.json``; the closing summary is the one
``triage classify`` prints. This module imports dask only when a job runs, so
:func:`add_arguments` can be used by a parser in an installation without the extra.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["add_arguments", "parse_scheduler", "connect", "run_distributed"]

LOCAL = "local"
#: Seconds to wait for a first worker of a remote cluster.
WAIT_FOR_WORKERS = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler``, ``--output-format``, ``--partition-size`` and ``--overwrite``."""
    group = parser.add_argument_group("distributed (pip install triage[dask])")
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler address (tcp://host:8786) or local:N "
        "(N local worker processes, 1 thread each); -o is then a directory of part files",
    )
    group.add_argument(
        "--output-format",
        choices=("parquet", "jsonl"),
        help="format of the part files with --scheduler (default: jsonl when -o ends in .jsonl, else parquet)",
    )
    group.add_argument(
        "--partition-size",
        type=int,
        default=10_000,
        metavar="N",
        help="with --scheduler: messages per part file and per task (default 10000)",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="with --scheduler: replace part files already in the output directory",
    )


def parse_scheduler(spec: str) -> tuple[str, int | None]:
    """Split a ``--scheduler`` value into ``("local", n_workers)`` or ``(address, None)``.

    ``local`` alone means one worker per CPU.
    """
    spec = spec.strip()
    if spec == LOCAL or spec.startswith(LOCAL + ":"):
        count = spec[len(LOCAL) + 1 :]
        if not count:
            return LOCAL, os.cpu_count() or 1
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"expected --scheduler local:N with N >= 1 worker processes, got {spec!r}")
        return LOCAL, int(count)
    if not spec:
        raise ValueError("expected a scheduler address such as tcp://host:8786 or local:N, got ''")
    return spec, None


@contextlib.contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A ``distributed.Client`` for a ``--scheduler`` value; a ``local:N`` cluster is shut down on exit."""
    from distributed import Client, LocalCluster

    address, n_workers = parse_scheduler(spec)
    if address == LOCAL:
        with LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster, Client(cluster) as client:
            yield client
    else:
        with Client(address) as client:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
            yield client


def _output_format(args: argparse.Namespace) -> str:
    chosen = getattr(args, "output_format", None)
    if chosen:
        return chosen
    return "jsonl" if args.output.rstrip("/\\").lower().endswith((".jsonl", ".ndjson", ".json")) else "parquet"


def run_distributed(args: argparse.Namespace) -> int:
    """Run ``triage classify`` on the cluster named by ``args.scheduler``; returns the exit code.

    Uses the ``classify`` options (``logs``, ``output``, ``format``, ``encoding``, the
    ``--*-col`` options, ``model``, ``no_mask``, ``keep_going``, ``quiet``) and those of
    :func:`add_arguments`. Prints the closing summary of ``triage classify`` to stderr.
    """

    def fail(message: str) -> int:
        print(f"triage classify: {message}", file=sys.stderr)
        return 2

    try:
        from tqdm import tqdm

        from triage._version import __version__
        from triage.dask import classify_logs_distributed, preload_model
    except ImportError as exc:
        return fail(f"--scheduler needs the dask extra (pip install 'triage[dask]'): {exc}")

    if args.output == "-" or args.output.lower().endswith(".csv"):
        return fail(f"with --scheduler, -o is a directory for Parquet or JSONL part files, got {args.output!r}")
    if getattr(args, "workers", 1) not in (None, 1):
        return fail("--workers applies to local runs; with --scheduler the cluster's workers are used")
    try:
        parse_scheduler(args.scheduler)
    except ValueError as exc:
        return fail(str(exc))
    reader_options = {
        k: v
        for k, v in {
            "encoding": getattr(args, "encoding", None),
            "text_column": getattr(args, "text_col", None),
            "time_column": getattr(args, "time_col", None),
            "sender_column": getattr(args, "sender_col", None),
            "group_column": getattr(args, "group_col", None),
        }.items()
        if v
    }
    model_dir = os.path.abspath(args.model) if getattr(args, "model", None) else None
    quiet = getattr(args, "quiet", False)

    partition_size = getattr(args, "partition_size", None) or 10_000
    if partition_size < 1:
        return fail(f"expected --partition-size >= 1, got {partition_size}")

    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(connect(args.scheduler))
        except OSError as exc:  # TimeoutError included
            return fail(f"cannot use the Dask scheduler {args.scheduler}: {exc}")
        versions = preload_model(client, model_dir)
        other = sorted({v for v in versions.values() if v != __version__})
        if other:
            return fail(f"workers run triage {', '.join(other)}, this client {__version__}; install the same version")
        bar = stack.enter_context(
            tqdm(total=len(args.logs), unit=" file", desc="classifying", file=sys.stderr, disable=quiet)
        )

        def progress(done) -> None:
            for line in done.error_lines:
                tqdm.write(line, file=sys.stderr)
            if done.failure:
                tqdm.write(f"triage classify: {done.failure}", file=sys.stderr)
            bar.update()

        try:
            result = classify_logs_distributed(
                args.logs,
                args.output,
                client=client,
                format=getattr(args, "format", None),
                model_dir=model_dir,
                output_format=_output_format(args),
                partition_size=partition_size,
                mask=not getattr(args, "no_mask", False),
                overwrite=getattr(args, "overwrite", False),
                progress=progress,
                **reader_options,
            )
        except OSError as exc:  # output directory exists with parts, or is not writable
            return fail(str(exc))

    summary = result.summary
    print(summary.format(), file=sys.stderr)
    shown = len(result.error_lines)
    if summary.errors > shown:
        print(f"({summary.errors - shown} more unreadable lines: see the 'error' column)", file=sys.stderr)
    if result.failed_files:
        names = ", ".join(source for source, _ in result.failed_files)
        print(f"files that could not be read: {len(result.failed_files)} ({names})", file=sys.stderr)
    print(f"wrote {result.rows} rows in {len(result.parts)} parts to {result.output_dir}", file=sys.stderr)
    problems = summary.errors + len(result.failed_files)
    return 1 if problems and not getattr(args, "keep_going", False) else 0
