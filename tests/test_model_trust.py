"""Tampering with a COPY of the shipped model directory: what is refused, and what is never run.

Trust model (see :mod:`triage.persist` and ``docs/hardening.md``): a joblib file is a pickle
and unpickling runs code, so ``load_model`` unpickles ``model.joblib`` only when its SHA-256
matches ``manifest.json``. The checksum detects corruption and a model file swapped without
its manifest; it is not a signature — whoever can rewrite both files can run code
(``test_limit_*`` pins that documented limit).

Every test works on ``tmp_path`` copies; the shipped ``models/default`` is never modified.
"""

from __future__ import annotations

import json
import pathlib
import pickle
import shutil
import warnings

import joblib
import pytest

import triage
from triage import api
from triage.exceptions import ModelError, ModelIntegrityError
from triage.persist import FORMAT_VERSION, MANIFEST_FILE, MODEL_FILE, ModelVersionWarning, file_sha256, load_model

PROBE = ["救命！3号楼602着火了", "收到", "请问派出所几点上班"]


class Touch:
    """A pickle payload: unpickling it creates ``marker`` (no shell, no os.system)."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shipped_dir():
    return api.default_model_dir()


@pytest.fixture
def copy(tmp_path, shipped_dir) -> pathlib.Path:
    """A private copy of the shipped model directory."""
    return pathlib.Path(shutil.copytree(shipped_dir, tmp_path / "model"))


@pytest.fixture
def unpickled(monkeypatch) -> list:
    """Records every joblib.load / pickle.load(s) call made while loading."""
    calls: list = []
    real_joblib, real_load, real_loads = joblib.load, pickle.load, pickle.loads

    def spy(real):
        def wrapper(*args, **kwargs):
            calls.append(args[0] if args else kwargs)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(joblib, "load", spy(real_joblib))
    monkeypatch.setattr(pickle, "load", spy(real_load))
    monkeypatch.setattr(pickle, "loads", spy(real_loads))
    return calls


def manifest(directory: pathlib.Path) -> dict:
    return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))


def write_manifest(directory: pathlib.Path, data) -> None:
    (directory / MANIFEST_FILE).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def payload(path: pathlib.Path, marker: pathlib.Path, *, compress: int = 3) -> pathlib.Path:
    """Write a joblib file whose unpickling touches ``marker``."""
    joblib.dump(Touch(marker), path, compress=compress)
    return path


# --------------------------------------------------------------------------- baseline


def test_untouched_copy_loads_and_predicts(copy, unpickled):
    model = load_model(copy)  # pytest.ini turns a ModelVersionWarning into an error
    assert unpickled, "the model file was loaded through joblib"
    assert [p.category for p in model.predict(PROBE)][0] == "emergency"
    assert model.manifest_["files"][MODEL_FILE]["sha256"] == file_sha256(copy / MODEL_FILE)


def test_payload_is_armed(tmp_path):
    """Sanity check of the test payload itself: joblib.load of it DOES create the marker."""
    marker = tmp_path / "armed"
    joblib.load(payload(tmp_path / "evil.joblib", marker))
    assert marker.exists()


# --------------------------------------------------------------------------- tampered model file


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_byte_is_refused_before_unpickling(copy, unpickled, where):
    path = copy / MODEL_FILE
    data = bytearray(path.read_bytes())
    i = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"does not match the manifest.*refusing to unpickle"):
        load_model(copy)
    assert unpickled == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],
        lambda b: b + b"\0",
        lambda b: b[: len(b) // 2],
        lambda b: b"",
    ],
    ids=["drop_last_byte", "append_byte", "truncated", "empty"],
)
def test_resized_model_file_is_refused(copy, unpickled, mutate):
    path = copy / MODEL_FILE
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(ModelIntegrityError):
        load_model(copy)
    assert unpickled == []


@pytest.mark.parametrize("compress", [0, 3], ids=["plain_pickle", "compressed"])
def test_malicious_pickle_with_untouched_manifest_is_refused_and_never_run(copy, tmp_path, unpickled, compress):
    marker = tmp_path / "pwned"
    payload(copy / MODEL_FILE, marker, compress=compress)
    with pytest.raises(ModelIntegrityError, match="refusing to unpickle"):
        load_model(copy)
    assert not marker.exists(), "the malicious pickle was unpickled"
    assert unpickled == []


def test_malicious_pickle_through_the_public_api(copy, tmp_path):
    marker = tmp_path / "pwned"
    payload(copy / MODEL_FILE, marker)
    with pytest.raises(ModelIntegrityError):
        triage.load(copy)
    assert not marker.exists()


def test_default_model_verifies_too(copy, tmp_path, monkeypatch):
    """``default_model()`` loads the shipped estimator through the same check; ``triage.predict``
    never unpickles it (it runs on ``compiled.npz``, verified the same way)."""
    marker = tmp_path / "pwned"
    payload(copy / MODEL_FILE, marker)
    monkeypatch.setattr(api, "_DEFAULT", None)
    monkeypatch.setattr(api, "_PREDICTOR", None)
    monkeypatch.setattr(api, "default_model_dir", lambda: copy)
    assert triage.predict("收到").category == "chitchat"
    with pytest.raises(ModelIntegrityError):
        api.default_model()
    assert not marker.exists()


def test_symlinked_model_file_is_checked_like_a_file(copy, tmp_path, unpickled):
    marker = tmp_path / "pwned"
    evil = payload(tmp_path / "elsewhere.joblib", marker)
    (copy / MODEL_FILE).unlink()
    (copy / MODEL_FILE).symlink_to(evil)
    with pytest.raises(ModelIntegrityError):
        load_model(copy)
    assert not marker.exists() and unpickled == []


def test_model_file_that_is_a_directory(copy, unpickled):
    (copy / MODEL_FILE).unlink()
    (copy / MODEL_FILE).mkdir()
    with pytest.raises(ModelIntegrityError, match="no model.joblib"):
        load_model(copy)
    assert unpickled == []


def test_other_pickles_in_the_directory_are_never_loaded(copy, tmp_path):
    before = load_model(copy).predict(PROBE)
    marker = tmp_path / "pwned"
    for name in ("evil.pkl", "model.joblib.bak", "model.pkl", "__init__.joblib"):
        payload(copy / name, marker)
    model = load_model(copy)
    assert not marker.exists()
    assert model.predict(PROBE) == before


# --------------------------------------------------------------------------- tampered manifest


def test_manifest_sha256_changed(copy, unpickled):
    m = manifest(copy)
    m["files"][MODEL_FILE]["sha256"] = "0" * 64
    write_manifest(copy, m)
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_model(copy)
    assert unpickled == []


def test_manifest_sha256_of_another_file(copy, tmp_path, unpickled):
    other = tmp_path / "other.bin"
    other.write_bytes(b"not the model")
    m = manifest(copy)
    m["files"][MODEL_FILE]["sha256"] = file_sha256(other)
    write_manifest(copy, m)
    with pytest.raises(ModelIntegrityError):
        load_model(copy)
    assert unpickled == []


@pytest.mark.parametrize(
    "value",
    ["", "abc", "0" * 63, "0" * 65, None, 0, ["0" * 64], {"sha256": "0" * 64}],
    ids=["empty", "short", "63", "65", "null", "int", "list", "dict"],
)
def test_malformed_manifest_sha256(copy, unpickled, value):
    m = manifest(copy)
    m["files"][MODEL_FILE]["sha256"] = value
    write_manifest(copy, m)
    with pytest.raises(ModelError):
        load_model(copy)
    assert unpickled == []


def test_manifest_sha256_in_upper_case_is_not_accepted_silently(copy, unpickled):
    m = manifest(copy)
    m["files"][MODEL_FILE]["sha256"] = m["files"][MODEL_FILE]["sha256"].upper()
    write_manifest(copy, m)
    with pytest.raises(ModelError):
        load_model(copy)
    assert unpickled == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.pop("files"),
        lambda m: m.update(files="model.joblib"),
        lambda m: m.update(files=[MODEL_FILE]),
        lambda m: m.update(files={}),
        lambda m: m.update(files={MODEL_FILE: "0" * 64}),
        lambda m: m.update(files={MODEL_FILE: {}}),
        lambda m: m.update(files={"other.joblib": m["files"][MODEL_FILE]}),
    ],
    ids=["no_files", "files_str", "files_list", "files_empty", "entry_str", "entry_empty", "other_name"],
)
def test_manifest_without_a_usable_checksum(copy, unpickled, mutate):
    m = manifest(copy)
    mutate(m)
    write_manifest(copy, m)
    with pytest.raises(ModelError, match="sha256"):
        load_model(copy)
    assert unpickled == []


def test_manifest_deleted(copy, unpickled):
    (copy / MANIFEST_FILE).unlink()
    with pytest.raises(ModelError, match="has no manifest.json; refusing to load an unverified model file"):
        load_model(copy)
    assert unpickled == []


def test_manifest_deleted_and_malicious_pickle(copy, tmp_path, unpickled):
    marker = tmp_path / "pwned"
    (copy / MANIFEST_FILE).unlink()
    payload(copy / MODEL_FILE, marker)
    with pytest.raises(ModelError):
        load_model(copy)
    assert not marker.exists() and unpickled == []


@pytest.mark.parametrize(
    "version",
    [0, FORMAT_VERSION + 1, 99, -1, str(FORMAT_VERSION), None, 1.5, [FORMAT_VERSION]],
    ids=["0", "next", "99", "-1", "str", "null", "float", "list"],
)
def test_manifest_with_another_format_version(copy, unpickled, version):
    m = manifest(copy)
    m["format_version"] = version
    write_manifest(copy, m)
    with pytest.raises(ModelError, match="format_version"):
        load_model(copy)
    assert unpickled == []


def test_manifest_without_format_version(copy, unpickled):
    m = manifest(copy)
    del m["format_version"]
    write_manifest(copy, m)
    with pytest.raises(ModelError, match="format_version"):
        load_model(copy)
    assert unpickled == []


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'"manifest"', b"null", b"\xff\xfe\x00garbage", "{}".encode("utf-16")],
    ids=["empty", "not_json", "array", "string", "null", "binary", "utf16"],
)
def test_unreadable_manifest(copy, unpickled, content):
    (copy / MANIFEST_FILE).write_bytes(content)
    with pytest.raises(ModelError):
        load_model(copy)
    assert unpickled == []


def test_manifest_that_is_a_directory(copy, unpickled):
    (copy / MANIFEST_FILE).unlink()
    (copy / MANIFEST_FILE).mkdir()
    with pytest.raises(ModelError, match="no manifest.json"):
        load_model(copy)
    assert unpickled == []


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    "dist,saved",
    [("scikit-learn", "0.24.2"), ("scikit-learn", "99.0.0"), ("triage", "0.0.1"), ("triage", "9.9.0")],
)
def test_version_mismatch_warns(copy, dist, saved):
    m = manifest(copy)
    m["versions"][dist] = saved
    write_manifest(copy, m)
    with pytest.warns(ModelVersionWarning, match=rf"saved with {dist} {saved}, installed is"):
        model = load_model(copy)
    assert model.predict("收到").category  # a warning, not a refusal


def test_patch_level_difference_does_not_warn(copy):
    m = manifest(copy)
    major, minor, *_ = m["versions"]["scikit-learn"].split(".")
    m["versions"]["scikit-learn"] = f"{major}.{minor}.999"
    write_manifest(copy, m)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        load_model(copy)


def test_manifest_without_versions_loads(copy):
    m = manifest(copy)
    del m["versions"]
    write_manifest(copy, m)
    load_model(copy)


@pytest.mark.parametrize("value", ["scikit-learn 1.0", 5, ["scikit-learn"], None], ids=["str", "int", "list", "null"])
def test_malformed_versions_raise_model_error(copy, value):
    m = manifest(copy)
    m["versions"] = value
    write_manifest(copy, m)
    with pytest.raises(ModelError):
        load_model(copy)


# --------------------------------------------------------------------------- limits


def test_limit_manifest_and_file_both_rewritten_runs_code(copy, tmp_path):
    """Documented limit: the manifest is a checksum, not a signature.

    Whoever can write both files can run code at load time; ``load_model`` only notices
    afterwards that the object is not a TriageClassifier. Load model directories you
    produced yourself only (docs/hardening.md, "Trust model").
    """
    marker = tmp_path / "pwned"
    payload(copy / MODEL_FILE, marker)
    m = manifest(copy)
    m["files"][MODEL_FILE]["sha256"] = file_sha256(copy / MODEL_FILE)
    write_manifest(copy, m)
    with pytest.raises(ModelError, match="expected .* to hold a TriageClassifier"):
        load_model(copy)
    assert marker.exists()


def test_file_swapped_between_check_and_load_is_never_run(copy, tmp_path, monkeypatch):
    import triage.persist as persist

    marker = tmp_path / "pwned"
    evil = payload(tmp_path / "evil.joblib", marker)
    real = persist.file_sha256

    def hash_then_swap(path):
        digest = real(path)
        if pathlib.Path(path).name == MODEL_FILE:
            shutil.copyfile(evil, path)  # the attacker wins the race
        return digest

    monkeypatch.setattr(persist, "file_sha256", hash_then_swap)
    try:
        load_model(copy)
    except ModelError:
        pass
    assert not marker.exists(), "a file swapped after the checksum was unpickled"
