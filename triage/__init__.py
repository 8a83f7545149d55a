"""triage: category and urgency of Chinese police–resident group-chat messages.

>>> import triage
>>> triage.predict("救命！3号楼602着火了").urgency
'critical'
"""

import importlib

from triage._version import __version__
from triage.api import default_model, load, predict
from triage.exceptions import ChatLogError, DatasetError, ModelError, ModelIntegrityError, TriageError
from triage.explain import explain  # eager: importing the submodule would rebind the name to it
from triage.prediction import Prediction
from triage.records import Message
from triage.taxonomy import CATEGORIES, URGENCIES

# Imported on first use: these import scikit-learn, which `triage.predict` does not need
# (it runs on the shipped model's compiled arrays; see triage.api.default_predictor).
_LAZY = {
    "TriageClassifier": "triage.model",
    "ClassifiedMessage": "triage.batch",
    "classify_log": "triage.batch",
    "predict_frame": "triage.batch",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'triage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "predict",
    "load",
    "default_model",
    "classify_log",
    "predict_frame",
    "explain",
    "Prediction",
    "ClassifiedMessage",
    "Message",
    "TriageClassifier",
    "CATEGORIES",
    "URGENCIES",
    "TriageError",
    "ModelError",
    "ModelIntegrityError",
    "DatasetError",
    "ChatLogError",
]
