"""Score a model on labelled messages and write a report with plots.

    triage evaluate models/default test -o eval/        # the shipped test split
    triage evaluate MODELDIR mine.csv -o eval/ --text-col 内容 --category-col 类别 --urgency-col 紧急程度

    >>> from triage.evaluate import evaluate, write_report
    >>> result = evaluate(triage.default_model(), records)     # doctest: +SKIP
    >>> write_report(result, "eval/")                           # doctest: +SKIP

What is measured
----------------
- **per head**: accuracy, macro-F1, per-class precision/recall/F1/support and the confusion
  matrix (rows: true label, columns: predicted), from the labels :meth:`predict` returns;
- **urgency**: ``critical`` recall and precision, the number of missed critical messages and
  of critical messages predicted ``low``, and the TREC-IS priority mean squared error with
  critical = 1.0, high = 0.75, normal = 0.5, low = 0.25 (only when the labels are those four);
- **calibration**: top-label reliability of each head (the probability of the argmax class
  against how often the argmax is right, 10 equal-width bins), its expected calibration error
  (ECE, count-weighted mean |accuracy - confidence|), the multiclass Brier score; and the
  one-vs-rest reliability of P(urgency = critical);
- **examples**: the most confident errors of each head, missed and false critical messages.

:func:`write_report` writes ``report.md`` (text confusion matrices included),
``confusion_category.png``, ``confusion_urgency.png``, ``reliability.png`` and
``metrics.json``. matplotlib is imported only there, with the Agg canvas (no display, no
change to the global pyplot backend).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.exceptions import DatasetError
from triage.metrics import head_metrics, urgency_metrics
from triage.taxonomy import CATEGORIES, URGENCIES

__all__ = ["evaluate", "reliability", "format_confusion", "format_summary", "write_report", "add_parser"]

#: Number of equal-width confidence bins of the reliability diagrams.
N_BINS = 10
#: How many example errors of each kind the result keeps.
N_EXAMPLES = 15
HEADS = ("category", "urgency")


def _display_order(labels: Sequence[str], head: str) -> list[str]:
    """Taxonomy order for the taxonomy's labels (urgency from critical down), sorted otherwise."""
    canonical = list(CATEGORIES) if head == "category" else list(reversed(URGENCIES))
    known = [label for label in canonical if label in labels]
    return known + sorted(label for label in labels if label not in canonical)


def reliability(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS) -> dict[str, Any]:
    """Reliability-diagram bins and the expected / maximum calibration error.

    Parameters
    ----------
    confidence : sequence of float
        Predicted probability of the event, in [0, 1].
    correct : sequence of bool
        Whether the event happened (the prediction was right).
    n_bins : int, default=10
        Equal-width bins over [0, 1]; the last bin includes 1.0.

    Returns
    -------
    dict
        ``bins`` (non-empty bins only: ``lo``, ``hi``, ``count``, ``confidence`` = mean
        predicted probability, ``accuracy`` = observed frequency), ``ece`` (count-weighted
        mean gap) and ``mce`` (largest gap).
    """
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if conf.shape != hit.shape:
        raise ValueError(f"expected confidence and correct of the same length, got {conf.shape} and {hit.shape}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=False), 0, n_bins - 1)
    bins, ece, mce = [], 0.0, 0.0
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        if not count:
            continue
        c, a = float(conf[mask].mean()), float(hit[mask].mean())
        ece += count * abs(a - c)
        mce = max(mce, abs(a - c))
        bins.append({"lo": round(float(edges[b]), 2), "hi": round(float(edges[b + 1]), 2), "count": count,
                     "confidence": round(c, 4), "accuracy": round(a, 4)})
    return {"bins": bins, "ece": round(ece / max(1, len(conf)), 4), "mce": round(mce, 4)}


def _brier(scores: list[dict[str, float]], truth: Sequence[str], classes: Sequence[str]) -> float:
    proba = np.array([[s[c] for c in classes] for s in scores])
    onehot = np.array([[float(t == c) for c in classes] for t in truth])
    return round(float(np.mean(np.sum((proba - onehot) ** 2, axis=1))), 4)


def _examples(rows: list[tuple[float, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: -r[0])
    return [r[1] for r in rows[:N_EXAMPLES]]


def _check_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        raise DatasetError(f"expected a list of records (dicts with 'text' and labels), got {type(records).__name__}")
    if not records:
        raise DatasetError("expected at least one labelled record, got none")
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise DatasetError(f"record {i}: expected a dict with 'text' and labels, got {type(r).__name__}")
        if not isinstance(r.get("text"), str):
            raise DatasetError(f"record {i}: expected a str 'text', got {r.get('text')!r}")
    return list(records)


def evaluate(model, records: Sequence[dict[str, Any]], *, source: str | None = None) -> dict[str, Any]:
    """Score a model on labelled records.

    Parameters
    ----------
    model : TriageClassifier, path-like or None
        A fitted model, a model directory, or None for the shipped model.
    records : sequence of dict
        ``{"text", "category", "urgency"}`` dicts, e.g. from :func:`triage.train.read_labelled`
        or :func:`triage.datasets.load_corpus`. A head is scored when the model has it and
        every record has a label for it.
    source : str, optional
        Where the records came from (shown in the report).

    Returns
    -------
    dict
        ``n``, ``model``, ``source``, ``needs_review_share`` and, per scored head, the
        metrics of :func:`triage.metrics.head_metrics` (plus :func:`~triage.metrics.urgency_metrics`
        for urgency) with ``calibration``, ``unknown_labels`` and ``errors``; urgency also has
        ``critical_calibration``, ``missed_critical_examples`` and ``false_critical_examples``.
        JSON-serialisable.

    Raises
    ------
    DatasetError
        No records, a record without text, or no head that is both in the model and labelled.
    """
    from triage.explain import _resolve_model

    model = _resolve_model(model)
    records = _check_records(records)
    texts = [r["text"] for r in records]
    heads = {}
    for head in HEADS:
        classes = model.categories_ if head == "category" else model.urgencies_
        values = [r.get(head) for r in records]
        if classes and all(isinstance(v, str) and v for v in values):
            heads[head] = (list(classes), values)
    if not heads:
        raise DatasetError(
            f"expected records labelled for a head of the model (category: {bool(model.categories_)}, "
            f"urgency: {bool(model.urgencies_)}), got none with a label on every record"
        )
    preds = model.predict(texts)
    result: dict[str, Any] = {
        "n": len(records),
        "source": source,
        "model": {
            "path": getattr(model, "path_", None),
            "categories": list(model.categories_),
            "urgencies": list(model.urgencies_),
            "thresholds": dict(getattr(model, "threshold_report_", {}) or {}),
        },
        "needs_review_share": round(float(np.mean([p.needs_review for p in preds])), 4),
    }
    for head, (classes, truth) in heads.items():
        predicted = [getattr(p, head) for p in preds]
        scores = [getattr(p, f"{head}_scores") for p in preds]
        labels = _display_order(sorted(set(classes) | set(truth)), head)
        out = head_metrics(truth, predicted, labels)
        out["unknown_labels"] = sorted(set(truth) - set(classes))
        top = [max(s, key=s.get) for s in scores]
        out["calibration"] = reliability([s[t] for s, t in zip(scores, top)], [t == y for t, y in zip(top, truth)])
        out["calibration"]["brier"] = _brier(scores, truth, classes)
        out["errors"] = _examples(
            [
                (s[p], {"text": text, "true": y, "predicted": p, "probability": round(s[p], 4)})
                for text, y, p, s in zip(texts, truth, predicted, scores)
                if y != p
            ]
        )
        if head == "urgency":
            out.update(urgency_metrics(truth, predicted))
            if "critical" in classes:
                crit = [s["critical"] for s in scores]
                out["critical_calibration"] = reliability(crit, [y == "critical" for y in truth])
                out["missed_critical_examples"] = _examples(
                    [
                        (-c, {"text": text, "predicted": p, "p_critical": round(c, 4)})
                        for text, y, p, c in zip(texts, truth, predicted, crit)
                        if y == "critical" and p != "critical"
                    ]
                )
                out["false_critical_examples"] = _examples(
                    [
                        (c, {"text": text, "true": y, "p_critical": round(c, 4), "flags": list(pr.flags)})
                        for text, y, pr, c in zip(texts, truth, preds, crit)
                        if y != "critical" and pr.urgency == "critical"
                    ]
                )
        result[head] = out
    return result


# -------------------------------------------------------------------------------- formatting
def _short_names(labels: Sequence[str], width: int = 6) -> list[str]:
    short = [label[:width] for label in labels]
    return short if len(set(short)) == len(short) else list(labels)


def format_confusion(labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """A fixed-width text confusion matrix: rows are true labels, columns predicted labels."""
    cols = _short_names(labels)
    row_w = max(len("true \\ pred"), *(len(label) for label in labels))
    col_w = max(max(len(c) for c in cols), max(len(str(v)) for row in matrix for v in row)) + 1
    lines = ["true \\ pred".ljust(row_w) + "".join(c.rjust(col_w) for c in cols) + "  total".rjust(8)]
    for label, row in zip(labels, matrix):
        lines.append(label.ljust(row_w) + "".join(str(v).rjust(col_w) for v in row) + str(sum(row)).rjust(8))
    return "\n".join(lines)


def format_summary(result: dict[str, Any]) -> str:
    """Human-readable summary of :func:`evaluate` (the lines ``triage evaluate`` prints)."""
    from triage.train import format_scores

    lines = [f"{result['n']} records" + (f" from {result['source']}" if result.get("source") else "")]
    lines.append(format_scores(result))
    for head in HEADS:
        if head in result:
            cal = result[head]["calibration"]
            lines.append(f"{head} calibration: ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}")
            if result[head]["unknown_labels"]:
                lines.append(f"  labels the model does not know: {result[head]['unknown_labels']}")
    u = result.get("urgency", {})
    if "critical_as_low" in u:
        lines.append(f"critical predicted low: {u['critical_as_low']}")
    lines.append(f"needs review: {result['needs_review_share']:.1%}")
    return "\n".join(lines)


def _md_escape(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _markdown(result: dict[str, Any], images: dict[str, str]) -> str:
    m = result["model"]
    out = ["# triage evaluation report", ""]
    out.append(f"- model: `{m.get('path') or 'in-memory model'}`")
    out.append(f"- data: {result.get('source') or 'records passed to evaluate()'} ({result['n']} records)")
    out.append(f"- needs review: {result['needs_review_share']:.1%}")
    if m.get("thresholds"):
        t = m["thresholds"]
        out.append(
            f"- critical operating point: score ≥ {t.get('critical_threshold')} "
            f"(≥ {t.get('lexicon_threshold')} with a life-threat word; any score with one in ≤ "
            f"{t.get('lexicon_max_chars', 0)} characters)"
        )
    out += ["", "| head | accuracy | macro-F1 | ECE | Brier |", "|---|---:|---:|---:|---:|"]
    for head in HEADS:
        if head in result:
            h = result[head]
            cal = h["calibration"]
            out.append(f"| {head} | {h['accuracy']:.3f} | {h['macro_f1']:.3f} | {cal['ece']:.3f} | {cal['brier']:.3f} |")
    for head in HEADS:
        if head not in result:
            continue
        h = result[head]
        out += ["", f"## {head.capitalize()}", ""]
        if head == "urgency" and h.get("critical_support") is not None:
            out.append(
                f"- critical recall **{_fmt(h.get('critical_recall'))}**, precision **{_fmt(h.get('critical_precision'))}** "
                f"({h['missed_critical']} of {h['critical_support']} critical messages missed)"
            )
        if head == "urgency" and "priority_mse" in h:
            out.append(
                f"- priority MSE (critical 1.0, high 0.75, normal 0.5, low 0.25): **{h['priority_mse']:.4f}**; "
                f"critical predicted low: {h['critical_as_low']}"
            )
        if h["unknown_labels"]:
            out.append(f"- labels in the data the model does not know: {', '.join(h['unknown_labels'])}")
        out += ["", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for label, v in h["per_class"].items():
            out.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
        out += ["", "Confusion matrix (rows: true, columns: predicted):", "", "```",
                format_confusion(h["labels"], h["confusion"]), "```"]
        if f"confusion_{head}" in images:
            out += ["", f"![{head} confusion matrix]({images[f'confusion_{head}']})"]
        for key, title, cols in (
            ("errors", "Most confident errors", ("true", "predicted", "probability")),
            ("missed_critical_examples", "Missed critical messages (lowest P(critical) first)", ("predicted", "p_critical")),
            ("false_critical_examples", "False critical alarms (highest P(critical) first)", ("true", "p_critical", "flags")),
        ):
            rows = h.get(key)
            if not rows:
                continue
            out += ["", f"{title}:", "", "| text | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
            for r in rows:
                cells = [_md_escape((",".join(r[c]) or "argmax") if isinstance(r[c], list) else r[c]) for c in cols]
                out.append(f"| {_md_escape(r['text'])} | " + " | ".join(cells) + " |")
    out += ["", "## Calibration", ""]
    out.append(
        "Top-label reliability: in each bin of the argmax probability, how often the argmax label is right. "
        "ECE is the count-weighted mean gap |accuracy − confidence|; a calibrated model has ECE near 0."
    )
    for head, key, title in (
        ("category", "calibration", "category (top label)"),
        ("urgency", "calibration", "urgency (top label)"),
        ("urgency", "critical_calibration", "P(urgency = critical), one-vs-rest"),
    ):
        cal = result.get(head, {}).get(key)
        if not cal:
            continue
        out += ["", f"**{title}** — ECE {cal['ece']:.3f}, MCE {cal['mce']:.3f}", "",
                "| bin | count | mean probability | observed |", "|---|---:|---:|---:|"]
        for b in cal["bins"]:
            out.append(f"| {b['lo']:.1f}–{b['hi']:.1f} | {b['count']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |")
    if "reliability" in images:
        out += ["", f"![reliability diagram]({images['reliability']})"]
    return "\n".join(out) + "\n"


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


# ------------------------------------------------------------------------------------ plots
def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


#: Fonts tried, in order, for labels with Chinese characters (the first one installed is used).
_CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS",
)


def _label_font(labels: Sequence[str]):
    """A FontProperties able to draw non-ASCII labels, or None (default font)."""
    if all(label.isascii() for label in labels):
        return None
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_FONTS:
        if name in installed:
            return font_manager.FontProperties(family=name)
    return None


def _plot_confusion(head: str, h: dict[str, Any], path: Path) -> None:
    labels = h["labels"]
    font = _label_font(labels)
    cm = np.asarray(h["confusion"], dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = max(4.5, 2.5 + 0.55 * len(labels))
    fig = _new_figure(size + 1.2, size)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels=labels, rotation=45, ha="right", fontproperties=font)
    ax.set_yticks(range(len(labels)), labels=labels, fontproperties=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{head}: accuracy {h['accuracy']:.3f}, macro-F1 {h['macro_f1']:.3f}\n(colour: share of the true row)")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    with warnings.catch_warnings():
        # Without a CJK font, Chinese labels are drawn as boxes; report.md has them as text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.tight_layout()
        fig.savefig(path)


def _plot_reliability(result: dict[str, Any], path: Path) -> None:
    panels = [
        (f"{head} (top label)", result[head]["calibration"]) for head in HEADS if head in result
    ]
    if result.get("urgency", {}).get("critical_calibration"):
        panels.append(("P(urgency = critical)", result["urgency"]["critical_calibration"]))
    fig = _new_figure(4.2 * len(panels), 4.4)
    for i, (title, cal) in enumerate(panels, 1):
        ax = fig.add_subplot(1, len(panels), i)
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
        xs = [b["confidence"] for b in cal["bins"]]
        ys = [b["accuracy"] for b in cal["bins"]]
        sizes = [20 + 180 * b["count"] / max(1, max(c["count"] for c in cal["bins"])) for b in cal["bins"]]
        ax.plot(xs, ys, color="tab:blue", linewidth=1)
        ax.scatter(xs, ys, s=sizes, color="tab:blue", alpha=0.7, label="bins (area ~ count)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed frequency")
        ax.set_title(f"{title}\nECE {cal['ece']:.3f}")
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def write_report(result: dict[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Write the report of an :func:`evaluate` result into a directory.

    Parameters
    ----------
    result : dict
        The output of :func:`evaluate`.
    out_dir : path-like
        Created if needed. Receives ``report.md``, ``metrics.json``, ``reliability.png`` and
        ``confusion_category.png`` / ``confusion_urgency.png`` for the heads scored.

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.
    """
    if not isinstance(result, dict) or not any(head in result for head in HEADS):
        raise ValueError("expected the dict returned by evaluate(), got something without category or urgency scores")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    for head in HEADS:
        if head in result:
            name = f"confusion_{head}.png"
            _plot_confusion(head, result[head], out / name)
            images[f"confusion_{head}"] = name
    _plot_reliability(result, out / "reliability.png")
    images["reliability"] = "reliability.png"
    (out / "metrics.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report = out / "report.md"
    report.write_text(_markdown(result, images), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------ command line
def _load_model_arg(value: str):
    from triage.api import default_model, load

    if value == "default" and not Path(value).exists():
        return default_model()
    return load(value)


def _read_data(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    if args.data == "test" and not Path(args.data).exists():
        from triage.datasets import load_corpus

        return load_corpus("test"), "the shipped test split (datasets/test.jsonl)"
    from triage.train import read_labelled

    records = read_labelled(
        args.data,
        text_col=args.text_col,
        category_col=args.category_col or None,
        urgency_col=args.urgency_col or None,
    )
    return records, str(args.data)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load_model_arg(args.model_dir)
    records, source = _read_data(args)
    result = evaluate(model, records, source=source)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_summary(result))
    if args.output:
        report = write_report(result, args.output)
        print(f"wrote {report} and its plots", file=sys.stderr)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``triage evaluate MODELDIR DATA [-o OUTDIR] [--text-col ...]``."""
    p = subparsers.add_parser(
        "evaluate",
        help="score a model on labelled data: per-class P/R/F1, confusion matrices, critical recall, calibration",
        description="Score a model directory on labelled data and optionally write a Markdown report with plots.",
    )
    p.add_argument("model_dir", metavar="MODELDIR", help="model directory ('default' for the shipped model)")
    p.add_argument("data", metavar="DATA", help="labelled CSV/TSV/JSONL, or 'test' for the shipped test split")
    p.add_argument("-o", "--output", metavar="OUTDIR",
                   help="write report.md, metrics.json and the PNG plots here (default: print only)")
    p.add_argument("--text-col", default="text")
    p.add_argument("--category-col", default="category", help="'' to score the urgency head only")
    p.add_argument("--urgency-col", default="urgency", help="'' to score the category head only")
    p.add_argument("--json", action="store_true", help="print the full result as one JSON object")
    p.set_defaults(func=_cmd_evaluate)
    return p
