"""Which rows should the category head read? Training split (5-fold CV) and real SMS.

    python benchmarks/category_rows.py              # sweep and real heads (about 5 minutes)
    python benchmarks/category_rows.py --pipeline   # also the whole fit, "floored" vs "l2" (+10 minutes)

The norm floor (``norm_floor_quantile``, :mod:`triage.features`) keeps short chatter near the
prior. ``TriageClassifier(category_rows="l2")`` lets the category head read plain L2 rows
while the urgency head keeps the floor. For each floor of the category head's rows, a quick
stand-in (an uncalibrated ``LinearSVC``) gives the cross-validated category macro-F1 on the
training split and, on the real personal SMS of ``../shared/data/nus_sms_zh`` (chatter, not
reports; skipped when absent), the share it does not call ``chitchat`` and the share it
calls ``emergency``. Then the real calibrated category head of ``TriageClassifier`` is fitted
on the whole training split with each ``category_rows`` and read on the same SMS.
``--pipeline`` also runs the whole fit out of fold (calibrated heads, gates, critical
thresholds) for both settings. The test split is never read here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nus_false_alarms import DEFAULT_DATA, read_texts  # noqa: E402
from urgency_gating import ready_for_tuning  # noqa: E402

from triage.datasets import load_corpus  # noqa: E402
from triage.features import make_features  # noqa: E402
from triage.model import TriageClassifier  # noqa: E402
from triage.normalize import normalize  # noqa: E402
from triage.segment import Segmenter  # noqa: E402

FLOORS = (0.0, 0.05, 0.1, 0.15, 0.25)


def floor_sweep(texts: list[str], cats: np.ndarray, nus: list[str] | None) -> None:
    print("Stand-in: uncalibrated LinearSVC(C=1) on the features with this norm floor")
    print("| category rows: norm floor quantile | CV category macro-F1 | real SMS not chitchat | real SMS emergency | seconds |")
    print("|---|---:|---:|---:|---:|")
    for q in FLOORS:
        start = time.perf_counter()
        pred = np.empty(len(cats), dtype=object)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=1).split(texts, cats):
            feats = make_features(Segmenter(), min_df=2, norm_floor_quantile=q)
            head = LinearSVC(C=1.0, random_state=0).fit(feats.fit_transform([texts[i] for i in train]), cats[train])
            pred[test] = head.predict(feats.transform([texts[i] for i in test]))
        cells = [f"{f1_score(cats, pred, average='macro'):.4f}", "–", "–"]
        if nus:
            feats = make_features(Segmenter(), min_df=2, norm_floor_quantile=q)
            head = LinearSVC(C=1.0, random_state=0).fit(feats.fit_transform(texts), cats)
            on_sms = head.predict(feats.transform(nus))
            cells[1:] = [f"{np.mean(on_sms != 'chitchat'):.2%}", f"{np.mean(on_sms == 'emergency'):.2%}"]
        name = "plain L2 (`l2`)" if q == 0 else f"{q}" + (" (the urgency head's, `floored`)" if q == 0.25 else "")
        print(f"| {name} | " + " | ".join(cells) + f" | {time.perf_counter() - start:.0f} |", flush=True)


def real_heads(texts: list[str], cats: np.ndarray, nus: list[str]) -> None:
    print("\nThe calibrated category head of TriageClassifier, fitted on the whole training split")
    print("| category_rows | real SMS not chitchat | real SMS not chitchat or notice (opens a ledger incident) | real SMS emergency | seconds |")
    print("|---|---:|---:|---:|---:|")
    for rows in ("floored", "l2"):
        start = time.perf_counter()
        model = TriageClassifier(category_rows=rows).fit(texts, y_category=cats)
        proba = model.category_head_.predict_proba(model.category_input(model.features_.transform(nus)))
        on_sms = np.asarray(model.categories_, dtype=object)[proba.argmax(axis=1)]
        cells = [np.mean(on_sms != "chitchat"), np.mean(~np.isin(on_sms, ["chitchat", "notice"])), np.mean(on_sms == "emergency")]
        print(f"| {rows} | " + " | ".join(f"{c:.2%}" for c in cells) + f" | {time.perf_counter() - start:.0f} |", flush=True)


class _Recording(TriageClassifier):
    """Keeps the out-of-fold category probabilities that threshold tuning computes."""

    def _critical_scores(self, urgency_proba, category_proba):
        self.oof_category_proba_ = category_proba
        return super()._critical_scores(urgency_proba, category_proba)


def pipeline(texts: list[str], cats: np.ndarray, urgs: np.ndarray) -> None:
    print("\n| category_rows | OOF category macro-F1 | critical threshold | OOF critical recall | OOF critical precision | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for rows in ("floored", "l2"):
        start = time.perf_counter()
        model = ready_for_tuning(_Recording(category_rows=rows), cats, urgs)
        model._tune_critical(texts, cats, urgs)
        labels = np.asarray(sorted(set(cats)), dtype=object)
        f1 = f1_score(cats, labels[model.oof_category_proba_.argmax(axis=1)], average="macro")
        r = model.threshold_report_
        print(
            f"| {rows} | {f1:.4f} | {r['critical_threshold']} | {r['oof_critical_recall']:.4f} | "
            f"{r['oof_critical_precision']:.4f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", action="store_true", help="also compare the whole fit out of fold")
    args = parser.parse_args()
    records = load_corpus("train")
    texts = [normalize(r["text"]) for r in records]
    cats = np.asarray([r["category"] for r in records], dtype=object)
    urgs = np.asarray([r["urgency"] for r in records], dtype=object)
    nus = None
    if DEFAULT_DATA.is_file():
        nus = [t for t in (normalize(x) for x in read_texts(DEFAULT_DATA)) if t]
    else:
        print(f"({DEFAULT_DATA} is absent: the real-SMS columns are skipped)")
    print(f"training split: {len(texts)} records; real SMS: {len(nus) if nus else 0}")
    floor_sweep(texts, cats, nus)
    if nus:
        real_heads(texts, cats, nus)
    if args.pipeline:
        pipeline(texts, cats, urgs)


if __name__ == "__main__":
    main()
