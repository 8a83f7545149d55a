"""Save and load model directories: a joblib file plus a JSON manifest beside it.

Trust model
-----------
A joblib file is a pickle, and unpickling runs code. triage therefore loads a model file
only after checking that its SHA-256 matches the one recorded in ``manifest.json`` beside
it, and refuses a directory with no manifest. The check protects against corruption and
against a model file swapped without its manifest; it does **not** make a model directory
from an untrusted source safe — whoever can write both files can run code in your process.
Only load model directories you or your organisation produced.

Layout of a model directory::

    model.joblib     the fitted TriageClassifier (joblib, compressed)
    manifest.json    format version, label sets, library versions, training-data hash,
                     sha256 and size of model.joblib, thresholds, metrics
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from triage._version import __version__
from triage.exceptions import ModelError, ModelIntegrityError

__all__ = [
    "MODEL_FILE",
    "COMPILED_FILE",
    "MANIFEST_FILE",
    "FORMAT_VERSION",
    "ModelVersionWarning",
    "save_model",
    "load_model",
    "load_compiled",
    "read_manifest",
    "file_sha256",
    "library_versions",
]

MODEL_FILE = "model.joblib"
#: The prediction arrays (:meth:`triage.compiled.CompiledPredictor.to_arrays`), read without pickle.
COMPILED_FILE = "compiled.npz"
MANIFEST_FILE = "manifest.json"
#: Version of the directory layout and manifest schema; bumped on incompatible changes.
FORMAT_VERSION = 1


class ModelVersionWarning(UserWarning):
    """The model was saved with other versions of triage or scikit-learn than are installed."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a saved model depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "triage": __version__}
    for dist in ("scikit-learn", "numpy", "scipy", "joblib", "jieba", "opencc"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def save_model(model, directory: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and its manifest into ``directory`` (created if needed).

    Parameters
    ----------
    model : TriageClassifier
        A fitted model.
    directory : path-like
        Target directory; existing model files in it are replaced atomically.
    extra : dict, optional
        More manifest entries (training-data hash, metrics, ...).

    Returns
    -------
    pathlib.Path
        The directory.
    """
    import joblib

    from triage.model import TriageClassifier

    if not isinstance(model, TriageClassifier) or not hasattr(model, "features_"):
        raise ModelError(f"expected a fitted TriageClassifier, got {type(model).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".joblib.tmp")
    os.close(fd)
    try:
        joblib.dump(model, tmp, compress=3)
        os.replace(tmp, directory / MODEL_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    model_path = directory / MODEL_FILE
    arrays = model.compiled_.to_arrays()
    if model.userdict is not None:  # "" (no dictionary at all) is not the shipped one
        arrays["userdict"] = np.asarray(model.userdict)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, directory / COMPILED_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    compiled_path = directory / COMPILED_FILE
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "labels": {"category": list(model.categories_), "urgency": list(model.urgencies_)},
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items() if k != "userdict"},
        "userdict_sha256": hashlib.sha256(model.userdict.encode("utf-8")).hexdigest() if model.userdict is not None else "shipped",
        "thresholds": model.threshold_report_,
        "n_features": int(model.n_features_),
        "versions": library_versions(),
        "files": {
            MODEL_FILE: {"sha256": file_sha256(model_path), "bytes": model_path.stat().st_size},
            COMPILED_FILE: {"sha256": file_sha256(compiled_path), "bytes": compiled_path.stat().st_size},
        },
    }
    manifest.update(extra or {})
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    (directory / MANIFEST_FILE).write_text(text, encoding="utf-8")
    return directory


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model directory's manifest (no unpickling)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"expected a model directory containing {MANIFEST_FILE} and {MODEL_FILE}, got {str(directory)!r}")
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise ModelError(
            f"model directory {str(directory)!r} has no {MANIFEST_FILE}; refusing to load an unverified model file"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"expected {path} to be a JSON manifest, got unreadable content: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelError(f"expected {path} to hold a JSON object, got {type(manifest).__name__}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"expected model format_version {FORMAT_VERSION}, got {version!r} in {path}")
    try:
        recorded = manifest["files"][MODEL_FILE]["sha256"]
    except (KeyError, TypeError) as exc:
        raise ModelError(f"manifest {path} records no sha256 for {MODEL_FILE}") from exc
    if not isinstance(recorded, str) or len(recorded) != 64:
        raise ModelError(f"expected a 64-character sha256 for {MODEL_FILE} in {path}, got {recorded!r}")
    versions = manifest.get("versions", {})
    if not isinstance(versions, dict):
        raise ModelError(f"expected 'versions' in {path} to be an object, got {type(versions).__name__}")
    return manifest


def _major_minor(v: str) -> tuple[str, ...]:
    return tuple(str(v).split(".")[:2])


def _verified_bytes(directory: Path, manifest: dict[str, Any], name: str) -> bytes:
    """A model file's bytes, read once, after checking them against the manifest's SHA-256."""
    path = directory / name
    try:
        expected = manifest["files"][name]["sha256"]
    except (KeyError, TypeError) as exc:
        raise ModelError(f"manifest of {str(directory)!r} records no sha256 for {name}") from exc
    if not path.is_file():
        raise ModelIntegrityError(f"model directory {str(directory)!r} has a manifest but no {name}")
    # Read once: the bytes that are hashed are the bytes that are loaded (no swap in between).
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelIntegrityError(
            f"{path}: sha256 {actual} does not match the manifest's {expected}; "
            f"the file was modified or corrupted — refusing to {'unpickle' if name == MODEL_FILE else 'load'} it"
        )
    return data


def _warn_versions(manifest: dict[str, Any], directory: Path, dists: tuple[str, ...]) -> None:
    saved = manifest.get("versions", {})
    installed = library_versions()
    for dist in dists:
        if dist in saved and _major_minor(saved[dist]) != _major_minor(installed[dist]):
            warnings.warn(
                f"model in {str(directory)!r} was saved with {dist} {saved[dist]}, installed is {installed[dist]}; "
                "predictions may differ — retrain with `triage train`",
                ModelVersionWarning,
                stacklevel=3,
            )


def load_compiled(directory: str | os.PathLike[str]):
    """Load a model directory's prediction arrays: a :class:`~triage.prediction.CompiledModel`.

    The same predictions as :func:`load_model`'s estimator, but nothing is unpickled and
    scikit-learn is not imported: ``compiled.npz`` is read with ``allow_pickle=False`` after
    its SHA-256 matched the manifest. For ``fit``, ``explain`` and ``evaluate`` use
    :func:`load_model`.

    Raises
    ------
    ModelError
        The directory or manifest is missing or malformed, or the model predates
        ``compiled.npz`` (load it with :func:`load_model`; saving it again writes the file).
    ModelIntegrityError
        ``compiled.npz`` is missing or its SHA-256 differs from the manifest's.
    """
    from triage.compiled import CompiledPredictor
    from triage.prediction import CompiledModel
    from triage.segment import Segmenter

    directory = Path(directory)
    manifest = read_manifest(directory)
    if COMPILED_FILE not in manifest.get("files", {}):
        raise ModelError(f"model directory {str(directory)!r} has no {COMPILED_FILE} in its manifest; use load_model")
    data = _verified_bytes(directory, manifest, COMPILED_FILE)
    _warn_versions(manifest, directory, ("triage",))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        params = manifest.get("params", {})
        userdict = str(arrays.pop("userdict")[()]) if "userdict" in arrays else None
        segmenter = Segmenter(hmm=bool(params.get("hmm", False)), userdict=userdict, engine=params.get("engine", "rjieba"))
        compiled = CompiledPredictor.from_arrays(arrays, segmenter)
        thresholds = manifest.get("thresholds") or {}
        model = CompiledModel(compiled, labels=manifest["labels"], thresholds=thresholds, params=params)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ModelError(f"expected {directory / COMPILED_FILE} to hold triage's prediction arrays: {exc}") from exc
    model.manifest_ = manifest
    model.path_ = str(directory)
    return model


def load_model(directory: str | os.PathLike[str]):
    """Load a model directory after verifying the model file's checksum.

    Raises
    ------
    ModelError
        The directory or its manifest is missing or malformed.
    ModelIntegrityError
        ``model.joblib`` is missing or its SHA-256 differs from the manifest's.

    Warns
    -----
    ModelVersionWarning
        The model was saved with another major.minor version of scikit-learn or triage.
    """
    import joblib

    from triage.model import TriageClassifier

    directory = Path(directory)
    manifest = read_manifest(directory)
    model_path = directory / MODEL_FILE
    data = _verified_bytes(directory, manifest, MODEL_FILE)
    _warn_versions(manifest, directory, ("scikit-learn", "triage"))
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, TriageClassifier):
        raise ModelError(f"expected {model_path} to hold a TriageClassifier, got {type(model).__name__}")
    model.manifest_ = manifest
    model.path_ = str(directory)
    return model
