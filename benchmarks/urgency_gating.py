"""Does the urgency head gain from seeing the category? Cross-validated on the TRAINING split only.

    python benchmarks/urgency_gating.py

For each configuration, the out-of-fold critical scores that ``TriageClassifier.fit`` tunes
its thresholds on (features, heads and gates refitted in every fold; the gates of a fold's
training messages are themselves out-of-fold), and from them: average precision of
``critical`` and the precision at 98 %, 97 % and 95 % recall — before the lexicon rules, so
the heads are compared alone. The test split is never read here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triage.datasets import load_corpus  # noqa: E402
from triage.model import TriageClassifier  # noqa: E402
from triage.normalize import normalize  # noqa: E402
from triage.segment import Segmenter  # noqa: E402

CONFIGS = [
    ("one weight per feature; critical score max(P(critical), P(emergency)) (before)", dict(category_gating=False, couple_heads=True)),
    ("one weight per feature; critical score P(critical)", dict(category_gating=False, couple_heads=False)),
    ("gated by the category, 5,000 most frequent features", dict(gated_features=5000)),
    ("gated by the category, 20,000 most frequent features (shipped)", dict()),
]


def precision_at_recall(truth: np.ndarray, score: np.ndarray, recall: float) -> float:
    """Precision of the highest-scored messages that reach ``recall`` of the positives."""
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(truth[order])
    k = int(np.searchsorted(hits / truth.sum(), recall)) + 1
    return float(hits[k - 1] / k)


def ready_for_tuning(model: TriageClassifier, y_cat: np.ndarray, y_urg: np.ndarray) -> TriageClassifier:
    """Set what ``fit`` sets before tuning the thresholds (the unfitted feature union the
    folds clone, the fitted choices, the label lists), so the out-of-fold scoring can run
    without a full fit."""
    model.features_ = model._make_features(Segmenter(hmm=model.hmm, engine=model.engine))
    model.category_rows_ = model.category_rows
    model.categories_ = sorted(set(y_cat))
    model.urgencies_ = sorted(set(y_urg))
    return model


def main() -> None:
    records = load_corpus("train")
    norm = [normalize(r["text"]) for r in records]
    y_cat = np.asarray([r["category"] for r in records], dtype=object)
    y_urg = np.asarray([r["urgency"] for r in records], dtype=object)
    truth = y_urg == "critical"
    print(f"5-fold CV on the training split ({len(records)} records, {int(truth.sum())} critical)")
    print("| configuration | critical AP | P @ R 0.98 | P @ R 0.97 | P @ R 0.95 | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    only = sys.argv[1:]
    for name, params in CONFIGS:
        if only and not any(o in name for o in only):
            continue
        start = time.perf_counter()
        model = ready_for_tuning(TriageClassifier(**params), y_cat, y_urg)
        score = model._oof_critical_scores(norm, y_cat, y_urg)
        cells = [average_precision_score(truth, score)] + [precision_at_recall(truth, score, r) for r in (0.98, 0.97, 0.95)]
        print(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + f" | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
