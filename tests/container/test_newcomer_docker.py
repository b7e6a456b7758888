"""The Docker path as a newcomer meets it, on a real engine: no --build-network, no
--base-image, the base image recorded once in scriptexec.toml (as `make dscr` does).

The spec is renamed per session so its tags never collide with a real build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scriptexec.container import image_repo
from scriptexec.container.build import remove_images
from scriptexec.container.engine import bridge_cannot_reach_out

from .container_support import BASE_IMAGE, spec_text, write_spec

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]


def events(output: str) -> dict[str, dict[str, Any]]:
    found = {}
    for line in output.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "stage":
                found[event["stage"]] = event
    return found


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("newcomer")
    name = f"dscrnew{os.getpid()}"
    shutil.copytree(REPO / "specs" / "data", root / "specs" / "data")
    text = (REPO / "specs" / "dscr.yaml").read_text()
    (root / "specs" / "dscr.yaml").write_text(text.replace("\nname: dscr\n", f"\nname: {name}\n"))
    (root / "scriptexec.toml").write_text(f'[image]\nbase_image = "{BASE_IMAGE}"\n')
    try:
        yield root
    finally:
        remove_images(image_repo(name))


def test_a_plain_build_makes_the_image(root: Path, cli: Callable[..., Any]) -> None:
    result = cli("build", "specs/dscr.yaml", "--json", cwd=root)
    assert events(result.output)["image"]["state"] == "ran", result.output
    if bridge_cannot_reach_out():  # the private engine: the build said why it used the host
        assert "building with --build-network host" in result.output


def test_after_docker_rmi_build_says_what_status_says(root: Path, cli: Callable[..., Any]) -> None:
    cli("build", "specs/dscr.yaml", cwd=root)
    name = f"dscrnew{os.getpid()}"
    remove_images(image_repo(name))
    [report] = json.loads(cli("status", "specs/dscr.yaml", "--json", cwd=root).output)
    status = next(s for s in report["stages"] if s["stage"] == "image")
    assert status["state"] == "stale"
    built = events(cli("build", "specs/dscr.yaml", "--json", cwd=root).output)["image"]
    assert built["state"] == "ran"
    assert built["reason"] == status["reason"] == "no image with this key on the engine"


def test_a_missing_base_image_fails_at_once_in_one_line(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    missing = f"scriptexec/not-built-{os.getpid()}:1"
    (tmp_path / "scriptexec.toml").write_text(f'[image]\nbase_image = "{missing}"\n')
    write_spec(tmp_path / "specs", spec_text(f"nobase{os.getpid()}"))
    result = cli("build", "specs/spec.yaml", cwd=tmp_path, expect=1)
    lines = [line for line in result.output.splitlines() if missing in line]
    assert len(lines) == 1, result.output  # said once, not again as "error:"
    assert "image FAILED" in lines[0]
    assert f"base image {missing} is not on the engine and cannot be pulled" in lines[0]
    assert "`make base-image`" in lines[0]


def test_make_dscr_records_the_local_base_image_once(tmp_path: Path) -> None:
    script = REPO / "scripts" / "base-image.sh"
    env = {**os.environ}

    def record(name: str) -> str:
        done = subprocess.run(
            [str(script), "--record-if-present", name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stderr

    record(f"scriptexec/not-built-{os.getpid()}:1")
    assert not (tmp_path / "scriptexec.toml").exists()  # nothing to record
    assert "recorded" in record(BASE_IMAGE)
    assert f'base_image = "{BASE_IMAGE}"' in (tmp_path / "scriptexec.toml").read_text()
    assert record("another/image:1") == ""  # the file has a choice: left alone
    assert "another" not in (tmp_path / "scriptexec.toml").read_text()
