"""requirements.lock is what a fresh machine installs: complete, hashed, and in step with
pyproject.toml and the pins generated programs ship with."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes), read from the lock's `name==version \\` lines."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if m:
            current = m.group(1).lower().replace("_", "-")
            pins[current] = (m.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, n = pins[current]
            pins[current] = (version, n + 1)
    return pins


def normalise(name: str) -> str:
    return re.split(r"[<>=!~\[; ]", name.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_locked_package_has_a_hash() -> None:
    pins = locked()
    assert pins, "requirements.lock has no pins"
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_lock_covers_the_declared_dependencies() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is 3.11+; the lock is resolved for 3.11")
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    backend = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    missing = {normalise(d) for d in [*declared, *backend]} - set(locked())
    assert missing == set(), f"not in requirements.lock (run `make lock`): {sorted(missing)}"


def test_generated_programs_pin_what_the_tests_ran() -> None:
    # Web programs ship their own pins (templates/program/requirements.txt.j2); the test
    # suite runs those programs with the lock's versions, so the two must agree.
    template = (REPO / "templates" / "program" / "requirements.txt.j2").read_text()
    shipped = dict(re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$", template, re.M))
    pins = locked()
    disagree = {
        name: (version, pins[name.lower()][0])
        for name, version in shipped.items()
        if name.lower() in pins and pins[name.lower()][0] != version
    }
    assert disagree == {}, f"template pin vs lock: {disagree}"
