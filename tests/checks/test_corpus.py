"""Bad snippets are each caught; clean snippets are not flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.checks import ValidationReport, check_program

from .helpers import BAD, GOOD, expected_code, show

OUR_CODE_PREFIXES = ("SYN", "SEC", "CFG")  # security, secrets, configuration


def test_corpus_is_big_enough() -> None:
    assert len(BAD) >= 30
    assert len(GOOD) >= 15
    assert len({expected_code(p) for p in BAD}) >= 20  # many kinds of problem, not one


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_snippet_is_caught_by_our_checks(path: Path) -> None:
    """Without ruff and bandit: our own checks catch it, wherever the code came from."""
    code = expected_code(path)
    report = check_program({path.name: path.read_bytes()}, lint=False)
    found = [i for i in report.issues if i.code == code]
    assert found, f"{path.name}: expected {code}, got:\n{show(report.issues)}"
    assert all(i.severity in ("error", "warning") for i in found)
    assert all(i.line > 1 for i in found)  # at the offending line, not the expect comment


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_snippet_is_not_flagged(path: Path) -> None:
    report = check_program({path.name: path.read_bytes()}, lint=False)
    flagged = [
        i
        for i in report.issues
        if i.code.startswith(OUR_CODE_PREFIXES) and i.severity in ("error", "warning")
    ]
    assert not flagged, show(flagged)


def test_bad_snippets_with_linters(corpus_reports: tuple[ValidationReport, ...]) -> None:
    """All bad files in one program: still each caught, and the program fails."""
    bad, _ = corpus_reports
    for path in BAD:
        assert any(i.file == path.name and i.code == expected_code(path) for i in bad.issues)
    assert not bad.passed
    assert bad.blocking


def test_good_snippets_pass_every_checker(corpus_reports: tuple[ValidationReport, ...]) -> None:
    """Clean code passes ruff (RUFF_RULES) and bandit too: only informational findings."""
    _, good = corpus_reports
    assert {i.severity for i in good.issues} <= {"info"}, show(good.issues)
    assert good.passed
    assert good.score >= 0.9
