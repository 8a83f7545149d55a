"""Model selection on the TRAINING split only (5-fold CV): features, jieba HMM, C.

    python benchmarks/model_selection.py

Prints category macro-F1, urgency macro-F1 and the out-of-fold average precision of the
critical score for each configuration, so the choices in the README can be checked. The
test split is never read here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triage.datasets import load_corpus  # noqa: E402
from triage.features import make_features  # noqa: E402
from triage.normalize import normalize  # noqa: E402
from triage.segment import Segmenter  # noqa: E402

CONFIGS = [
    # name, hmm, word range, char range, C
    ("word 1-2 + char 1-3, C=20 (default)", False, (1, 2), (1, 3), 20.0),
    ("same, jieba HMM on", True, (1, 2), (1, 3), 20.0),
    ("word 1-2 only", False, (1, 2), (0, 0), 20.0),
    ("char 1-3 only", False, (0, 0), (1, 3), 20.0),
    ("word 1 + char 1-2", False, (1, 1), (1, 2), 20.0),
    ("word 1-2 + char 1-4", False, (1, 2), (1, 4), 20.0),
    ("default features, C=5", False, (1, 2), (1, 3), 5.0),
    ("default features, C=50", False, (1, 2), (1, 3), 50.0),
]


def evaluate(texts, cats, urgs, hmm, wr, cr, C, folds=5):
    cats, urgs = np.array(cats), np.array(urgs)
    pc, pu = np.empty(len(texts), object), np.empty(len(texts), object)
    crit = np.zeros(len(texts))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, cats):
        feats = make_features(Segmenter(hmm=hmm), word_ngram_range=wr, char_ngram_range=cr)
        Xtr = feats.fit_transform([texts[i] for i in tr])
        Xte = feats.transform([texts[i] for i in te])
        hc = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(Xtr, cats[tr])
        hu = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(Xtr, urgs[tr])
        pc[te] = hc.predict(Xte)
        pu[te] = hu.predict(Xte)
        pu_proba = hu.predict_proba(Xte)[:, list(hu.classes_).index("critical")]
        pc_proba = hc.predict_proba(Xte)[:, list(hc.classes_).index("emergency")]
        crit[te] = np.maximum(pu_proba, pc_proba)
    return (
        f1_score(cats, pc, average="macro"),
        f1_score(urgs, pu, average="macro"),
        average_precision_score(urgs == "critical", crit),
    )


def main() -> None:
    records = load_corpus("train")
    texts = [normalize(r["text"]) for r in records]
    cats = [r["category"] for r in records]
    urgs = [r["urgency"] for r in records]
    print(f"5-fold CV on the training split ({len(records)} records)")
    print("| configuration | category macro-F1 | urgency macro-F1 | critical AP | seconds |")
    print("|---|---:|---:|---:|---:|")
    for name, hmm, wr, cr, C in CONFIGS:
        t = time.time()
        f_c, f_u, ap = evaluate(texts, cats, urgs, hmm, wr, cr, C)
        print(f"| {name} | {f_c:.4f} | {f_u:.4f} | {ap:.4f} | {time.time() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
