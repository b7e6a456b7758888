"""What a program's failures are, and the exit code each gives."""

from __future__ import annotations

EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell and docker report for it


class ProgramError(Exception):
    """A failure a user can fix (data, settings): one line on stderr, exit code 1."""

    exit_code = 1


class UsageError(ProgramError):
    """A bad command line or parameter value: exit code 2."""

    exit_code = 2


class ParameterError(UsageError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class Terminated(BaseException):
    """SIGTERM (docker stop) during a batch run. A BaseException: a step's `except
    Exception` must not record it as that row's error and carry on."""
