"""Quality figures of a model on labelled data (used by training, evaluation and the README)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from triage.taxonomy import URGENCY_PRIORITY

__all__ = ["head_metrics", "urgency_metrics", "score_predictions"]


def head_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_class": {
            lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def urgency_metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Critical recall and precision, and the TREC-IS priority mean squared error."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    tp = int(np.sum((t == "critical") & (p == "critical")))
    crit_true = int(np.sum(t == "critical"))
    crit_pred = int(np.sum(p == "critical"))
    out: dict[str, Any] = {
        "critical_recall": round(tp / crit_true, 4) if crit_true else None,
        "critical_precision": round(tp / crit_pred, 4) if crit_pred else None,
        "critical_support": crit_true,
        "missed_critical": crit_true - tp,
    }
    if set(t) | set(p) <= set(URGENCY_PRIORITY):
        tp_ = np.array([URGENCY_PRIORITY[x] for x in t])
        pp_ = np.array([URGENCY_PRIORITY[x] for x in p])
        out["priority_mse"] = round(float(np.mean((tp_ - pp_) ** 2)), 5)
        out["critical_as_low"] = int(np.sum((t == "critical") & (p == "low")))
    return out


def score_predictions(model, texts: Sequence[str], categories=None, urgencies=None) -> dict[str, Any]:
    """Run ``model.predict`` on texts and compare with the given labels of either head."""
    preds = model.predict(list(texts))
    out: dict[str, Any] = {"n": len(preds), "needs_review_share": round(float(np.mean([p.needs_review for p in preds])), 4) if preds else 0.0}
    if categories is not None and model.categories_:
        out["category"] = head_metrics(categories, [p.category for p in preds], model.categories_)
    if urgencies is not None and model.urgencies_:
        out["urgency"] = head_metrics(urgencies, [p.urgency for p in preds], model.urgencies_)
        out["urgency"].update(urgency_metrics(urgencies, [p.urgency for p in preds]))
    return out
