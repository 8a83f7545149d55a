"""The functions most users call: :func:`predict` on the shipped model, and :func:`load`."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import overload

from typing import TYPE_CHECKING

from triage.persist import COMPILED_FILE, load_compiled, load_model, read_manifest
from triage.prediction import CompiledModel, Prediction

if TYPE_CHECKING:  # the estimator imports scikit-learn; triage.predict does not need it
    from triage.model import TriageClassifier

__all__ = ["predict", "load", "cached_model", "default_model", "default_predictor", "default_model_dir", "DEFAULT_MODEL"]

#: Name of the shipped model directory inside ``models/`` (the ``triage.models`` package).
DEFAULT_MODEL = "default"

_LOCK = threading.Lock()
_DEFAULT: TriageClassifier | None = None
_PREDICTOR: CompiledModel | None = None
_NO_COMPILED = False  # the shipped directory has no compiled.npz: use the estimator
_CACHE: dict[str, TriageClassifier] = {}


def default_model_dir() -> Path:
    """Directory of the shipped default model.

    The repository's top-level ``models/`` is installed as the ``triage.models`` package
    (see ``setup.py``); in a source checkout that is not installed, the directory next to
    the package is used. Never resolved against the current working directory.
    """
    try:
        root = resources.files("triage.models")
        path = Path(os.fspath(root)) / DEFAULT_MODEL
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL


def default_model() -> TriageClassifier:
    """The shipped model, loaded (and checksum-verified) once per process.

    After loading, the objects alive in the process (the model, scikit-learn, scipy, pandas
    modules: ~130k objects) are moved to the garbage collector's permanent generation
    (:func:`gc.freeze`), so full collections triggered by large batches stop re-walking
    them — about a third of batch prediction time otherwise. Nothing is ever freed by this
    that would have been freed otherwise: these objects live for the whole process.
    """
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                model = load_model(default_model_dir())
                model.compiled_  # build the prediction path before freezing
                gc.freeze()
                _DEFAULT = model
    return _DEFAULT


def default_predictor() -> TriageClassifier | CompiledModel:
    """What :func:`predict` runs: the shipped model's prediction arrays, loaded once per process.

    ``models/default/compiled.npz`` is read with numpy alone (no scikit-learn import, no
    unpickling), which halves the start-up time and memory of ``import triage;
    triage.predict(...)``. If this process already holds the estimator (:func:`default_model`),
    that is used instead; a model directory without ``compiled.npz`` falls back to it too.
    """
    global _PREDICTOR, _NO_COMPILED
    if _DEFAULT is not None:
        return _DEFAULT
    if _PREDICTOR is None and not _NO_COMPILED:
        with _LOCK:
            if _PREDICTOR is None and not _NO_COMPILED:
                directory = default_model_dir()
                if COMPILED_FILE in read_manifest(directory).get("files", {}):
                    _PREDICTOR = load_compiled(directory)  # a damaged file raises, never falls back
                    gc.freeze()
                else:
                    _NO_COMPILED = True
    return _PREDICTOR if _PREDICTOR is not None else default_model()


def cached_model(path: str | os.PathLike[str] | None = None) -> TriageClassifier:
    """The model of a directory (None: the shipped model), loaded once per process and reused.

    For code that runs many times in one process — a Dask task, a Spark ``mapInPandas``
    function, a worker's initializer — and must not reload the model each time.
    """
    if path is None:
        return default_model()
    key = os.path.realpath(os.fspath(path))
    model = _CACHE.get(key)
    if model is None:
        with _LOCK:
            model = _CACHE.get(key)
            if model is None:
                model = _CACHE[key] = load_model(key)
    return model


def load(path: str | os.PathLike[str]) -> TriageClassifier:
    """Load a model directory (``model.joblib`` + ``manifest.json``) after verifying it.

    Parameters
    ----------
    path : path-like
        A directory written by ``triage train`` or :func:`triage.persist.save_model`.

    Returns
    -------
    TriageClassifier
        Its ``predict`` has the same contract as :func:`triage.predict`.
    """
    return load_model(path)


@overload
def predict(texts: str) -> Prediction: ...
@overload
def predict(texts: Iterable[str]) -> list[Prediction]: ...


def predict(texts):
    """Classify messages with the shipped default model.

    Parameters
    ----------
    texts : str or iterable of str
        One message, or a sequence / iterable of messages (a pandas Series included).

    Returns
    -------
    Prediction or list of Prediction
        A Prediction for a str; otherwise a list in the same order and of the same length.

    Examples
    --------
    >>> import triage
    >>> p = triage.predict("救命！3号楼602着火了")
    >>> p.category, p.urgency
    ('emergency', 'critical')
    """
    return default_predictor().predict(texts)
