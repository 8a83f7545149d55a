"""Print the ledger's incident-linking, response and resolution quality on the fixture logs.

    python benchmarks/ledger_quality.py [--model MODELDIR] [--json]

For each hand-labelled file under tests/fixtures/ledger/ (expected.json: 41 incidents in three
groups; holdout.json: 12 incidents in a fourth group written after the heuristics were
first tuned), the logs are read with the minimal MemoTrace TXT reader of
:mod:`triage.ledger.evaluate`, classified with the model, ingested into an in-memory ledger
(with the settings the file gives, if any) and scored with
:func:`triage.ledger.evaluate_linking`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.batch import classify_messages  # noqa: E402
from triage.ledger import Ledger, LedgerConfig, evaluate_linking, format_evaluation, load_expected  # noqa: E402
from triage.ledger.evaluate import fixture_logs, read_memotrace_txt  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "ledger"


def measure(expected_path: Path, model) -> dict:
    """Score the ledger on one expected-incidents file."""
    expected = load_expected(expected_path)
    config = LedgerConfig.from_dict(expected.get("config") or {})
    with Ledger(config=config) as ledger:
        for group, path in fixture_logs(expected, expected_path.parent):
            ledger.ingest(classify_messages(read_memotrace_txt(path, group=group), model=model))
        return evaluate_linking(expected, ledger.incidents(), config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    args = parser.parse_args(argv)
    from triage.api import default_model, load

    model = load(args.model) if args.model else default_model()
    results = {name: measure(FIXTURES / name, model) for name in ("expected.json", "holdout.json")}
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    for name, result in results.items():
        print(f"== tests/fixtures/ledger/{name}")
        print(format_evaluation(result))
        if result["missed"]:
            print("missed:", ", ".join(result["missed"]))
        for s in result["spurious"]:
            print("spurious:", s["id"], s["first_text"])
        for m in result["mismatches"]:
            print("mismatch:", m)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
