"""Fixtures for the package and image stages and `scriptexec run`.

Tests marked `docker` need a real engine (DOCKER_HOST, or the system socket) with a Python
base image on it. Without one they skip, saying how to get one; with
SCRIPTEXEC_REQUIRE_DOCKER=1 (CI) they fail instead, so a broken engine cannot pass unseen.

    export DOCKER_HOST="$(scripts/docker-engine.sh start)"
    scripts/base-image.sh
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scriptexec.container import engine
from scriptexec.project import Options, Project

from .container_support import BASE_IMAGE

REQUIRE_DOCKER = os.environ.get("SCRIPTEXEC_REQUIRE_DOCKER") == "1"

_engine_problem: list[str | None] = []  # memo: probe the engine once per session


def _docker_problem() -> str | None:
    if not _engine_problem:
        reason = engine.probe()
        if reason is not None:
            problem: str | None = (
                f"no Docker engine ({reason}); start one with"
                ' export DOCKER_HOST="$(scripts/docker-engine.sh start)"'
            )
        else:
            problem = None
            if not engine.has_image(BASE_IMAGE):
                problem = (
                    f"the base image {BASE_IMAGE} is not on the engine; build it with"
                    " scripts/base-image.sh (or set SCRIPTEXEC_TEST_BASE_IMAGE)"
                )
        _engine_problem.append(problem)
    return _engine_problem[0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    problem = _docker_problem()
    if problem is None:
        return
    if REQUIRE_DOCKER:
        pytest.fail(f"SCRIPTEXEC_REQUIRE_DOCKER=1 but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(
        root=tmp_path,  # the specs tests write live inside it: data outside is refused
        options=Options(base_image=BASE_IMAGE, build_network="host"),
    )
