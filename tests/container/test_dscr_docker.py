"""The shipped dscr spec, built through the CLI and the engine, on a real Docker engine.

The spec is renamed per session (dscrtest<pid>) so its image tags never collide with a
real `scriptexec build specs/dscr.yaml` on the same engine.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scriptexec.container import image_repo
from scriptexec.container.build import api_client, remove_images
from scriptexec.container.engine import images_by_key
from scriptexec.container.run import run_program
from scriptexec.project import Project
from scriptexec.spec.model import Spec, load_spec

from .container_support import BASE_IMAGE, Recorder

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
BUILD_FLAGS = ("--base-image", BASE_IMAGE, "--build-network", "host")


@dataclass
class Dscr:
    root: Path
    name: str
    cli: Callable[..., Any]

    @property
    def spec_path(self) -> Path:
        return self.root / "specs" / "dscr.yaml"

    @property
    def program(self) -> Path:
        return self.root / "build" / self.name

    def spec(self) -> Spec:
        return load_spec(self.spec_path)

    def build(self) -> dict[str, str]:
        """Build through the CLI; stage -> state (ran, cached, ...) from its JSON events."""
        result = self.cli("build", "specs/dscr.yaml", *BUILD_FLAGS, "--json", cwd=self.root)
        states = {}
        for line in result.output.splitlines():
            event = json.loads(line)
            if event.get("event") == "stage":
                states[event["stage"]] = event["state"]
        return states

    def image_key(self) -> str:
        lock = yaml.safe_load((self.root / "scriptexec.lock").read_text())
        return str(lock["specs"][self.name]["stages"]["image"]["key"])

    def edit(self, old: str, new: str) -> None:
        text = self.spec_path.read_text()
        assert old in text
        self.spec_path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def dscr_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("dscr")
    name = f"dscrtest{os.getpid()}"
    shutil.copytree(REPO / "specs" / "data", root / "specs" / "data")
    text = (REPO / "specs" / "dscr.yaml").read_text()
    assert "\nname: dscr\n" in text
    (root / "specs" / "dscr.yaml").write_text(text.replace("\nname: dscr\n", f"\nname: {name}\n"))
    try:
        yield root, name
    finally:
        remove_images(image_repo(name))


@pytest.fixture
def dscr(dscr_root: tuple[Path, str], cli: Callable[..., Any]) -> Dscr:
    return Dscr(dscr_root[0], dscr_root[1], cli)


def test_build_then_nothing_to_do(dscr: Dscr) -> None:
    states = dscr.build()
    assert states["image"] == "ran", states
    key = dscr.image_key()
    first = images_by_key()[key]
    again = dscr.build()
    assert again.get("image", "cached") == "cached", again  # {}: the spec was up to date
    assert images_by_key()[key] == first  # no second image


def test_batch_in_a_container_matches_a_local_run(dscr: Dscr, tmp_path: Path) -> None:
    spec = dscr.spec()
    project = Project(root=dscr.root)
    out = Recorder()
    code = run_program(project, spec, web=False, local=False, env_file=None, on_output=out)
    assert code == 0, out.text
    in_container = _rows(dscr.program / "results" / "results.csv")
    # The same program outside the container, with this interpreter (it has Flask).
    env = {"PATH": os.environ["PATH"], "OUTPUT_DIR": str(tmp_path), "LOG_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "app.py", "run"],
        cwd=dscr.program,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert in_container == _rows(tmp_path / "results.csv")
    assert len(in_container) == 8


def test_run_names_the_files_where_they_land_on_the_host(dscr: Dscr) -> None:
    result = dscr.cli("run", "specs/dscr.yaml", cwd=dscr.root)
    assert "/data/" not in result.output, result.output
    results = f"build/{dscr.name}/results/results.csv"
    assert results in result.output, result.output
    assert (dscr.root / results).is_file()


def test_web_health_and_simulate(dscr: Dscr) -> None:
    port = _free_port()
    stop = threading.Event()
    out = Recorder()
    args = {"web": True, "local": False, "env_file": None, "on_output": out}
    thread = threading.Thread(
        target=run_program,
        args=(Project(root=dscr.root), dscr.spec()),
        kwargs={**args, "publish_port": port, "stop": stop},
    )
    thread.start()
    try:
        health = json.loads(_request(f"http://127.0.0.1:{port}/health", thread))
        assert health["status"] == "ok"
        body = json.dumps({"revenue_change_pct": -10}).encode()
        sim = json.loads(_request(f"http://127.0.0.1:{port}/api/simulate", thread, body))
        assert sim["parameters"]["revenue_change_pct"] == -10
        bad = json.dumps({"revenue_change_pct": 500}).encode()
        with pytest.raises(urllib.error.HTTPError) as info:
            _request(f"http://127.0.0.1:{port}/api/simulate", thread, bad)
        assert info.value.code == 400
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def test_memory_edit_builds_no_image_and_formula_edit_builds_one(dscr: Dscr) -> None:
    dscr.build()
    key = dscr.image_key()
    compose = (dscr.program / "docker-compose.yml").read_text()
    dscr.edit("memory: 256m", "memory: 384m")
    states = dscr.build()
    assert states["package"] == "ran"
    assert states.get("image", "cached") == "cached", states
    assert dscr.image_key() == key
    assert (dscr.program / "docker-compose.yml").read_text() != compose
    assert 'mem_limit: "384m"' in (dscr.program / "docker-compose.yml").read_text()

    dscr.edit("dscr: noi / annual_debt_service", "dscr: noi / annual_debt_service * 1")
    states = dscr.build()
    assert states["image"] == "ran", states
    new_key = dscr.image_key()
    assert new_key != key
    images = images_by_key()
    old_layers, new_layers = _history(images[key]), _history(images[new_key])
    # The dependency layer (pip install) is the very same layer in both images.
    assert old_layers["pip"] == new_layers["pip"]
    assert old_layers["code"] != new_layers["code"]


def test_removing_the_image_makes_status_say_why(dscr: Dscr) -> None:
    dscr.build()
    remove_images(image_repo(dscr.name))
    result = dscr.cli("status", "specs/dscr.yaml", *BUILD_FLAGS, "--json", cwd=dscr.root)
    [report] = json.loads(result.output)
    image = next(s for s in report["stages"] if s["stage"] == "image")
    assert image["state"] == "stale"
    assert "no image with this key" in image["reason"]
    assert dscr.build()["image"] == "ran"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _history(image_id: str) -> dict[str, str]:
    """Layer ids by the step that made them: "pip" (the dependency layer), "code"."""
    client = api_client()
    try:
        history = client.history(image_id)
    finally:
        client.close()
    found = {}
    for layer in history:
        created_by = layer.get("CreatedBy", "")
        if "pip install" in created_by:
            found.setdefault("pip", layer["Id"])
        elif "COPY dir:" in created_by:  # COPY . /app, as the classic builder records it
            found.setdefault("code", layer["Id"])  # the newest: not the base image's
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, thread: threading.Thread, body: bytes | None = None) -> bytes:
    import time

    headers = {"Content-Type": "application/json"} if body is not None else {}
    deadline = time.monotonic() + 60
    while True:
        try:
            req = urllib.request.Request(url, data=body, headers=headers)
            with urllib.request.urlopen(req, timeout=5) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError:
            raise
        except OSError:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
