"""Errors raised inside Inspect (task parameters, ``-M`` model arguments) shown as one message.

Inspect's command line prints an exception that is a ``PrerequisiteError`` as its message
alone, and anything else with a full traceback.  :func:`for_inspect` gives our user-input
errors that second base class while keeping their own type, so ``except ValueError`` /
``except UsageError`` in library code and tests still work.
"""

from __future__ import annotations

from functools import cache

from inspect_ai._util.error import PrerequisiteError

from .errors import UserInputError


@cache
def _with_prerequisite(kind: type[Exception]) -> type[Exception]:
    return type(kind.__name__, (kind, PrerequisiteError), {"__module__": kind.__module__})


def for_inspect(error: Exception) -> Exception:
    """``error`` re-raised as a subclass of its own type and Inspect's ``PrerequisiteError``.

    Use as ``raise for_inspect(error) from None``.
    """
    if isinstance(error, PrerequisiteError):
        return error
    message = str(error)
    try:
        wrapped = _with_prerequisite(type(error))(message)
    except TypeError:  # a type that cannot be rebuilt from its message (UnicodeDecodeError...)
        wrapped = _with_prerequisite(UserInputError)(message)
    wrapped.message = message  # what Inspect's exception hook prints
    return wrapped
