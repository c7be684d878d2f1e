"""Errors that mean "the user's input is wrong" (as opposed to a bug).

The CLI prints these as one line and exits with code 2; library users can catch
:class:`UserInputError` to handle every such case at once.
"""

from __future__ import annotations


class UserInputError(Exception):
    """Base class: a message the user can act on, shown without a traceback."""


class UsageError(UserInputError):
    """Bad options or arguments (unknown group member, no matching items, ...)."""


class SourceError(UserInputError):
    """A source file is missing, unreadable, or not of a kind this package reads."""


class OutputExistsError(UserInputError):
    """Writing would overwrite something the user already has."""
