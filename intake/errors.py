"""Errors the command line turns into a one-line message and an exit code."""


class IntakeError(Exception):
    """Base class; ``exit_code`` is what the command line exits with."""

    exit_code = 1


class ConfigError(IntakeError):
    """Bad or missing settings: the user must fix something (exit 1)."""

    exit_code = 1


class TemporaryFailure(IntakeError):
    """A server could not be reached; trying again later may work (exit 75)."""

    exit_code = 75


class WorkerBusy(IntakeError):
    """Another worker holds the SQLite database (exit 75: that one may stop; try later)."""

    exit_code = 75
