"""Exceptions raised by triage.

Every exception subclasses a built-in so callers can catch it either way; messages
say what was expected and what was got.
"""

from __future__ import annotations

__all__ = [
    "TriageError",
    "ModelError",
    "ModelIntegrityError",
    "ChatLogError",
    "ChatLogDecodeError",
    "ChatLogFormatError",
    "DatasetError",
]


class TriageError(Exception):
    """Base class of every error raised on purpose by triage."""


class ModelError(TriageError, ValueError):
    """A model directory is missing, incomplete or incompatible."""


class ModelIntegrityError(ModelError):
    """A model file does not match the checksum recorded in its manifest."""


class DatasetError(TriageError, ValueError):
    """Training or evaluation data is malformed (unknown label, empty text, ...)."""


class ChatLogError(TriageError, ValueError):
    """A chat-log file cannot be read."""


class ChatLogDecodeError(ChatLogError, UnicodeError):
    """A chat-log file cannot be decoded; the message names the file and byte offset."""


class ChatLogFormatError(ChatLogError):
    """A chat-log file's format is unknown or does not match the forced ``--format``."""
