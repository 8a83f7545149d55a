"""Merge the hand-written parts in datasets/parts/ into the fixed train/test split.

    python tools/build_corpus.py            # writes datasets/train.jsonl and datasets/test.jsonl

Validates every record, skips records marked ``"exclude"`` by the label review, drops
exact duplicates after normalisation (first one wins, across parts), then splits.

The split is written once and then only grows: a record already in ``train.jsonl`` or
``test.jsonl`` (by id) keeps its side for ever, so nothing that was tested on is ever
trained on. New records are assigned per category × urgency stratum: ranked by a hash of
their normalised text, they fill the test side of their stratum up to ``TEST_FRACTION``,
the rest go to train. Deterministic, no random state, independent of file order.
"""

from __future__ import annotations

import collections
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage.datasets import dedup_key, validate_records  # noqa: E402
from triage.taxonomy import CATEGORIES, URGENCIES  # noqa: E402

TEST_FRACTION = 0.22
PARTS = ROOT / "datasets" / "parts"
FIELDS = ("id", "text", "category", "urgency", "author", "tags", "method")


def _existing_sides() -> dict[str, str]:
    sides = {}
    for name in ("train", "test"):
        path = ROOT / "datasets" / f"{name}.jsonl"
        if path.is_file():
            with open(path, encoding="utf-8") as fh:
                sides.update({json.loads(line)["id"]: name for line in fh if line.strip()})
    return sides


def main() -> None:
    records, seen, dropped, excluded = [], set(), collections.Counter(), 0
    for part in sorted(PARTS.glob("*.jsonl")):
        prefix = part.stem
        with open(part, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("exclude"):
                    excluded += 1
                    continue
                if r.get("category") not in CATEGORIES or r.get("urgency") not in URGENCIES or not str(r.get("text", "")).strip():
                    raise SystemExit(f"{part}:{number}: invalid record {r}")
                key = dedup_key(r["text"])
                if key in seen:
                    dropped[prefix] += 1
                    continue
                seen.add(key)
                records.append(
                    {
                        "id": f"{prefix}-{number:04d}",
                        "text": r["text"],
                        "category": r["category"],
                        "urgency": r["urgency"],
                        "author": r.get("author", "resident"),
                        "tags": sorted(set(r.get("tags", []))),
                        "method": r.get("method", "handwritten"),
                    }
                )
    validate_records(records)
    strata = collections.defaultdict(list)
    for r in records:
        strata[(r["category"], r["urgency"])].append(r)
    sides = _existing_sides()
    test_ids = {rid for rid, side in sides.items() if side == "test"}
    for stratum in strata.values():
        new = [r for r in stratum if r["id"] not in sides]
        new.sort(key=lambda r: hashlib.sha256(dedup_key(r["text"]).encode("utf-8")).hexdigest())
        room = round(len(stratum) * TEST_FRACTION) - sum(r["id"] in test_ids for r in stratum)
        test_ids.update(r["id"] for r in new[: max(0, room)])
    for name in ("train", "test"):
        subset = [r for r in records if (r["id"] in test_ids) == (name == "test")]
        with open(ROOT / "datasets" / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for r in subset:
                fh.write(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n")
        print(f"{name}: {len(subset)} records")
    print(f"dropped as duplicates after normalisation: {sum(dropped.values())} {dict(dropped)}")
    print(f"excluded by the label review: {excluded}")


if __name__ == "__main__":
    main()
