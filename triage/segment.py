"""Stage 2 of the pipeline: word segmentation with jieba.

One :class:`Segmenter` holds the settings (HMM on or off, the user dictionary's text) and
nothing else when pickled; the jieba ``Tokenizer`` behind it is built lazily, once per
process and per dictionary, behind a lock, and shared by every segmenter with the same
settings. jieba's own flaws are contained here:

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
from importlib import resources
from pathlib import Path

from triage import patterns

__all__ = ["Segmenter", "default_segmenter", "segment", "read_userdict", "DEFAULT_USERDICT", "cache_dir"]

#: File name of the shipped domain dictionary inside the ``triage.data`` package.
DEFAULT_USERDICT = "userdict.txt"

_REGISTRY: dict[str, object] = {}
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


class Segmenter:
    """Chinese word segmenter (jieba) with a domain dictionary.

    Parameters
    ----------
    hmm : bool, default=False
        Use jieba's HMM to join unknown words. Off by default: it was measured slower and no
        more accurate for this task (see the README's "Segmentation" section).
    userdict : str or None, default=None
        The user dictionary's text (``word [freq] [pos]`` per line). None uses the shipped
        domain dictionary; ``""`` uses none.
    """

    def __init__(self, *, hmm: bool = False, userdict: str | None = None) -> None:
        self.hmm = hmm
        self.userdict = userdict

    def _key(self) -> tuple[str, str]:
        text = read_userdict() if self.userdict is None else self.userdict
        return hashlib.sha256(text.encode("utf-8")).hexdigest(), text

    @property
    def tokenizer(self):
        """The shared, initialised ``jieba.Tokenizer`` for this dictionary."""
        tok = self.__dict__.get("_tokenizer")
        if tok is None:
            digest, text = self._key()
            with _REGISTRY_LOCK:
                tok = _REGISTRY.get(digest)
                if tok is None:
                    tok = _build_tokenizer(text)
                    _REGISTRY[digest] = tok
            self.__dict__["_tokenizer"] = tok
        return tok

    def cut(self, text: str) -> list[str]:
        """Segment normalised text into tokens; bracketed tokens stay whole, spaces are dropped."""
        tokenizer = self.tokenizer
        hmm = self.hmm
        out: list[str] = []
        pos = 0
        for match in patterns.BRACKET_TOKEN.finditer(text):
            if match.start() > pos:
                out.extend(tokenizer.cut(text[pos : match.start()], HMM=hmm))
            out.append(match.group(0))
            pos = match.end()
        if pos < len(text):
            out.extend(tokenizer.cut(text[pos:], HMM=hmm))
        return [tok for tok in out if not tok.isspace()]

    __call__ = cut

    def __getstate__(self) -> dict:
        return {"hmm": self.hmm, "userdict": self.userdict}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        source = "shipped" if self.userdict is None else f"{len(self.userdict.splitlines())} entries"
        return f"Segmenter(hmm={self.hmm}, userdict=<{source}>)"


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
