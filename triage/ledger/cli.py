"""``triage ledger LOG [LOG ...] --db ledger.sqlite --report report.html``.

Reads and classifies the logs, stores their messages in the ledger database (each message
once, however many overlapping exports contain it), re-links the incidents, and writes the
HTML report and/or the JSON summary. With no LOG, only the outputs are written from the
database as it is.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``ledger`` sub-command on an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "ledger",
        help="build the incident ledger (officer's notebook) from chat logs; write an HTML report and a JSON summary",
        description="Link the messages of exported group chats into incidents (reports, follow-ups, staff "
        "responses, resolutions), keep them in an SQLite file that later logs update, and write a "
        "self-contained HTML report and a JSON summary.",
    )
    p.add_argument("logs", nargs="*", metavar="LOG", help="exported chat logs (none: report from the database only)")
    p.add_argument("--db", default="ledger.sqlite", help="SQLite ledger file, created when missing (default: ledger.sqlite)")
    p.add_argument("--report", metavar="HTML", help="write the HTML report here")
    p.add_argument("--summary-json", metavar="JSON", help="write the JSON summary here")
    p.add_argument("--format", help="force a chat-log reader instead of detecting the format")
    p.add_argument("--group", help="group name for every message of these logs (for formats without one)")
    p.add_argument("--config", metavar="FILE", help="ledger settings, JSON or TOML (see docs/ledger.md)")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--no-mask", action="store_true", help="write phone/ID/card/plate numbers unmasked in the outputs")
    p.add_argument("--as-of", metavar="TIME", help="measure incident ages from this time (default: the latest message)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``triage ledger``; returns the exit code (2 for bad settings or unreadable files)."""
    from triage.exceptions import TriageError

    from .api import Ledger
    from .config import LedgerConfig

    def say(text: str) -> None:
        if not getattr(args, "quiet", False):
            print(text, file=sys.stderr)

    try:
        config = LedgerConfig.from_file(args.config) if args.config else LedgerConfig()
        as_of = _dt.datetime.fromisoformat(args.as_of) if args.as_of else None
    except (ValueError, OSError) as exc:
        print(f"triage ledger: {exc}", file=sys.stderr)
        return 2
    try:
        with Ledger(args.db, config) as ledger:
            if args.logs:
                model = None
                if args.model:
                    from triage.api import load

                    model = load(args.model)
                report = ledger.ingest_logs(args.logs, model=model, format=args.format, group=args.group)
                say(report.format())
            if args.summary_json:
                ledger.write_summary_json(args.summary_json, mask=not args.no_mask, as_of=as_of)
                say(f"wrote {args.summary_json}")
            if args.report:
                ledger.write_report(args.report, mask=not args.no_mask, as_of=as_of)
                say(f"wrote {args.report}")
            if not (args.logs or args.report or args.summary_json):
                say(f"{args.db}: {len(ledger.incidents())} incidents; nothing to do (give LOG, --report or --summary-json)")
    except TriageError:
        raise
    except (ValueError, OSError) as exc:
        print(f"triage ledger: {exc}", file=sys.stderr)
        return 2
    return 0
