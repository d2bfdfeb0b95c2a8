"""Errors a user can cause and fix; the CLI turns each into a one-line message and exit 1."""

from __future__ import annotations


class DetectorError(Exception):
    """Base class: the message says what is wrong, where, and what to do."""


class InputError(DetectorError):
    """Unreadable, empty or malformed input (file, line or field named in the message)."""


class EmptyInputError(InputError):
    """An input with no article in it (a part of a folder of tables is then passed through)."""


class ModelError(DetectorError):
    """A model file that is missing, corrupt, tampered with or from an incompatible version."""


class DataError(DetectorError):
    """Labeled training or gold data that does not follow data/FORMAT.md."""


class MissingExtraError(DetectorError):
    """An optional part is used whose extra is not installed (e.g. pip install 'detector[html]').

    Not an InputError: ``--on-error skip`` must not pass every row through because of it.
    """


class ClusterError(DetectorError):
    """A Dask scheduler that cannot be reached."""
