"""Validation of generated programs: is the code safe, configurable and well made?

    report = check_program({"app.py": source_bytes}, threshold=0.8)
    report.passed, report.score, report.issues, report.resources, report.to_json()

Each module checks one thing and returns Issues; this one parses, runs them all, and scores.
The same checks apply to template output and to LLM-written code, so a dangerous construct
is caught wherever it came from.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scriptexec.checks.issues import Issue, ResourceEstimate, ValidationReport
from scriptexec.pyparse import parse

if TYPE_CHECKING:
    from pathlib import Path

    from scriptexec.checks.names import Names

# The checks themselves are imported when first used: the engine imports this package on
# every `status` (for CHECKS_VERSION) and should not pay for subprocess, tempfile and friends.

# Bump when a check changes what it reports: a rule, a pattern, a weight, a severity, a tool
# argument. It is part of the validate stage's key, so a bump re-validates every program.
CHECKS_VERSION = 1
DEFAULT_THRESHOLD = 0.8

__all__ = [
    "CHECKS_VERSION",
    "DEFAULT_THRESHOLD",
    "Issue",
    "ResourceEstimate",
    "ValidationReport",
    "check_program",
]


def _parse(name: str, data: bytes) -> tuple[ast.Module | None, str, list[Issue]]:
    try:
        source = data.decode("utf-8-sig")  # a BOM is allowed, as Python allows it
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, "", [Issue(name, line, 0, "error", "SYN002", f"not UTF-8: {exc.reason}")]
    try:
        return parse(source, filename=name), source, []
    except SyntaxError as exc:
        issue = Issue(name, exc.lineno or 1, max((exc.offset or 1) - 1, 0), "error", "SYN001",
                      f"syntax error: {exc.msg}")  # fmt: skip
        return None, source, [issue]
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes; absurd nesting
        return None, source, [Issue(name, 1, 0, "error", "SYN001", f"cannot parse: {exc}")]


def _check_file(name: str, data: bytes) -> tuple[tuple[ast.Module, Names] | None, list[Issue]]:
    """Parse one module and run every per-file check on it."""
    from scriptexec.checks import configuration, practices, secrets, security
    from scriptexec.checks.names import Names

    tree, source, problems = _parse(name, data)
    if tree is None:
        return None, problems
    try:
        names = Names(tree)
        return (tree, names), [
            *security.check(tree, name, names),
            *secrets.check(tree, source, name),
            *configuration.check(tree, name, names),
            *practices.check(tree, name, names),
        ]
    except RecursionError:  # the visitors recurse; a chain of thousands of `+` is too deep
        return None, [Issue(name, 1, 0, "error", "SYN001", "nested too deeply to check")]


def check_program(
    files: Mapping[str, bytes],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    lint: bool = True,
    tmp_dir: Path | None = None,
    context: Mapping[str, bytes] | None = None,
) -> ValidationReport:
    """Check every .py file of a program (and scan its other files for credentials).

    `context`: Python files the program carries that are checked where they are written
    (the vendored runtime): read for program-wide facts (does the program log?), never
    reported on.
    `lint=False` skips the ruff and bandit processes (for fast tests of the AST checks only).
    `tmp_dir` is where the linted copy goes (the validate stage's own work folder).
    Raises ExternalCommandError when a linter is missing or fails.
    """
    from scriptexec.checks import linters, practices, resources, secrets
    from scriptexec.checks.names import Names
    from scriptexec.checks.score import category_scores, score

    issues: list[Issue] = []
    parsed: dict[str, tuple[ast.Module, Names]] = {}
    python_files: dict[str, bytes] = {}
    for name, data in sorted(files.items()):
        if not name.endswith(".py"):
            issues += secrets.scan_text(data.decode("utf-8", "replace"), name)
            continue
        module, found = _check_file(name, data)
        issues += found
        if module is not None:
            parsed[name] = module
            python_files[name] = data
    carried = {}
    for name, data in (context or {}).items():
        tree, _, _ = _parse(name, data) if name.endswith(".py") else (None, "", [])
        if tree is not None:
            carried[name] = (tree, Names(tree))
    issues += practices.check_program({**carried, **parsed})
    tools: dict[str, str] = {}
    if lint and python_files:
        issues += linters.lint(python_files, tmp_dir=tmp_dir)
        tools = linters.tool_versions()
    issues.sort(key=Issue.sort_key)
    total = score(issues)
    report = ValidationReport(
        issues=issues,
        score=total,
        threshold=threshold,
        passed=False,
        resources=resources.estimate(parsed.values()),
        scores=category_scores(issues),
        tools=tools,
        checks_version=CHECKS_VERSION,
    )
    report.passed = total >= threshold and not report.blocking
    return report
