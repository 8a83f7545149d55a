"""Measure the ledger against hand-labelled incidents.

:func:`evaluate_linking` compares the incidents the ledger built with an expected-incidents
file (``tests/fixtures/ledger/expected.json``) and returns precision and recall of

* **incidents**: an expected and a built incident match when the Jaccard overlap of their
  residents' text messages is at least 0.5 (one-to-one, best overlap first);
* **linking pairs**: pairs of residents' messages put in the same incident (the usual
  pairwise clustering measure; it rewards linking follow-ups and co-reporters correctly);
* **response** and **resolution** detection: a built incident's first staff response
  (resolution) is right when its matched expected incident names the same message.

Messages are identified by group and time to the second (times are unique within a group in
the fixtures). :func:`read_memotrace_txt` reads a fixture with the real reader and sets its group.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from triage.records import Message

from .config import LedgerConfig
from .link import Incident, is_staff

__all__ = ["read_memotrace_txt", "load_expected", "fixture_logs", "evaluate_linking", "format_evaluation"]

def read_memotrace_txt(path: str | os.PathLike[str], group: str = "") -> list[Message]:
    """Read a MemoTrace TXT fixture with :func:`triage.readers.read_log`, setting its group.

    MemoTrace TXT files carry no chat name, so the fixtures' group comes from
    ``expected.json``.
    """
    from triage.readers import read_log

    messages = list(read_log(path, format="memotrace_txt"))
    for m in messages:
        m.group = group
    return messages


def load_expected(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an expected-incidents JSON file (see ``tests/fixtures/ledger/expected.json``)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, Mapping) or not isinstance(data.get("incidents"), list):
        raise ValueError(f"expected a JSON object with an 'incidents' list in {path}, got {type(data).__name__}")
    for inc in data["incidents"]:
        missing = {"id", "group", "messages"} - set(inc)
        if missing:
            raise ValueError(f"expected incident fields id, group, messages in {path}, got {sorted(inc)} (missing {sorted(missing)})")
    return dict(data)


def fixture_logs(expected: Mapping[str, Any], base: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """(group, path) of every log an expected-incidents file lists under ``groups``, in order."""
    groups = expected.get("groups") or {}
    return [(g, Path(base) / f) for g, spec in groups.items() for f in spec.get("logs", ())]


def _ref(group: str, time: _dt.datetime | str) -> tuple[str, str]:
    t = time if isinstance(time, str) else time.isoformat(sep=" ")
    return (group, t)


def _resident_refs(inc: Incident, config: LedgerConfig) -> set[tuple[str, str]]:
    return {
        _ref(inc.group, im.message.time)
        for im in inc.messages
        if im.role in ("report", "corroboration", "detail", "followup")
        or (im.role == "resolution" and not is_staff(im.message, config))
    }


def _pr(tp: int, n_pred: int, n_true: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "tp": tp, "predicted": n_pred, "expected": n_true}


def _pairs(clusters: Iterable[set[tuple[str, str]]]) -> set[frozenset]:
    out: set[frozenset] = set()
    for c in clusters:
        out.update(frozenset(p) for p in itertools.combinations(sorted(c), 2))
    return out


def evaluate_linking(
    expected: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    incidents: Sequence[Incident],
    config: LedgerConfig | None = None,
    *,
    min_overlap: float = 0.5,
) -> dict[str, Any]:
    """Precision and recall of incident linking, response and resolution detection.

    Parameters
    ----------
    expected : mapping or sequence of mapping
        The expected-incidents file (:func:`load_expected`) or its ``incidents`` list. Each
        incident has ``group``, ``messages`` (times of the residents' text messages),
        ``response`` and ``resolution`` (times of staff/reporter messages, or null).
    incidents : sequence of Incident
        What the ledger built (restricted to the groups of ``expected``).
    config : LedgerConfig, optional
        Tells staff from residents (a resolution by a reporter is a resident message).
    min_overlap : float, default=0.5
        Jaccard overlap needed for an expected and a built incident to match.

    Returns
    -------
    dict
        ``incidents``, ``pairs``, ``response``, ``resolution`` (each with precision, recall,
        f1 and counts), ``status_accuracy``, ``category_accuracy``, and ``missed`` /
        ``spurious`` / ``mismatches`` lists for debugging.
    """
    cfg = config or LedgerConfig()
    exp = list(expected["incidents"] if isinstance(expected, Mapping) else expected)
    groups = {e["group"] for e in exp}
    pred = [i for i in incidents if i.group in groups]
    e_sets = [{_ref(e["group"], t) for t in e["messages"]} for e in exp]
    p_sets = [_resident_refs(i, cfg) for i in pred]

    cands = []
    for a, es in enumerate(e_sets):
        for b, ps in enumerate(p_sets):
            inter = len(es & ps)
            if inter:
                j = inter / len(es | ps)
                if j >= min_overlap:
                    cands.append((j, a, b))
    cands.sort(key=lambda x: (-x[0], x[1], x[2]))
    match: dict[int, int] = {}
    used: set[int] = set()
    for _, a, b in cands:
        if a not in match and b not in used:
            match[a] = b
            used.add(b)

    def when(m) -> str | None:
        return m.time.isoformat(sep=" ") if m is not None else None

    out: dict[str, Any] = {"incidents": _pr(len(match), len(pred), len(exp))}
    gold_pairs, pred_pairs = _pairs(e_sets), _pairs(p_sets)
    out["pairs"] = _pr(len(gold_pairs & pred_pairs), len(pred_pairs), len(gold_pairs))

    mismatches: list[dict[str, Any]] = []
    for field in ("response", "resolution"):
        tp = 0
        for a, b in match.items():
            got, want = when(getattr(pred[b], field)), exp[a].get(field)
            if got is not None and got == want:
                tp += 1
            elif got != want:
                mismatches.append({"id": exp[a]["id"], "field": field, "expected": want, "got": got})
        n_pred = sum(1 for i in pred if getattr(i, field) is not None)
        n_true = sum(1 for e in exp if e.get(field))
        out[field] = _pr(tp, n_pred, n_true)

    status_ok = sum(1 for a, b in match.items() if exp[a].get("status") == pred[b].status)
    cat_ok = sum(1 for a, b in match.items() if exp[a].get("category") == pred[b].category)
    out["status_accuracy"] = round(status_ok / len(match), 4) if match else 0.0
    out["category_accuracy"] = round(cat_ok / len(match), 4) if match else 0.0
    out["missed"] = [exp[a]["id"] for a in range(len(exp)) if a not in match]
    out["spurious"] = [
        {"id": pred[b].id, "group": pred[b].group, "first_text": pred[b].first.text}
        for b in range(len(pred)) if b not in used
    ]
    out["mismatches"] = mismatches
    return out


def format_evaluation(result: Mapping[str, Any]) -> str:
    """A short human-readable table of :func:`evaluate_linking` output."""
    lines = [f"{'measure':<22}{'precision':>10}{'recall':>10}{'f1':>8}   counts (tp/predicted/expected)"]
    names = {"incidents": "incident detection", "pairs": "linking (pairwise)",
             "response": "response detection", "resolution": "resolution detection"}
    for key, label in names.items():
        r = result[key]
        lines.append(f"{label:<22}{r['precision']:>10.3f}{r['recall']:>10.3f}{r['f1']:>8.3f}   "
                     f"{r['tp']}/{r['predicted']}/{r['expected']}")
    lines.append(f"status accuracy (matched incidents): {result['status_accuracy']:.3f}")
    lines.append(f"category accuracy (matched incidents): {result['category_accuracy']:.3f}")
    return "\n".join(lines)
