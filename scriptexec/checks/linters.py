"""ruff and bandit, run as processes on a temporary copy of the program.

Both run with every setting on the command line and nothing read from the user's files, so a
`pyproject.toml`, `ruff.toml` or `.bandit` lying around cannot change a verdict; `# noqa` and
`# nosec` comments are ignored, so the code being judged cannot silence its judge. A tool that
is missing or fails is an ExternalCommandError, never a silent pass.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from scriptexec.checks.issues import Issue, Severity
from scriptexec.errors import BuildError, ExternalCommandError
from scriptexec.process import clean_env, run_command

# The ruff rules a generated program must pass; the lead's tests lint with the same constant.
#   F    pyflakes: undefined names, unused imports and variables, broken format strings
#   E4   import placement, E7 statements (bare except, `== None`, lambda assignment),
#   E9   files ruff cannot read or parse
#   W6   invalid escape sequences (a SyntaxWarning today, an error tomorrow)
#   B    bugbear: mutable defaults, loop-variable closures, `except` pitfalls...
#   PLE  pylint's errors: code that is sure to fail at run time
#   T10  debugger calls left in (a container has no terminal to answer them)
#   LOG  logging misuse (wrong logger construction, `warn`, exc_info outside handlers)
# Not S (flake8-bandit): bandit itself runs beside ruff, and selecting both would report every
# security finding twice. Not style families (E1-E5 spacing, I, UP, SIM...): generated code is
# judged on what it does, not how it is laid out.
RUFF_RULES: tuple[str, ...] = ("F", "E4", "E7", "E9", "W6", "B", "PLE", "T10", "LOG")
# B905 (`zip()` without `strict=`) fires on most correct code and fixes nothing by itself.
RUFF_IGNORE: tuple[str, ...] = ("B905",)
# Findings that mean the program will fail or misbehave when run; other ruff findings warn.
RUFF_ERROR_PREFIXES: tuple[str, ...] = ("F63", "F7", "F82", "E9", "PLE", "T10")
LINT_TIMEOUT = 120.0  # seconds; ruff takes milliseconds and bandit well under one on a program


def target_version() -> str:
    """The Python the checks parse with: ast uses the running interpreter, so ruff does too."""
    return f"py{sys.version_info.major}{sys.version_info.minor}"


# Files are named one by one, not as ".": both tools skip directories such as build/, venv/
# or .git/ when they walk a tree, and a program's file there must not escape the check.
def ruff_command(paths: list[str], python: str = sys.executable) -> list[str]:
    return [
        python, "-m", "ruff", "check", "--isolated", "--no-cache", "--ignore-noqa",
        "--output-format", "json", "--target-version", target_version(),
        "--select", ",".join(RUFF_RULES), "--ignore", ",".join(RUFF_IGNORE), "--", *paths,
    ]  # fmt: skip


def bandit_command(paths: list[str], python: str = sys.executable) -> list[str]:
    return [python, "-m", "bandit", "-q", "-f", "json", "--ignore-nosec", "--", *paths]


@functools.cache  # asked for on every `status`; an upgrade mid-process is not worth a lookup
def tool_versions() -> dict[str, str]:
    """Versions of the linters installed beside scriptexec ("missing" when absent)."""
    import importlib.metadata  # 25 ms: only when a stage key is computed

    versions = {}
    for tool in ("ruff", "bandit"):
        try:
            versions[tool] = importlib.metadata.version(tool)
        except importlib.metadata.PackageNotFoundError:
            versions[tool] = "missing"
    return versions


def _run_json(cmd: list[str], root: Path, ok: tuple[int, ...]) -> Any:
    proc = run_command(cmd, cwd=root, env=clean_env(), timeout=LINT_TIMEOUT, check=False)
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if proc.returncode not in ok:
        raise ExternalCommandError(cmd, proc.returncode, output)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        hint = f"\n(no JSON report: is {cmd[2]} installed for {cmd[0]}?)"
        raise ExternalCommandError(cmd, proc.returncode, output + hint) from None


def _relative(root: Path, filename: str) -> str:
    path = Path(filename)
    path = path if path.is_absolute() else root / path
    return path.resolve().relative_to(root).as_posix()


def run_ruff(root: Path, paths: list[str], *, python: str = sys.executable) -> list[Issue]:
    issues = []
    for item in _run_json(ruff_command(paths, python), root, ok=(0, 1)):
        code = item.get("code")
        severity: Severity = "warning"
        if code is None or code.startswith(RUFF_ERROR_PREFIXES):
            severity = "error"
        location = item.get("location") or {"row": 0, "column": 1}
        issues.append(
            Issue(
                file=_relative(root, item["filename"]),
                line=int(location["row"]),
                col=max(int(location["column"]) - 1, 0),
                severity=severity,
                code=f"ruff:{code or 'syntax'}",
                message=item["message"],
            )
        )
    return issues


def _bandit_severity(severity: str, confidence: str) -> Severity:
    if severity == "HIGH":
        return "error" if confidence in ("MEDIUM", "HIGH") else "warning"
    return "warning" if severity == "MEDIUM" else "info"


def run_bandit(root: Path, paths: list[str], *, python: str = sys.executable) -> list[Issue]:
    report = _run_json(bandit_command(paths, python), root, ok=(0, 1))
    issues = [
        Issue(
            file=_relative(root, item["filename"]),
            line=int(item["line_number"]),
            col=int(item.get("col_offset") or 0),
            severity=_bandit_severity(item["issue_severity"], item["issue_confidence"]),
            code=f"bandit:{item['test_id']}",
            message=item["issue_text"],
        )
        for item in report.get("results", [])
    ]
    # A file bandit could not scan was not checked: say so rather than pass it.
    issues += [
        Issue(_relative(root, e["filename"]), 0, 0, "error", "bandit:error", e["reason"])
        for e in report.get("errors", [])
    ]
    return issues


def lint(
    files: Mapping[str, bytes], *, python: str = sys.executable, tmp_dir: Path | None = None
) -> list[Issue]:
    """Run ruff and bandit (concurrently: two processes, two cores) on `files`.

    The copy they read goes under `tmp_dir` when given: a build passes its stage's folder
    in .scriptexec/tmp/, which the next build sweeps if this one is killed (a folder left
    in /tmp by a killed build would stay there).
    """
    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="scriptexec-lint-", dir=tmp_dir) as tmp:
        root = Path(tmp).resolve()
        paths = []
        for name, content in sorted(files.items()):
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise BuildError(f"refusing to lint {name!r}: not a path inside the program")
            path = root.joinpath(*rel.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            paths.append(rel.as_posix())
        with ThreadPoolExecutor(max_workers=2) as pool:
            ruff = pool.submit(run_ruff, root, paths, python=python)
            bandit = pool.submit(run_bandit, root, paths, python=python)
            return ruff.result() + bandit.result()
