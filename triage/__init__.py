"""triage: category and urgency of Chinese police–resident group-chat messages.

>>> import triage
>>> triage.predict("救命！3号楼602着火了").urgency
'critical'
"""

from triage._version import __version__
from triage.api import default_model, load, predict
from triage.batch import ClassifiedMessage, classify_log, predict_frame
from triage.exceptions import ChatLogError, DatasetError, ModelError, ModelIntegrityError, TriageError
from triage.explain import explain
from triage.model import Prediction, TriageClassifier
from triage.records import Message
from triage.taxonomy import CATEGORIES, URGENCIES

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
