"""Stage 2 of the pipeline: word segmentation with jieba.

One :class:`Segmenter` holds the settings (engine, HMM on or off, the user dictionary's
text) and nothing else when pickled; the engine behind it is built lazily, once per process
and per dictionary, behind a lock, and shared by every segmenter with the same settings.

Two engines run jieba's algorithm on jieba's dictionary:

- ``"rjieba"`` (default): jieba-rs, the Rust port of jieba, through the ``rjieba`` binding —
  about 25 times faster. With HMM off it gives the same tokens as the Python jieba on
  99.97 % of the corpus (6,688 of 6,690 messages; the two differences are tie-breaks between
  equally likely splits of reduplicated characters, "喂喂|喂" vs "喂|喂喂").
  ``tests/test_segment_agreement.py`` keeps that rate above 99.9 %.
- ``"jieba"``: the reference Python jieba, used when rjieba is not installed (with a warning
  when the model was trained on rjieba's tokens).

jieba's own flaws are contained here:

- its "Building prefix dict ..." log lines are silenced while *we* initialise it (the
  ``jieba`` logger's level is restored afterwards; nothing is configured at import);
- its dictionary cache is written to a per-user directory (``$XDG_CACHE_HOME/triage`` or
  ``~/.cache/triage``, mode 0700), never to a shared ``/tmp/jieba.cache`` that another user
  may own.

Bracketed tokens produced by :mod:`triage.normalize` (``[图片]``, ``[强]``, ``[@]``) are kept
whole; white space is dropped.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import warnings
from importlib import resources
from pathlib import Path

from triage import patterns

__all__ = [
    "Segmenter",
    "default_segmenter",
    "segment",
    "read_userdict",
    "DEFAULT_USERDICT",
    "ENGINES",
    "cache_dir",
]

#: Segmentation engines: jieba-rs (``rjieba``) and the Python reference ``jieba``.
ENGINES = ("rjieba", "jieba")

#: File name of the shipped domain dictionary inside the ``triage.data`` package.
DEFAULT_USERDICT = "userdict.txt"

_REGISTRY: dict[tuple[str, str], object] = {}
_REGISTRY_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Per-user directory for jieba's dictionary cache (created with mode 0700 on demand)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triage"


def read_userdict(path: str | os.PathLike[str] | None = None) -> str:
    """Return a user dictionary's entries as text, comments and blank lines removed.

    Parameters
    ----------
    path : path-like or None
        A jieba user dictionary (``word [freq] [pos]`` per line, UTF-8). None reads the
        dictionary shipped with triage.
    """
    if path is None:
        raw = resources.files("triage.data").joinpath(DEFAULT_USERDICT).read_text(encoding="utf-8")
    else:
        raw = Path(path).read_text(encoding="utf-8-sig")
    lines = (line.strip() for line in raw.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def _build_tokenizer(userdict: str):
    import jieba  # deferred: importing jieba costs ~0.1 s and adds its own log handler

    tokenizer = jieba.Tokenizer()
    directory = cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        tokenizer.tmp_dir = str(directory)
    except OSError:
        # Unwritable home: jieba then rebuilds its prefix dict on each start (slower, correct);
        # point it at a directory whose cache file cannot be created rather than at /tmp.
        tokenizer.tmp_dir = str(directory)
    logger = logging.getLogger("jieba")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        tokenizer.initialize()
        if userdict:
            tokenizer.load_userdict(io.StringIO(userdict))
    finally:
        logger.setLevel(level)
    return tokenizer


def _build_rjieba(userdict: str):
    import rjieba

    engine = rjieba.Jieba()
    for line in userdict.splitlines():
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        engine.add_word(parts[0], freq, tag)
    return engine


def _rjieba_available() -> bool:
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return False
    return True


class _JiebaCut:
    """Callable ``cut(text, hmm) -> list`` over the Python jieba."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, text: str, hmm: bool) -> list[str]:
        return list(self.tokenizer.cut(text, HMM=hmm))


class Segmenter:
    """Chinese word segmenter (jieba) with a domain dictionary.

    Parameters
    ----------
    hmm : bool, default=False
        Use jieba's HMM to join unknown words. Off by default: it was measured no more
        accurate for this task, and slower (see ``benchmarks/model_selection.py``).
    userdict : str or None, default=None
        The user dictionary's text (``word [freq] [pos]`` per line). None uses the shipped
        domain dictionary; ``""`` uses none.
    engine : {"rjieba", "jieba"}, default="rjieba"
        Which implementation of jieba runs (see the module docstring). ``"rjieba"`` falls
        back to ``"jieba"`` with a warning when the rjieba package is missing.
    """

    def __init__(self, *, hmm: bool = False, userdict: str | None = None, engine: str = "rjieba") -> None:
        self.hmm = hmm
        self.userdict = userdict
        self.engine = engine

    def _resolved_engine(self) -> str:
        engine = getattr(self, "engine", "jieba")  # models pickled before engines existed
        if engine not in ENGINES:
            raise ValueError(f"expected engine in {ENGINES}, got {engine!r}")
        if engine == "rjieba" and not _rjieba_available():
            warnings.warn(
                "rjieba is not installed; segmenting with the Python jieba instead (same tokens on "
                "99.97% of the corpus, about 25x slower). pip install rjieba to restore the fast path.",
                RuntimeWarning,
                stacklevel=3,
            )
            return "jieba"
        return engine

    @property
    def cutter(self):
        """The shared, initialised ``cut(text, hmm)`` callable for this engine and dictionary."""
        cut = self.__dict__.get("_cutter")
        if cut is None:
            engine = self._resolved_engine()
            text = read_userdict() if self.userdict is None else self.userdict
            key = (engine, hashlib.sha256(text.encode("utf-8")).hexdigest())
            with _REGISTRY_LOCK:
                cut = _REGISTRY.get(key)
                if cut is None:
                    cut = _build_rjieba(text).cut if engine == "rjieba" else _JiebaCut(_build_tokenizer(text))
                    _REGISTRY[key] = cut
            self.__dict__["_cutter"] = cut
        return cut

    def cut(self, text: str) -> list[str]:
        """Segment normalised text into tokens; bracketed tokens stay whole, spaces are dropped."""
        cut = self.cutter
        hmm = self.hmm
        out: list[str] = []
        pos = 0
        for match in patterns.BRACKET_TOKEN.finditer(text):
            if match.start() > pos:
                out.extend(cut(text[pos : match.start()], hmm))
            out.append(match.group(0))
            pos = match.end()
        if pos < len(text):
            out.extend(cut(text[pos:], hmm))
        return [tok for tok in out if not tok.isspace()]

    __call__ = cut

    def __getstate__(self) -> dict:
        return {"hmm": self.hmm, "userdict": self.userdict, "engine": getattr(self, "engine", "jieba")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        source = "shipped" if self.userdict is None else f"{len(self.userdict.splitlines())} entries"
        return f"Segmenter(engine={getattr(self, 'engine', 'jieba')!r}, hmm={self.hmm}, userdict=<{source}>)"


_DEFAULT: Segmenter | None = None
_DEFAULT_LOCK = threading.Lock()


def default_segmenter() -> Segmenter:
    """The process-wide segmenter with default settings (created on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = Segmenter()
    return _DEFAULT


def segment(text: str) -> list[str]:
    """Segment one normalised text with the default segmenter."""
    return default_segmenter().cut(text)
