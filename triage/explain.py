"""Why the model decided what it did: per-head contributions of words and character n-grams.

    >>> import triage
    >>> e = triage.explain("救命！3号楼602着火了")
    >>> e.category.label, e.category.features[0].kind       # doctest: +SKIP
    ('emergency', 'word')
    >>> print(e)                                            # doctest: +SKIP

    triage explain "救命！3号楼602着火了" [--model DIR] [--top N] [--json]

What a contribution is
----------------------
Each head is linear in the word + character TF-IDF features ``x``; the score explained is
the head's log-odds for the label it predicted, which decomposes exactly into one term per
feature plus a constant. Which log-odds depends on the head (``HeadExplanation.score_kind``):

``"platt_log_odds"`` — a linear SVM calibrated by Platt scaling
    (:class:`~sklearn.calibration.CalibratedClassifierCV`, ``method="sigmoid"``,
    ``ensemble=False``). Class ``k`` has the decision value ``d_k = w_k . x + c_k`` and the
    one-vs-rest calibrated probability ``q_k = 1 / (1 + exp(a_k d_k + b_k))``; then::

        contribution(f) = x_f * (-a_k * w_kf)
        log(q_k / (1 - q_k)) = sum_f contribution(f) + (-(a_k c_k + b_k))

    With more than two classes the reported probability is ``q_k / sum_j q_j``; that last
    normalisation is shared by all features and is not attributed. With two classes the
    score is exactly ``log(p_k / p_other)``.
``"centred_logit"`` — a multinomial logistic regression. The score is the centred logit
    ``z_k - mean_j z_j = log p_k - mean_j log p_j`` (log-odds of ``k`` against the geometric
    mean of all classes)::

        contribution(f) = x_f * (w_kf - mean_j w_jf)
        log p_k - mean_j log p_j = sum_f contribution(f) + (b_k - mean_j b_j)

    A two-class logistic regression gives half of ``log(p_k / p_other)``.
``"decision_value"`` — any other linear head with ``coef_``: ``x_f * w_kf`` of the decision
    value (for isotonic or temperature calibration, which are monotone in it).

In every case :attr:`HeadExplanation.score` = sum of all contributions + ``intercept``;
``exact`` is False only for an ensemble of calibrated folds, where the weights are averaged.

The label explained is the one :meth:`TriageClassifier.predict` returns. When the urgency is
``critical`` by the threshold rule (flags ``critical_by_threshold`` / ``safety_net``) and not
by the argmax, the contributions are those *towards* ``critical``, whose score is then lower
than that of the argmax class.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import weakref
from typing import Any, NamedTuple

import numpy as np

from triage.normalize import normalize

__all__ = ["Contribution", "HeadExplanation", "Explanation", "explain", "add_parser"]

_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCORE_NAMES = {
    "platt_log_odds": "log-odds (Platt, one-vs-rest)",
    "centred_logit": "centred logit",
    "decision_value": "decision value",
}
_NAMES_LOCK = threading.Lock()


class Contribution(NamedTuple):
    """One feature's push towards (positive) or away from (negative) the predicted label."""

    feature: str
    kind: str  # "word" (jieba token or token bigram, space-separated) or "char" (character n-gram)
    contribution: float


@dataclasses.dataclass(frozen=True)
class HeadExplanation:
    """The explanation of one head's decision.

    Attributes
    ----------
    head : {"category", "urgency"}
    label : str
        The label the model predicted (after the critical threshold rules).
    probability : float
        The head's probability of ``label``.
    features : list of Contribution
        The features that pushed hardest *towards* ``label``, largest contribution first.
    against : list of Contribution
        The features that pushed hardest *away from* ``label``, most negative first.
    intercept : float
        The constant part of the score (see the module docstring).
    score : float
        The explained log-odds of ``label`` = sum of all contributions + ``intercept``.
    score_kind : {"platt_log_odds", "centred_logit", "decision_value"}
        What ``score`` is (see the module docstring).
    exact : bool
        Whether the contributions add up exactly to the model's own score.
    n_features : int
        How many features of the text the model knows (non-zero TF-IDF values).
    """

    head: str
    label: str
    probability: float
    features: list[Contribution]
    against: list[Contribution]
    intercept: float
    score: float
    score_kind: str
    exact: bool
    n_features: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return {
            "head": self.head,
            "label": self.label,
            "probability": self.probability,
            "features": [c._asdict() for c in self.features],
            "against": [c._asdict() for c in self.against],
            "intercept": self.intercept,
            "score": self.score,
            "score_kind": self.score_kind,
            "exact": self.exact,
            "n_features": self.n_features,
        }


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Why one message got its category and urgency.

    Attributes
    ----------
    text : str
        The input, as given.
    normalized : str
        What the model read (see :func:`triage.normalize.normalize`).
    category, urgency : HeadExplanation or None
        None for a head the model does not have, or for an empty text.
    flags : tuple of str
        The prediction's flags (``critical_by_threshold``, ``safety_net``, ``empty``, ...).
    """

    text: str
    normalized: str
    category: HeadExplanation | None
    urgency: HeadExplanation | None
    flags: tuple[str, ...] = ()

    @property
    def heads(self) -> list[HeadExplanation]:
        """The explained heads, category first."""
        return [h for h in (self.category, self.urgency) if h is not None]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return {
            "text": self.text,
            "normalized": self.normalized,
            "category": self.category.to_dict() if self.category else None,
            "urgency": self.urgency.to_dict() if self.urgency else None,
            "flags": list(self.flags),
        }

    def __str__(self) -> str:
        lines = [f"text: {self.text}"]
        if self.normalized != self.text:
            lines.append(f"normalised: {self.normalized}")
        if "empty" in self.flags:
            lines.append("(nothing left after normalisation: default labels, no features)")
        for h in self.heads:
            note = ""
            if h.head == "urgency" and ({"critical_by_threshold", "safety_net"} & set(self.flags)):
                note = "  [" + ", ".join(f for f in self.flags if f in ("critical_by_threshold", "safety_net")) + "]"
            kind = _SCORE_NAMES.get(h.score_kind, h.score_kind) + ("" if h.exact else ", approximate")
            lines.append(f"{h.head}: {h.label}  p={h.probability:.2f}  {kind} {h.score:+.2f}{note}")
            width = max([_display_width(c.feature) for c in h.features + h.against] + [8])
            for sign, items in (("+", h.features), ("-", h.against)):
                for c in items:
                    shown = c.feature.replace(" ", "␣") if c.kind == "char" else c.feature
                    pad = " " * (width - _display_width(shown))
                    lines.append(f"  {sign} {shown}{pad}  {c.kind:4s}  {c.contribution:+.3f}")
            lines.append(f"    (intercept {h.intercept:+.3f}; {h.n_features} features in the text)")
        return "\n".join(lines)


def _display_width(s: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def _feature_index(model) -> tuple[np.ndarray, np.ndarray]:
    """Feature names and kinds ("word"/"char") in the column order of ``model.features_``."""
    with _NAMES_LOCK:
        cached = _NAMES.get(model)
        if cached is not None and cached[0] is model.features_:
            return cached[1], cached[2]
    names: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    for name, transformer in model.features_.transformer_list:
        if transformer in (None, "drop"):
            continue
        block = np.asarray(transformer.get_feature_names_out(), dtype=object)
        names.append(block)
        kinds.append(np.full(len(block), "char" if name == "char" else "word", dtype=object))
    out = (np.concatenate(names), np.concatenate(kinds))
    with _NAMES_LOCK:
        _NAMES[model] = (model.features_, *out)
    return out


def _platt_parts(calibrated, label: str) -> tuple[np.ndarray, float, str]:
    """Weights and constant of one calibrated classifier's one-vs-rest log-odds of ``label``."""
    est = calibrated.estimator
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    classes = list(est.classes_)
    binary = coef.shape[0] == 1
    row = 0 if binary else classes.index(label)
    sign = -1.0 if binary and label == classes[0] else 1.0
    if calibrated.method != "sigmoid":
        return sign * coef[row], sign * float(intercept[row]), "decision_value"
    cal = calibrated.calibrators[row]
    a, b = float(np.ravel(cal.a_)[0]), float(np.ravel(cal.b_)[0])
    return sign * -a * coef[row], sign * -(a * float(intercept[row]) + b), "platt_log_odds"


def _linear_parts(head, label: str) -> tuple[np.ndarray, float, str, bool]:
    """Dense weight vector, constant, score kind and exactness of ``label``'s score."""
    if hasattr(head, "calibrated_classifiers_"):
        parts = [_platt_parts(cc, label) for cc in head.calibrated_classifiers_]
        weights = np.mean([p[0] for p in parts], axis=0)
        return weights, float(np.mean([p[1] for p in parts])), parts[0][2], len(parts) == 1
    if not hasattr(head, "coef_"):
        raise TypeError(f"cannot explain a {type(head).__name__} head: expected a linear model with coef_")
    classes = list(head.classes_)
    k = classes.index(label)
    coef = np.asarray(head.coef_, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(head.intercept_, dtype=np.float64))
    if not hasattr(head, "predict_proba"):
        if coef.shape[0] == 1:
            sign = 1.0 if k == 1 else -1.0
            return sign * coef[0], sign * float(intercept[0]), "decision_value", True
        return coef[k], float(intercept[k]), "decision_value", True
    if coef.shape[0] == 1:  # binary: log p1/p0 = w.x + b, i.e. classes_[0] -w/2, classes_[1] +w/2
        sign = 0.5 if k == 1 else -0.5
        return sign * coef[0], float(sign * intercept[0]), "centred_logit", True
    return coef[k] - coef.mean(axis=0), float(intercept[k] - intercept.mean()), "centred_logit", True


def _ungated(weights: np.ndarray, n_features: int, gate_columns: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """One weight per feature for a category-gated head: ``w + Σ_g p_g w_g`` on the gated columns.

    The head reads ``[x | p_1 x_gated | ... | p_K x_gated]`` (:func:`triage.features.category_gated`),
    so for this message each gated feature's contribution is ``x_f (w_f + Σ_g p_g w_gf)``.
    """
    out = weights[:n_features].copy()
    gated = weights[n_features:].reshape(len(gates), len(gate_columns))
    out[gate_columns] += np.asarray(gates, dtype=np.float64) @ gated
    return out


def _explain_head(
    head_name: str, head, label: str, proba: float, row, names, kinds, top: int, gating: tuple | None = None
) -> HeadExplanation:
    weights, intercept, kind, exact = _linear_parts(head, label)
    if gating is not None:
        weights = _ungated(weights, len(names), *gating)
    idx = row.indices
    values = row.data.astype(np.float64)
    contrib = values * weights[idx]
    order = np.argsort(-contrib, kind="stable")
    pos = [i for i in order if contrib[i] > 0][:top]
    neg = [i for i in order[::-1] if contrib[i] < 0][:top]

    def make(i: int) -> Contribution:
        return Contribution(str(names[idx[i]]), str(kinds[idx[i]]), round(float(contrib[i]), 4))

    return HeadExplanation(
        head=head_name,
        label=label,
        probability=round(float(proba), 4),
        features=[make(i) for i in pos],
        against=[make(i) for i in neg],
        intercept=round(intercept, 4),
        score=round(float(contrib.sum()) + intercept, 4),
        score_kind=kind,
        exact=exact,
        n_features=int(len(idx)),
    )


def _resolve_model(model):
    if model is None:
        from triage.api import default_model

        return default_model()
    if isinstance(model, (str, os.PathLike)):
        from triage.api import load

        return load(model)
    return model


def explain(text: str, model=None, top: int = 10) -> Explanation:
    """Explain the category and urgency the model gives one message.

    Parameters
    ----------
    text : str
        One raw message.
    model : TriageClassifier, path-like or None, default=None
        A fitted model, a model directory, or None for the shipped model.
    top : int, default=10
        How many features to list per head in each direction (towards / against).

    Returns
    -------
    Explanation
        Per head: the predicted label, its probability and the word and character n-gram
        features with their exact contributions to the label's log-odds (see the module
        docstring for which log-odds each kind of head has).

    Raises
    ------
    TypeError
        ``text`` is not a str.
    ValueError
        ``top`` is not a positive integer.
    """
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(text, str):
        raise TypeError(f"expected text to be a str, got {type(text).__name__}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"expected top to be a positive int, got {top!r}")
    model = _resolve_model(model)
    check_is_fitted(model, "features_")
    pred = model.predict(text)
    norm = normalize(text, max_chars=model.max_chars)
    if not norm:
        return Explanation(text, norm, None, None, pred.flags)
    names, kinds = _feature_index(model)
    row = model.features_.transform([norm]).tocsr()[0]
    heads: dict[str, HeadExplanation | None] = {"category": None, "urgency": None}
    for head_name, head, label, scores in (
        ("category", model.category_head_, pred.category, pred.category_scores),
        ("urgency", model.urgency_head_, pred.urgency, pred.urgency_scores),
    ):
        gating = None
        if head_name == "urgency" and getattr(model, "gate_columns_", None) is not None:
            gating = (model.gate_columns_, [pred.category_scores[c] for c in model.categories_])
        if head is not None and label is not None:
            rows = model.category_input(row) if head_name == "category" else row
            heads[head_name] = _explain_head(head_name, head, label, scores[label], rows, names, kinds, int(top), gating)
    return Explanation(text, norm, heads["category"], heads["urgency"], pred.flags)


# ------------------------------------------------------------------------------- command line
def _cmd_explain(args: argparse.Namespace) -> int:
    from triage.api import default_model, load

    texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    model = load(args.model) if args.model else default_model()
    for i, text in enumerate(texts):
        e = explain(text, model=model, top=args.top)
        if args.json:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
        else:
            if i:
                print()
            print(e)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``triage explain "text" [--model DIR] [--top N] [--json]``."""
    p = subparsers.add_parser(
        "explain",
        help="show the words and character n-grams that pushed each head's decision",
        description="For each head: the predicted label and the word / character n-gram features with their "
        "exact contributions to the label's log-odds (Platt-calibrated SVM: one-vs-rest log-odds; "
        "logistic regression: log p_k - mean_j log p_j).",
    )
    p.add_argument("text", nargs="*", help="messages; read from stdin (one per line) when none are given")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--top", type=_positive_int, default=10, help="features per head and direction (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.set_defaults(func=_cmd_explain)
    return p


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n
