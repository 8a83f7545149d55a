"""The labelled corpus shipped in ``datasets/``: loading, validation and statistics.

``datasets/train.jsonl`` and ``datasets/test.jsonl`` hold one JSON object per line:
``id``, ``text``, ``category``, ``urgency``, ``author``, ``tags``, ``method``. The files
are installed as the ``triage.corpus`` package data; ``python -m triage.datasets`` prints
the counts quoted in ``datasets/README.md``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from triage import patterns
from triage.exceptions import DatasetError
from triage.taxonomy import CATEGORIES, URGENCIES

__all__ = [
    "SPLITS",
    "corpus_dir",
    "load_corpus",
    "load_jsonl",
    "validate_records",
    "dedup_key",
    "slot_key",
    "corpus_hash",
    "corpus_stats",
    "format_stats",
]

SPLITS = ("train", "test")
_NON_WORD = re.compile(r"[\s\W_]+")
_DIGITS = re.compile(r"[0-9零一二三四五六七八九十百两]+")
# Slot values a template would vary: compound/building/place names and people's titles.
_SLOTS = re.compile(
    r"[\u4e00-\u9fff]{1,4}(?:小区|新村|花园|家园|公寓|苑|城|湾|坊|里|路|街|镇|弄|号|栋|幢|楼|室|单元)"
    r"|[\u4e00-\u9fff]{1,2}(?:警官|师傅|阿姨|大爷|先生|女士|小姐|老师|经理|书记|主任|姐|哥)"
)


def corpus_dir() -> Path:
    """Directory holding ``train.jsonl`` and ``test.jsonl`` (installed or source checkout)."""
    try:
        path = Path(os.fspath(resources.files("triage.corpus")))
        if (path / "train.jsonl").is_file():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "datasets"


def load_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSON Lines file; a malformed line raises DatasetError naming file and line."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: expected a JSON object, got invalid JSON ({exc.msg})") from exc
    return out


def load_corpus(split: str = "train") -> list[dict[str, Any]]:
    """Load the shipped corpus.

    Parameters
    ----------
    split : {"train", "test", "all"}
        ``"all"`` returns train then test.

    Returns
    -------
    list of dict
        Records with ``id``, ``text``, ``category``, ``urgency``, ``author``, ``tags``, ``method``.
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"expected split 'train', 'test' or 'all', got {split!r}")
    names = SPLITS if split == "all" else (split,)
    records: list[dict[str, Any]] = []
    for name in names:
        records.extend(load_jsonl(corpus_dir() / f"{name}.jsonl"))
    return records


def dedup_key(text: str) -> str:
    """Key under which two texts count as identical: NFKC, lower case, digits, punctuation and repeats folded."""
    text = unicodedata.normalize("NFKC", text).lower()
    return patterns.REPEAT_CHAR.sub(r"\1\1\1", _NON_WORD.sub("", _DIGITS.sub("0", text)))


def slot_key(text: str) -> str:
    """Like :func:`dedup_key`, and also folding slot values (place, building, person names)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub("", _SLOTS.sub("§", _DIGITS.sub("0", text)))


def validate_records(
    records: Iterable[dict[str, Any]],
    *,
    categories: Sequence[str] = CATEGORIES,
    urgencies: Sequence[str] = URGENCIES,
) -> None:
    """Raise DatasetError on an unknown label, an empty text or a duplicate text."""
    seen: dict[str, str] = {}
    for i, r in enumerate(records):
        rid = r.get("id", f"#{i}")
        text = r.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"record {rid}: expected a non-empty text, got {text!r}")
        if r.get("category") not in categories:
            raise DatasetError(f"record {rid}: expected a category in {list(categories)}, got {r.get('category')!r}")
        if r.get("urgency") not in urgencies:
            raise DatasetError(f"record {rid}: expected an urgency in {list(urgencies)}, got {r.get('urgency')!r}")
        key = dedup_key(text)
        if key in seen:
            raise DatasetError(f"record {rid}: duplicate of record {seen[key]} after normalisation: {text[:40]!r}")
        seen[key] = rid


def corpus_hash(records: Iterable[dict[str, Any]]) -> str:
    """SHA-256 over the records' text and labels, in order (recorded in model manifests)."""
    digest = hashlib.sha256()
    for r in records:
        digest.update(json.dumps([r["text"], r.get("category"), r.get("urgency")], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def corpus_stats(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts per category × urgency, per tag, per author and method, and near-duplicate shares."""
    pairs = collections.Counter((r["category"], r["urgency"]) for r in records)
    slot_groups = collections.Counter(slot_key(r["text"]) for r in records)
    exact_groups = collections.Counter(dedup_key(r["text"]) for r in records)
    n = len(records)
    return {
        "records": n,
        "pairs": {f"{c}/{u}": pairs[(c, u)] for c in CATEGORIES for u in URGENCIES if pairs[(c, u)]},
        "categories": dict(collections.Counter(r["category"] for r in records)),
        "urgencies": dict(collections.Counter(r["urgency"] for r in records)),
        "tags": dict(collections.Counter(t for r in records for t in r.get("tags", ())).most_common()),
        "authors": dict(collections.Counter(r.get("author", "?") for r in records).most_common()),
        "methods": dict(collections.Counter(r.get("method", "?") for r in records).most_common()),
        "near_duplicates_exact": sum(v - 1 for v in exact_groups.values()),
        "near_duplicates_slot": sum(v - 1 for v in slot_groups.values()),
        "near_duplicate_share": round(sum(v - 1 for v in slot_groups.values()) / max(1, n), 4),
        "mean_chars": round(sum(len(r["text"]) for r in records) / max(1, n), 1),
    }


def format_stats(splits: dict[str, Sequence[dict[str, Any]]]) -> str:
    """A Markdown report of :func:`corpus_stats` for each split and for all records."""
    everything = [r for recs in splits.values() for r in recs]
    stats = {name: corpus_stats(recs) for name, recs in splits.items()}
    stats["all"] = corpus_stats(everything)
    names = list(stats)
    lines = ["| category | urgency | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for c in CATEGORIES:
        for u in URGENCIES:
            key = f"{c}/{u}"
            if stats["all"]["pairs"].get(key):
                lines.append(f"| {c} | {u} | " + " | ".join(str(stats[n]["pairs"].get(key, 0)) for n in names) + " |")
    for c in CATEGORIES:
        lines.append(f"| **{c}** | all | " + " | ".join(str(stats[n]["categories"].get(c, 0)) for n in names) + " |")
    for u in URGENCIES:
        lines.append(f"| all | **{u}** | " + " | ".join(str(stats[n]["urgencies"].get(u, 0)) for n in names) + " |")
    lines.append("| **total** | | " + " | ".join(str(stats[n]["records"]) for n in names) + " |")
    a = stats["all"]
    lines += [
        "",
        f"methods: {a['methods']}",
        f"authors: {a['authors']}",
        f"tags: {a['tags']}",
        f"mean length: {a['mean_chars']} characters",
        f"near-duplicates: {a['near_duplicates_exact']} identical after normalisation; "
        f"{a['near_duplicates_slot']} ({a['near_duplicate_share']:.1%}) identical once slot values "
        "(places, buildings, names, numbers) are folded",
    ]
    train_keys = {dedup_key(r["text"]) for r in splits.get("train", ())}
    overlap = sum(dedup_key(r["text"]) in train_keys for r in splits.get("test", ()))
    lines.append(f"test records whose normalised text is also in train: {overlap}")
    return "\n".join(lines)


def main() -> None:
    """Print the corpus counts (the command quoted in ``datasets/README.md``)."""
    splits = {name: load_corpus(name) for name in SPLITS}
    for recs in splits.values():
        validate_records(recs)
    print(format_stats(splits))


if __name__ == "__main__":
    main()
