"""Train a model directory, on the shipped corpus or on a user's own labelled file.

    python -m triage.train                       # rebuild models/default from datasets/
    triage train DATA.csv -o MODELDIR --text-col 内容 --category-col 类别 --urgency-col 紧急程度

With no DATA, the model is fitted on ``datasets/train.jsonl`` and scored on
``datasets/test.jsonl`` (never trained on); the scores go into the manifest. With a user's
DATA, cross-validated scores are printed and recorded instead. The seed fixes the folds and
the solvers, so the same data gives the same model file.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage.datasets import corpus_hash, load_corpus, load_jsonl
from triage.exceptions import DatasetError
from triage.metrics import score_predictions
from triage.model import TriageClassifier
from triage.persist import MODEL_FILE, save_model
from triage.segment import read_userdict

__all__ = ["train_model", "read_labelled", "cross_validate", "main", "DEFAULT_OUTPUT"]

#: Where ``python -m triage.train`` writes the shipped model (relative to the repository).
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "models" / "default"


def read_labelled(
    path: str | os.PathLike[str],
    *,
    text_col: str = "text",
    category_col: str | None = "category",
    urgency_col: str | None = "urgency",
) -> list[dict[str, Any]]:
    """Read a user's labelled CSV/TSV/JSONL file into ``{"text", "category", "urgency"}`` dicts.

    A head whose column is None or absent from the file is left out (``None`` labels).
    Raises DatasetError naming the file, the row and what was expected.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = load_jsonl(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise DatasetError(f"{path}: expected a .csv, .tsv or .jsonl file, got {suffix or 'no extension'!r}")
    if not rows:
        raise DatasetError(f"{path}: expected labelled rows, got an empty file")
    columns = set(rows[0])
    if text_col not in columns:
        raise DatasetError(f"{path}: expected a text column {text_col!r}, got columns {sorted(columns)}")
    heads = {h: c for h, c in (("category", category_col), ("urgency", urgency_col)) if c and c in columns}
    if not heads:
        raise DatasetError(
            f"{path}: expected a category column {category_col!r} and/or an urgency column {urgency_col!r}, "
            f"got columns {sorted(columns)}"
        )
    out = []
    for number, row in enumerate(rows, 2 if suffix != ".jsonl" else 1):
        text = row.get(text_col)
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{path}: row {number}: expected a non-empty text in {text_col!r}, got {text!r}")
        rec = {"text": text, "category": None, "urgency": None}
        for head, col in heads.items():
            value = row.get(col)
            if not isinstance(value, str) or not value.strip():
                raise DatasetError(f"{path}: row {number}: expected a label in {col!r}, got {value!r}")
            rec[head] = value.strip()
        out.append(rec)
    return out


def _labels(records: Sequence[dict[str, Any]], head: str) -> list[str] | None:
    values = [r.get(head) for r in records]
    return None if all(v is None for v in values) else values


def train_model(records: Sequence[dict[str, Any]], **params: Any) -> TriageClassifier:
    """Fit a :class:`TriageClassifier` on records with ``text`` and ``category``/``urgency``."""
    model = TriageClassifier(**params)
    return model.fit([r["text"] for r in records], _labels(records, "category"), _labels(records, "urgency"))


def cross_validate(records: Sequence[dict[str, Any]], *, folds: int = 5, **params: Any) -> dict[str, Any]:
    """Stratified k-fold scores of a model configuration (predicted by the real decision rule)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from triage.metrics import head_metrics, urgency_metrics

    cats, urgs = _labels(records, "category"), _labels(records, "urgency")
    strat = np.array([f"{c}|{u}" for c, u in zip(cats or [""] * len(records), urgs or [""] * len(records))])
    # Strata too small to appear in every fold fall back to the coarser head label.
    counts = {s: int((strat == s).sum()) for s in set(strat)}
    strat = np.array([s if counts[s] >= folds else s.split("|")[0] or s for s in strat])
    pred_c: list[Any] = [None] * len(records)
    pred_u: list[Any] = [None] * len(records)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.get("random_state", 0))
    for train_idx, test_idx in splitter.split(np.zeros(len(records)), strat):
        model = train_model([records[i] for i in train_idx], **params)
        for i, p in zip(test_idx, model.predict([records[i]["text"] for i in test_idx])):
            pred_c[i], pred_u[i] = p.category, p.urgency
    out: dict[str, Any] = {"folds": folds}
    if cats:
        out["category"] = head_metrics(cats, pred_c, sorted(set(cats)))
    if urgs:
        out["urgency"] = head_metrics(urgs, pred_u, sorted(set(urgs)))
        out["urgency"].update(urgency_metrics(urgs, pred_u))
    return out


def format_scores(scores: dict[str, Any]) -> str:
    """Human-readable lines for the output of :func:`score_predictions` or :func:`cross_validate`."""
    lines = []
    for head in ("category", "urgency"):
        if head not in scores:
            continue
        s = scores[head]
        lines.append(f"{head}: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}")
        for label, v in s["per_class"].items():
            lines.append(f"  {label:13s} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  n {v['support']}")
        if s.get("critical_recall") is not None:
            lines.append(
                f"  critical recall {s['critical_recall']:.3f}, precision {s['critical_precision']:.3f} "
                f"({s['missed_critical']} of {s['critical_support']} missed); priority MSE {s.get('priority_mse')}"
            )
    return "\n".join(lines)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``triage train`` / ``python -m triage.train``."""
    p = parser or argparse.ArgumentParser(prog="python -m triage.train", description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?", help="labelled CSV/TSV/JSONL (default: the shipped corpus datasets/)")
    p.add_argument("-o", "--output", default=None, help="model directory to write (default: models/default)")
    p.add_argument("--text-col", default="text")
    p.add_argument("--category-col", default="category", help="'' for an urgency-only model")
    p.add_argument("--urgency-col", default="urgency", help="'' for a category-only model")
    p.add_argument("--userdict", default=None, help="jieba user dictionary replacing the shipped one")
    p.add_argument("--hmm", action="store_true", help="jieba HMM for unknown words")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5, help="folds for cross-validated scores of user data")
    p.add_argument("--critical-recall", type=float, default=0.98, help="out-of-fold critical recall to tune for")
    return p


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` say; print the scores; return an exit code."""
    params: dict[str, Any] = {"random_state": args.seed, "hmm": args.hmm, "critical_recall": args.critical_recall}
    if args.userdict:
        params["userdict"] = read_userdict(args.userdict)
    started = time.time()
    if args.data is None:
        train, test = load_corpus("train"), load_corpus("test")
        output = Path(args.output) if args.output else DEFAULT_OUTPUT
        model = train_model(train, **params)
        scores = score_predictions(
            model, [r["text"] for r in test], [r["category"] for r in test], [r["urgency"] for r in test]
        )
        extra = {
            "training_data": {"source": "datasets/train.jsonl", "records": len(train), "sha256": corpus_hash(train)},
            "evaluation": {"split": "datasets/test.jsonl", "records": len(test), "sha256": corpus_hash(test), "scores": scores},
        }
        print(f"test split ({len(test)} records, never trained on):")
    else:
        if not args.output:
            raise SystemExit("triage train: with DATA, give the model directory to write with -o MODELDIR")
        records = read_labelled(
            args.data, text_col=args.text_col, category_col=args.category_col or None, urgency_col=args.urgency_col or None
        )
        output = Path(args.output)
        scores = cross_validate(records, folds=args.folds, **params)
        model = train_model(records, **params)
        extra = {
            "training_data": {"source": str(args.data), "records": len(records), "sha256": corpus_hash(records)},
            "evaluation": {"split": f"{args.folds}-fold cross-validation", "records": len(records), "scores": scores},
        }
        print(f"{args.folds}-fold cross-validation ({len(records)} records):")
    print(format_scores(scores))
    if model.threshold_report_:
        t = model.threshold_report_
        print(
            f"critical operating point: score >= {t['critical_threshold']} (or >= {t['lexicon_threshold']} with a "
            f"life-threat word, or any score with one in <= {t.get('lexicon_max_chars', 0)} characters); out-of-fold recall {t['oof_critical_recall']}, precision {t['oof_critical_precision']}"
        )
    save_model(model, output, extra=extra)
    size = (output / MODEL_FILE).stat().st_size
    print(f"wrote {output} ({size / 1e6:.2f} MB model) in {time.time() - started:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m triage.train``."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
