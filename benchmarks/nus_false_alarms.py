"""False alarms on real chatter: the shipped model on the NUS SMS corpus (Chinese part).

The 31,465 messages of ``nus_sms_zh`` are everyday personal SMS (2010–2011, some Cantonese
and traditional characters). None is a police report, so every ``critical`` prediction is
treated as a false alarm (spot-check the list: a handful of real mishaps may be in there).

    python benchmarks/nus_false_alarms.py                   # shares, top 30 false criticals, categories
    python benchmarks/nus_false_alarms.py --analyse         # + which patterns and features cause them
    python benchmarks/nus_false_alarms.py --model DIR       # another model directory
    python benchmarks/nus_false_alarms.py --what-if         # + retrain variants (≈ 2 min each)

``--what-if`` retrains on the shipped ``datasets/train.jsonl`` (optionally plus the hand-written
``datasets/parts/nus_inspired_negatives.jsonl``) with a few settings, and prints for each the
NUS critical/high share next to critical recall/precision on ``datasets/test.jsonl``. NUS is
only ever predicted on, never trained on.

The corpus lives outside the project in ``<repo>/../shared/data/nus_sms_zh`` (research use,
see its SOURCE.md). Without it the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nus_sms_zh" / "nus_sms_zh.csv"
NEGATIVES = ROOT / "datasets" / "parts" / "nus_inspired_negatives.jsonl"
ALARM = ("critical", "high")

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])[ \t\u3000]+(?=[{_CJK}])")


#: Surface patterns counted among the false criticals (on the raw text unless said otherwise).
_CANTONESE = re.compile("[嘅咗唔喺係佢乜嘢冇啲咩嚟哋噉]")
PATTERNS: dict[str, Any] = {
    "space between Chinese characters": lambda raw, norm: bool(_SPACE_BETWEEN_CJK.search(norm)),
    "exclamation mark (!/！)": lambda raw, norm: "!" in norm,
    "three or more ! in a row": lambda raw, norm: "!!!" in norm,
    "short (≤ 4 chars normalised)": lambda raw, norm: 0 < len(norm) <= 4,
    "traditional characters (t2s changes it)": lambda raw, norm: _is_traditional(raw),
    "Cantonese particles (嘅咗唔係佢冇啲…)": lambda raw, norm: bool(_CANTONESE.search(raw)),
    "在 (I'm at / are you at)": lambda raw, norm: "在" in norm,
    "快 (hurry / soon)": lambda raw, norm: "快" in norm,
    "打 (打车/打球/打电话…)": lambda raw, norm: "打" in norm,
    "死 (…死了 hyperbole)": lambda raw, norm: "死" in norm,
    "救命 / 救": lambda raw, norm: "救" in norm,
    "车 (on the bus / in the car)": lambda raw, norm: "车" in norm,
    "a life-threat lexicon term": lambda raw, norm: bool(_threat(norm)),
    "<#> (corpus digit mask)": lambda raw, norm: "<#>" in raw,
    "question (? / ？ / 吗)": lambda raw, norm: "?" in norm or "吗" in norm,
}


def _is_traditional(text: str) -> bool:
    from triage.normalize import _T2S

    return not text.isascii() and _T2S.convert(text) != text


def _threat(norm: str) -> list[str]:
    from triage.safety import threat_terms

    return threat_terms(norm)


def read_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def critical_score(model, pred) -> float:
    """The model's critical score: max(P(urgency=critical), P(category=emergency) if coupled)."""
    score = pred.urgency_scores.get("critical", 0.0)
    if model.couple_heads:
        score = max(score, pred.category_scores.get("emergency", 0.0))
    return float(score)


def summarise(model, texts: list[str], preds: list) -> dict[str, Any]:
    """Shares of each urgency and category, flags, and the top false criticals (unique texts)."""
    n = len(preds)
    urg = collections.Counter(p.urgency for p in preds)
    cat = collections.Counter(p.category for p in preds)
    crit = [p for p in preds if p.urgency == "critical"]
    flags = collections.Counter(f for p in crit for f in (p.flags or ("argmax",)))
    dup = collections.Counter(p.text for p in crit)
    seen, top = set(), []
    for p in sorted(crit, key=lambda p: -critical_score(model, p)):
        if p.text in seen:
            continue
        seen.add(p.text)
        top.append(
            {
                "text": p.text,
                "copies": dup[p.text],
                "critical_score": round(critical_score(model, p), 3),
                "p_critical": round(p.urgency_scores.get("critical", 0.0), 3),
                "p_emergency": round(p.category_scores.get("emergency", 0.0), 3),
                "category": p.category,
                "flags": list(p.flags) or ["argmax"],
            }
        )
    unmasked = [p for p in preds if "<#>" not in p.text]
    return {
        "n": n,
        "critical_share_without_digit_mask": round(sum(p.urgency == "critical" for p in unmasked) / max(1, len(unmasked)), 4),
        "n_without_digit_mask": len(unmasked),
        "urgency": {u: urg[u] for u in ("critical", "high", "normal", "low") if u in urg},
        "critical_share": round(urg["critical"] / n, 4),
        "high_share": round(urg["high"] / n, 4),
        "alarm_share": round((urg["critical"] + urg["high"]) / n, 4),
        "category": dict(cat.most_common()),
        "critical_flags": dict(flags),
        "top_false_critical": top,
    }


def pattern_table(texts: list[str], preds: list) -> list[dict[str, Any]]:
    """For each surface pattern: messages, critical among them, and its share of all criticals."""
    from triage.normalize import normalize

    norms = [normalize(t) for t in texts]
    is_crit = np.array([p.urgency == "critical" for p in preds])
    rows = []
    for name, test in PATTERNS.items():
        has = np.array([test(r, n) for r, n in zip(texts, norms)])
        rows.append(
            {
                "pattern": name,
                "messages": int(has.sum()),
                "critical": int((has & is_crit).sum()),
                "critical_rate": round(float((has & is_crit).sum() / max(1, has.sum())), 4),
                "share_of_criticals": round(float((has & is_crit).sum() / max(1, is_crit.sum())), 4),
                "rate_without": round(float((~has & is_crit).sum() / max(1, (~has).sum())), 4),
            }
        )
    return rows


def feature_table(model, preds: list, top: int = 30) -> list[dict[str, Any]]:
    """Features that pushed the false criticals towards ``critical`` (urgency head).

    Contribution = TF-IDF value × the weight of ``critical`` in the urgency head's log-odds
    (exactly as :func:`triage.explain.explain` computes it), summed over the false-critical
    messages; ``top1`` counts the messages in which the feature is the single largest push.
    """
    import scipy.sparse as sp

    from triage.explain import _feature_index, _linear_parts, _ungated
    from triage.normalize import normalize

    crit = [p for p in preds if p.urgency == "critical" and "empty" not in p.flags]
    names, kinds = _feature_index(model)
    weights = _linear_parts(model.urgency_head_, "critical")[0]
    M = model.features_.transform([normalize(p.text) for p in crit]).tocsr()
    gate_columns = getattr(model, "gate_columns_", None)
    if gate_columns is None:
        C = M.multiply(weights[np.newaxis, :]).tocsr()
    else:  # a category-gated head: each message's own weights (see triage.explain)
        rows = []
        for i, p in enumerate(crit):
            w = _ungated(weights, len(names), gate_columns, [p.category_scores[c] for c in model.categories_])
            rows.append(M.getrow(i).multiply(w[np.newaxis, :]))
        C = sp.vstack(rows, format="csr") if rows else M
    total = np.asarray(C.sum(axis=0)).ravel()
    docs = np.asarray((C > 0).sum(axis=0)).ravel()
    top1 = collections.Counter()
    for i in range(C.shape[0]):
        row = C.getrow(i)
        if row.nnz:
            top1[int(row.indices[np.argmax(row.data)])] += 1
    order = np.argsort(-total)[:top]
    return [
        {"feature": str(names[j]), "kind": str(kinds[j]), "total": round(float(total[j]), 1),
         "messages": int(docs[j]), "top1": top1[int(j)], "weight": round(float(weights[j]), 3)}  # the weight shared by all categories
        for j in order
    ]


def space_as_comma(text: str) -> str:
    """Experimental pre-processing: white space between two Chinese characters becomes '，'.

    Casual typists (SMS, WeChat) separate clauses with a space where the corpus writers used
    punctuation; this makes the two look alike. Applied to training and prediction texts.
    """
    return _SPACE_BETWEEN_CJK.sub("，", text)


def what_if(nus_texts: list[str], variants: list[tuple[str, dict[str, Any], bool, Any]]) -> list[dict[str, Any]]:
    """Retrain each variant on the shipped training split; score NUS alarm share and the test split.

    A variant is ``(name, TriageClassifier params, add the hand-written negatives?, preprocess)``
    where ``preprocess`` (or None) maps each raw text before training and prediction.
    """
    from triage.datasets import load_corpus, load_jsonl
    from triage.metrics import urgency_metrics
    from triage.train import train_model

    train, test = load_corpus("train"), load_corpus("test")
    negatives = load_jsonl(NEGATIVES) if NEGATIVES.is_file() else []
    out = []
    for name, params, add_negatives, preprocess in variants:
        if add_negatives and not negatives:
            continue
        prep = preprocess or (lambda t: t)
        started = time.time()
        records = [dict(r, text=prep(r["text"])) for r in train + (negatives if add_negatives else [])]
        model = train_model(records, **params)
        preds = model.predict([prep(t) for t in nus_texts])
        tp = model.predict([prep(r["text"]) for r in test])
        um = urgency_metrics([r["urgency"] for r in test], [p.urgency for p in tp])
        out.append(
            {
                "variant": name,
                "train_records": len(records),
                "nus_critical_share": round(float(np.mean([p.urgency == "critical" for p in preds])), 4),
                "nus_alarm_share": round(float(np.mean([p.urgency in ALARM for p in preds])), 4),
                "test_category_accuracy": round(float(np.mean([p.category == r["category"] for p, r in zip(tp, test)])), 4),
                "test_urgency_accuracy": round(float(np.mean([p.urgency == r["urgency"] for p, r in zip(tp, test)])), 4),
                "test_critical_recall": um["critical_recall"],
                "test_critical_precision": um["critical_precision"],
                "thresholds": [model.critical_threshold_, model.lexicon_threshold_],
                "seconds": round(time.time() - started),
            }
        )
        print(json.dumps(out[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    return out


WHAT_IF_VARIANTS: list[tuple[str, dict[str, Any], bool, Any]] = [
    ("current model code, retrained on datasets/train.jsonl", {}, False, None),
    ("+ nus_inspired_negatives.jsonl (60 messages)", {}, True, None),
    ("space between Chinese characters -> '，'", {}, False, space_as_comma),
    ("space -> '，' + negatives", {}, True, space_as_comma),
]


def _print_summary(s: dict[str, Any], top: int) -> None:
    print(f"{s['n']} messages")
    print(
        f"predicted critical: {s['urgency'].get('critical', 0)} ({s['critical_share']:.2%}); "
        f"high: {s['urgency'].get('high', 0)} ({s['high_share']:.2%}); "
        f"critical or high: {s['alarm_share']:.2%}"
    )
    print(
        f"critical among the {s['n_without_digit_mask']} messages without the corpus's <#> digit mask: "
        f"{s['critical_share_without_digit_mask']:.2%}"
    )
    print(f"urgency: {s['urgency']}")
    print(f"how the criticals were decided: {s['critical_flags']}")
    print("category distribution: " + ", ".join(f"{k} {v} ({v / s['n']:.1%})" for k, v in s["category"].items()))
    print(f"\ntop {top} false criticals (unique texts, highest critical score first):")
    print(f"  {'score':>5s} {'P(crit)':>7s} {'P(emer)':>7s} {'copies':>6s}  {'category':10s} {'flags':22s} text")
    for r in s["top_false_critical"][:top]:
        print(
            f"  {r['critical_score']:5.2f} {r['p_critical']:7.2f} {r['p_emergency']:7.2f} {r['copies']:6d}  "
            f"{r['category']:10s} {','.join(r['flags']):22s} {r['text'][:50]}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="nus_sms_zh.csv")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--top", type=int, default=30, help="false criticals to list (default 30)")
    parser.add_argument("--analyse", action="store_true", help="patterns and features behind the false criticals")
    parser.add_argument("--what-if", action="store_true", help="retrain variants and compare (slow)")
    parser.add_argument("--json", type=Path, help="also write all numbers to this JSON file")
    args = parser.parse_args(argv)

    if not args.data.is_file():
        print(f"skipped: NUS SMS corpus not found at {args.data} (it lives outside the project in ../shared/data)")
        return 0
    from triage.api import default_model, load

    model = load(args.model) if args.model else default_model()
    texts = read_texts(args.data)
    started = time.time()
    preds = model.predict(texts)
    print(f"model: {getattr(model, 'path_', 'in memory')}; predicted in {time.time() - started:.1f} s")
    result: dict[str, Any] = {"summary": summarise(model, texts, preds)}
    _print_summary(result["summary"], args.top)

    if args.analyse:
        result["patterns"] = pattern_table(texts, preds)
        print("\npatterns (critical rate = share of the messages with the pattern predicted critical):")
        print(f"  {'pattern':42s} {'messages':>8s} {'critical':>8s} {'rate':>7s} {'rate w/o':>8s} {'of all crit':>11s}")
        for r in result["patterns"]:
            print(
                f"  {r['pattern']:42s} {r['messages']:8d} {r['critical']:8d} {r['critical_rate']:7.1%} "
                f"{r['rate_without']:8.1%} {r['share_of_criticals']:11.1%}"
            )
        result["features"] = feature_table(model, preds)
        print("\nfeatures pushing the false criticals towards critical (urgency head, summed contributions):")
        print(f"  {'feature':10s} {'kind':4s} {'total':>7s} {'messages':>8s} {'top push in':>11s} {'weight':>7s}")
        for r in result["features"]:
            shown = r["feature"].replace(" ", "␣") if r["kind"] == "char" else r["feature"]
            shown += " " * max(0, 10 - sum(2 if ord(ch) > 0x2E7F else 1 for ch in shown))
            print(f"  {shown} {r['kind']:4s} {r['total']:7.1f} {r['messages']:8d} {r['top1']:11d} {r['weight']:7.3f}")

    if args.what_if:
        result["what_if"] = what_if(texts, WHAT_IF_VARIANTS)
        print("\nretrained variants (NUS predicted only; test = datasets/test.jsonl):")
        print(f"  {'variant':52s} {'NUS crit':>8s} {'NUS c+h':>8s} {'crit R':>6s} {'crit P':>6s} {'cat acc':>7s} {'urg acc':>7s}")
        for r in result["what_if"]:
            print(
                f"  {r['variant']:52s} {r['nus_critical_share']:8.2%} {r['nus_alarm_share']:8.2%} "
                f"{r['test_critical_recall']:6.3f} {r['test_critical_precision']:6.3f} "
                f"{r['test_category_accuracy']:7.3f} {r['test_urgency_accuracy']:7.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
