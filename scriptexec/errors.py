"""Every failure scriptexec reports, and the exit code it maps to.

Exit codes are defined here and nowhere else (the README's table is copied from this):

    0    success
    1    a build, check or program failed, or something is stale under --check
    2    a usage error or an invalid spec (nothing was written)
    130  interrupted (Ctrl-C / SIGINT)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, at a place a person can jump to."""

    file: str
    line: int
    col: int
    path: str  # dotted key path, e.g. "compute.dscr"; "" for the document itself
    message: str
    hint: str = ""  # "did you mean 'csv'?", or what to do
    # Lines shown under the message in a terminal: a formula with a caret under the spot.
    excerpt: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{where}: {self.path or '<root>'}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text

    def shown(self) -> str:
        """The one-line message, then the excerpt (for people; JSON events carry str())."""
        return "\n".join([str(self), *self.excerpt.splitlines()])

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.col, self.message)


class ScriptexecError(Exception):
    """Base of every error scriptexec reports to a user without a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE


class UsageError(ScriptexecError):
    exit_code = ExitCode.USAGE


class SpecError(ScriptexecError):
    """A spec (or several) is invalid. Carries every problem found, not just the first."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


class BuildError(ScriptexecError):
    """A stage failed: generated code did not validate, checks failed, docker failed..."""

    exit_code = ExitCode.FAILURE


class StaleError(ScriptexecError):
    """`build --check` found stale stages."""

    exit_code = ExitCode.FAILURE


class LLMError(BuildError):
    """The LLM could not be reached or did not give a usable answer."""


class FrozenError(BuildError):
    """`--frozen` needed something that only an LLM can make."""


class ExternalCommandError(BuildError):
    """An external process (ruff, bandit, the generated program, docker) failed."""

    def __init__(self, cmd: list[str] | tuple[str, ...], returncode: int, output: str) -> None:
        self.cmd = tuple(cmd)
        self.returncode = returncode
        self.output = output
        shown = " ".join(self.cmd)
        tail = output.strip()[-2000:]
        super().__init__(f"command failed ({returncode}): {shown}\n{tail}".rstrip())


class EngineUnavailableError(ScriptexecError):
    """No Docker engine answers: the image stage is skipped (an error with --require-image)."""


class Interrupted(ScriptexecError):
    exit_code = ExitCode.INTERRUPTED
