"""Fixtures for the checks tests."""

from __future__ import annotations

import pytest

from scriptexec.checks import ValidationReport, check_program

from .helpers import BAD, GOOD


@pytest.fixture(scope="session")
def corpus_reports() -> tuple[ValidationReport, ValidationReport]:
    """The whole corpus through every check including ruff and bandit: one run per half."""
    bad = {p.name: p.read_bytes() for p in BAD}
    good = {p.name: p.read_bytes() for p in GOOD}
    return check_program(bad), check_program(good)
