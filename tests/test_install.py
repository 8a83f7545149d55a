"""Install the project from a clean copy into a fresh venv and use it from another directory.

Slow (pip resolves the run-time dependencies), so marked ``slow``; CI runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _clean_copy(dest: Path) -> None:
    """Copy the files git tracks (and untracked, not ignored ones) — no build artefacts."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, check=True, capture_output=True,
        ).stdout.decode("utf-8").split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is needed to list the project's files")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_fresh_venv_install_and_predict_from_elsewhere(tmp_path):
    copy = tmp_path / "src"
    _clean_copy(copy)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(copy)], check=True, env=env, timeout=1800)
    shutil.rmtree(copy)  # the installed package must not need the source tree
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import triage, json; p = triage.predict('救命！3号楼602着火了'); "
        "ps = triage.predict(['收到', '请问居住证怎么办']); "
        "from triage.datasets import load_corpus; "
        "print(json.dumps([p.category, p.urgency, len(ps), len(load_corpus('test')) > 0, triage.__file__]))"
    )
    out = subprocess.run([str(py), "-c", code], cwd=elsewhere, check=True, capture_output=True, text=True, env=env)
    category, urgency, n, has_corpus, location = __import__("json").loads(out.stdout)
    assert (category, urgency, n, has_corpus) == ("emergency", "critical", 2, True)
    assert str(venv) in location
    cli = subprocess.run(
        [str(bindir / "triage"), "predict"], input="楼下有人晕倒了，快打120\n", cwd=elsewhere,
        check=True, capture_output=True, text=True, env=env,
    )
    assert cli.stdout.startswith("emergency\tcritical"), cli.stdout
    assert "prefix dict" not in cli.stderr
