"""Engine sanity check on a public benchmark: THUCNews news titles, 10 classes.

Trains the triage pipeline (normalise → jieba + character TF-IDF → the model's linear heads; a
category head only, so the ``critical`` logic does not apply) on the THUCNews **dev** split
(10,000 titles) and scores it on the **test** split (10,000 titles), side by side with

- a word + character TF-IDF **LinearSVC** (the same features, hinge loss), and
- **fastText** (word bigrams, character subwords 1–2, on the same jieba tokens) when the
  ``fasttext`` module is importable (e.g. ``pip install --target /tmp/ft fasttext-numpy2``
  and ``PYTHONPATH=/tmp/ft``; it is not a dependency of triage).

    python benchmarks/thucnews.py                  # the comparison (≈ 3 min on 2 cores)
    python benchmarks/thucnews.py --search         # + 3-fold CV of pipeline settings on dev only
    python benchmarks/thucnews.py --C 50 --char-ngram 1 4

The corpus lives outside the project in ``<repo>/../shared/data/thucnews_titles`` (research
use only, see its SOURCE.md); it is never copied into the project nor used to train the
shipped model. Without it the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "thucnews_titles" / "thucnews_dev_test.csv"

#: Settings tried by ``--search`` (3-fold CV on dev): one factor at a time around the
#: model's defaults (printed by the script), then a few combinations. The character block
#: supports n <= 3 (:class:`triage.charngrams.CharNgramTfidf`).
SEARCH_GRID: list[dict[str, Any]] = [
    {},
    {"C": 0.1},
    {"C": 0.25},
    {"C": 1.0},
    {"C": 2.0},
    {"min_df": 1},
    {"word_ngram_range": (1, 1)},
    {"word_ngram_range": (1, 3)},
    {"char_ngram_range": (1, 2)},
    {"char_ngram_range": (2, 3)},
    {"min_df": 1, "C": 1.0},
]


def read_split(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """``{"dev": (texts, labels), "test": (texts, labels)}`` from ``thucnews_dev_test.csv``."""
    out: dict[str, tuple[list[str], list[str]]] = {"dev": ([], []), "test": ([], [])}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            texts, labels = out[row["split"]]
            texts.append(row["text"])
            labels.append(row["label"])
    return out


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro")), 4),
    }


def run_triage(train: tuple[list[str], list[str]], test_texts: list[str], **params: Any) -> list[str]:
    """The triage pipeline with a category head only."""
    from triage.model import TriageClassifier

    model = TriageClassifier(**params).fit(train[0], y_category=train[1])
    return [p.category for p in model.predict(test_texts)]


def run_linear_svc(train: tuple[list[str], list[str]], test_texts: list[str], C: float = 1.0) -> list[str]:
    """LinearSVC on the same normalised word + character TF-IDF features."""
    from sklearn.svm import LinearSVC

    from triage.features import make_features
    from triage.normalize import normalize
    from triage.segment import Segmenter

    features = make_features(Segmenter())
    X = features.fit_transform([normalize(t) for t in train[0]])
    clf = LinearSVC(C=C, random_state=0).fit(X, train[1])
    return list(clf.predict(features.transform([normalize(t) for t in test_texts])))


def run_fasttext(train: tuple[list[str], list[str]], test_texts: list[str], seed: int = 0) -> list[str] | None:
    """fastText (wordNgrams=2, minn=1, maxn=2) on jieba tokens; None when not importable."""
    try:
        import fasttext
    except ImportError:
        return None
    from triage.normalize import normalize
    from triage.segment import Segmenter

    seg = Segmenter()

    def tokens(text: str) -> str:
        return " ".join(seg.cut(normalize(text)))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as fh:
            for text, label in zip(*train):
                fh.write(f"__label__{label} {tokens(text)}\n")
        model = fasttext.train_supervised(
            path, wordNgrams=2, minn=1, maxn=2, epoch=25, lr=0.5, dim=100, thread=1, seed=seed, verbose=0
        )
    return [model.predict(tokens(t))[0][0].removeprefix("__label__") for t in test_texts]


def _fold_score(params: dict[str, Any], texts: list[str], labels: list[str], train_idx, test_idx) -> float:
    pred = run_triage(([texts[i] for i in train_idx], [labels[i] for i in train_idx]), [texts[i] for i in test_idx], **params)
    return float(np.mean([p == labels[i] for p, i in zip(pred, test_idx)]))


def search(dev: tuple[list[str], list[str]], grid: list[dict[str, Any]], folds: int = 3, n_jobs: int = 2) -> list[dict[str, Any]]:
    """Mean and standard deviation of the CV accuracy of each setting, on dev only."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    texts, labels = dev
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(texts, labels))
    jobs = [(g, s) for g in range(len(grid)) for s in range(len(splits))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fold_score)(grid[g], texts, labels, *splits[s]) for g, s in jobs
    )
    table = []
    for g, params in enumerate(grid):
        accs = [r for (gg, _), r in zip(jobs, results) if gg == g]
        table.append({"params": params or "defaults", "cv_accuracy": round(float(np.mean(accs)), 4), "std": round(float(np.std(accs)), 4)})
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="thucnews_dev_test.csv")
    parser.add_argument("--C", type=float, default=None, help="C of the triage head (default: the model's)")
    parser.add_argument("--char-ngram", type=int, nargs=2, default=None, metavar=("MIN", "MAX"))
    parser.add_argument("--word-ngram", type=int, nargs=2, default=None, metavar=("MIN", "MAX"))
    parser.add_argument("--min-df", type=int, default=None)
    parser.add_argument("--search", action="store_true", help="also run the 3-fold CV search on dev")
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for --search")
    parser.add_argument("--no-baselines", action="store_true", help="score only the triage pipeline")
    args = parser.parse_args(argv)

    if not args.data.is_file():
        print(f"skipped: THUCNews titles not found at {args.data} (they live outside the project in ../shared/data)")
        return 0
    data = read_split(args.data)
    dev, test = data["dev"], data["test"]
    print(f"THUCNews titles: train on dev ({len(dev[0])}), score on test ({len(test[0])}), {len(set(dev[1]))} classes")

    if args.search:
        from triage.model import TriageClassifier

        defaults = {k: v for k, v in TriageClassifier().get_params().items()
                    if k in ("C", "class_weight", "min_df", "word_ngram_range", "char_ngram_range")}
        print(f"\n3-fold cross-validation on dev only (triage pipeline, category head; defaults {defaults}):")
        for row in search(dev, SEARCH_GRID, n_jobs=args.n_jobs):
            print(f"  {str(row['params']):62s} accuracy {row['cv_accuracy']:.4f} ± {row['std']:.4f}")

    params: dict[str, Any] = {}
    if args.C is not None:
        params["C"] = args.C
    if args.char_ngram:
        params["char_ngram_range"] = tuple(args.char_ngram)
    if args.word_ngram:
        params["word_ngram_range"] = tuple(args.word_ngram)
    if args.min_df is not None:
        params["min_df"] = args.min_df

    rows = []
    runs = [(f"triage pipeline ({params or 'defaults'})", lambda: run_triage(dev, test[0], **params))]
    if params:
        runs.insert(0, ("triage pipeline (defaults)", lambda: run_triage(dev, test[0])))
    if not args.no_baselines:
        runs.append(("word+char TF-IDF LinearSVC (C=1)", lambda: run_linear_svc(dev, test[0])))
        runs.append(("fastText (wordNgrams=2, subwords 1-2)", lambda: run_fasttext(dev, test[0])))
    for name, fn in runs:
        started = time.time()
        pred = fn()
        if pred is None:
            rows.append((name, None, time.time() - started))
            continue
        rows.append((name, scores(test[1], pred), time.time() - started))
    print("\ntest split (10 classes, trained on the 10k dev titles only):")
    print(f"  {'model':58s} {'accuracy':>8s} {'macro-F1':>8s} {'seconds':>8s}")
    for name, s, secs in rows:
        if s is None:
            print(f"  {name:58s} {'(fasttext not importable: skipped)':>26s}")
        else:
            print(f"  {name:58s} {s['accuracy']:8.4f} {s['macro_f1']:8.4f} {secs:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
