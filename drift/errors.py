"""Exceptions raised by the drift package.

Every error carries a message meant for a person: it names the file, key or value at fault and says what to do.
The command line prints ``str(error)`` as one line and exits 1.
"""

from __future__ import annotations


class DriftlineError(Exception):
    """Base class of every error driftline reports to a user (as opposed to a bug)."""


class ConfigError(DriftlineError):
    """The monitor config is invalid.

    ``problems`` lists every problem found, each prefixed with its key path
    (``models[0].drift.alpha: must be between 0 and 1``); ``str()`` joins them with "; ".
    """

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(self.problems))


class StorageError(DriftlineError):
    """A file or S3 object could not be read or written (missing, denied, unreachable).

    ``missing`` is True when the object or file does not exist (as opposed to being unreachable or denied).
    """

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class DataError(DriftlineError):
    """Reference or current data does not match the config (missing column, unparsable file, no values)."""


class MissingColumnsError(DataError):
    """A data file lacks configured columns: ``columns`` names them (what a data gate reports as its schema check)."""

    def __init__(self, message: str, columns: list[str]) -> None:
        super().__init__(message)
        self.columns = list(columns)


class ProfileError(DriftlineError):
    """A reference profile is unreadable, corrupt, of an unknown format, or does not fit the model config."""
