"""Errors: every failure the user can act on is a ``QAError`` carrying its exit code.

The CLI prints ``error: <message>`` and exits with ``exit_code``; the app shows the message.  The
message always says what to do next (the rebuild command, the limit, the file to fix).  Each
subclass keeps the builtin base it had before (``ValueError``, ``RuntimeError``), so callers that
catch those still work.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class: an expected failure with a clear message and an exit code."""

    exit_code = 1


class UsageError(QAError):
    """Bad command-line input."""

    exit_code = 2


class QuestionError(QAError, ValueError):
    """A question that cannot be searched (empty, too long, not text)."""

    exit_code = 2


class SourceError(QAError, ValueError):
    """A source path or file cannot be used."""

    exit_code = 2


class BadIndexError(QAError, RuntimeError):
    """The index is missing, corrupt, or was built differently; the message says how to rebuild."""

    exit_code = 1


class IndexWriteError(BadIndexError):
    """The index folder cannot be written (permissions, read-only disk); checked before any embedding."""


class ModelError(QAError, RuntimeError):
    """The model could not be fetched, verified or found."""

    exit_code = 1


class LLMError(QAError, RuntimeError):
    """The endpoint failed, timed out or answered with nothing usable."""

    exit_code = 1
