"""Helpers for the checks tests: the corpus, and a quick way to check a snippet."""

from __future__ import annotations

import textwrap
from pathlib import Path

from scriptexec.checks import Issue, ValidationReport, check_program

CORPUS = Path(__file__).parent / "corpus"
BAD = sorted((CORPUS / "bad").glob("*.py"))
GOOD = sorted((CORPUS / "good").glob("*.py"))


def expected_code(path: Path) -> str:
    """The code named by a bad snippet's first line, `# expect: CODE`."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# expect:"
    if not first.startswith(prefix):
        raise AssertionError(f"{path.name}: first line must be '{prefix} CODE'")
    return first[len(prefix) :].strip()


def check(source: str, name: str = "app.py", *, lint: bool = False) -> ValidationReport:
    """Check one dedented snippet (no linters unless asked: they are separate processes)."""
    return check_program({name: textwrap.dedent(source).encode()}, lint=lint)


def codes(source: str, **kwargs: bool) -> set[str]:
    return {i.code for i in check(source, **kwargs).issues}


def show(issues: list[Issue]) -> str:
    return "\n".join(str(i) for i in issues) or "(no issues)"
