"""The officer's notebook: an incident ledger and report built from chat logs.

Residents' reports in a police–resident group chat are linked into incidents (several
reporters, quoted follow-ups, "还没人来吗"), each with its first staff response and its
resolution; incidents are kept in an SQLite file that later logs update, and summarised in a
self-contained HTML report and a JSON summary. See ``docs/ledger.md``.

>>> from triage.ledger import Ledger, LedgerConfig                    # doctest: +SKIP
>>> ledger = Ledger("ledger.sqlite", LedgerConfig(link_window_minutes=120))
>>> ledger.ingest_logs(["export.txt"], group="平安里警民联系群")
>>> ledger.incidents(status="open")
"""

from .api import IngestReport, Ledger
from .config import LedgerConfig
from .evaluate import evaluate_linking, format_evaluation, load_expected
from .link import ANSWERED, OPEN, RESOLVED, Incident, IncidentMessage, LedgerMessage, link_messages
from .report import build_summary, render_html

__all__ = [
    "Ledger",
    "LedgerConfig",
    "IngestReport",
    "Incident",
    "IncidentMessage",
    "LedgerMessage",
    "link_messages",
    "build_summary",
    "render_html",
    "evaluate_linking",
    "format_evaluation",
    "load_expected",
    "OPEN",
    "ANSWERED",
    "RESOLVED",
]
