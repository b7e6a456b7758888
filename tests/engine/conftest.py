"""Helpers for engine tests: a project with the shipped specs, and a way to see which
stages a build ran."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def ran_stages(output: str, spec: str = "dscr") -> list[str]:
    """Stages reported as `ran` for `spec` in `scriptexec -v build` output."""
    return re.findall(rf"^{spec}: (\w+) ran\b", output, flags=re.M)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def dscr_project(project: Path, cli) -> Path:
    """A project whose dscr spec is built (no image)."""
    cli("build", "specs/dscr.yaml", "--no-image", cwd=project)
    return project
