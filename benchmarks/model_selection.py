"""Model selection on the TRAINING split only (5-fold CV): features, segmenter, HMM, C, norm floor.

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
from sklearn.svm import LinearSVC
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from triage.datasets import load_corpus  # noqa: E402
from triage.features import make_features  # noqa: E402
from triage.normalize import normalize  # noqa: E402
from triage.segment import Segmenter  # noqa: E402

CONFIGS = [
    # name, engine, hmm, word range, char range, min_df, C[, norm floor quantile (default 0.25)]
    ("word 1-2 + char 1-3, min_df 2, C 1, norm floor q 0.25 (shipped)", "rjieba", False, (1, 2), (1, 3), 2, 1.0),
    ("plain L2 rows (norm floor q 0)", "rjieba", False, (1, 2), (1, 3), 2, 1.0, 0.0),
    ("norm floor q 0.1", "rjieba", False, (1, 2), (1, 3), 2, 1.0, 0.1),
    ("norm floor q 0.4", "rjieba", False, (1, 2), (1, 3), 2, 1.0, 0.4),
    ("same, Python jieba instead of rjieba", "jieba", False, (1, 2), (1, 3), 2, 1.0),
    ("same, jieba HMM on", "rjieba", True, (1, 2), (1, 3), 2, 1.0),
    ("word 1-2 only", "rjieba", False, (1, 2), (0, 0), 2, 1.0),
    ("char 1-3 only (no segmentation)", "rjieba", False, (0, 0), (1, 3), 2, 1.0),
    ("word 1 + char 1-3", "rjieba", False, (1, 1), (1, 3), 2, 1.0),
    ("word 1-3 + char 1-3", "rjieba", False, (1, 3), (1, 3), 2, 1.0),
    ("word 1-2 + char 2-3", "rjieba", False, (1, 2), (2, 3), 2, 1.0),
    ("min_df 1", "rjieba", False, (1, 2), (1, 3), 1, 1.0),
    ("C 0.25", "rjieba", False, (1, 2), (1, 3), 2, 0.25),
    ("C 0.5", "rjieba", False, (1, 2), (1, 3), 2, 0.5),
]


def evaluate(texts, cats, urgs, engine, hmm, wr, cr, min_df, C, q=0.25, folds=5):
    cats, urgs = np.array(cats), np.array(urgs)
    pc, pu = np.empty(len(texts), object), np.empty(len(texts), object)
    crit = np.zeros(len(texts))
    n_features = 0
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, cats):
        feats = make_features(Segmenter(hmm=hmm, engine=engine), word_ngram_range=wr, char_ngram_range=cr, min_df=min_df, norm_floor_quantile=q)
        Xtr = feats.fit_transform([texts[i] for i in tr])
        Xte = feats.transform([texts[i] for i in te])
        n_features = Xtr.shape[1]
        hc = LinearSVC(C=C).fit(Xtr, cats[tr])
        hu = LinearSVC(C=C).fit(Xtr, urgs[tr])
        pc[te] = hc.predict(Xte)
        pu[te] = hu.predict(Xte)
        crit[te] = hu.decision_function(Xte)[:, list(hu.classes_).index("critical")]
    return (
        f1_score(cats, pc, average="macro"),
        f1_score(urgs, pu, average="macro"),
        average_precision_score(urgs == "critical", crit),
        n_features,
    )


def main() -> None:
    records = load_corpus("train")
    texts = [normalize(r["text"]) for r in records]
    cats = [r["category"] for r in records]
    urgs = [r["urgency"] for r in records]
    print(f"5-fold CV on the training split ({len(records)} records)")
    print("| configuration | category macro-F1 | urgency macro-F1 | critical AP | features | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    only = sys.argv[1:]  # optional substrings of configuration names to run
    for name, *config in CONFIGS:
        if only and not any(o in name for o in only):
            continue
        t = time.time()
        f_c, f_u, ap, n = evaluate(texts, cats, urgs, *config)
        print(f"| {name} | {f_c:.4f} | {f_u:.4f} | {ap:.4f} | {n:,} | {time.time() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
