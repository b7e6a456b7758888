"""The image stage and `scriptexec run` against a real Docker engine.

One image of the fixture program is built per module (its pip layer needs PyPI, through
host networking) and removed at the end; every test reuses it.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from scriptexec.container import APP_UID, image_repo
from scriptexec.container.build import api_client, remove_images
from scriptexec.container.engine import KEY_LABEL, SPEC_LABEL, images_by_key
from scriptexec.container.run import run_program
from scriptexec.project import Options, Project
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageResult
from scriptexec.stages.image import ImageStage, context_digest, context_files
from scriptexec.stages.package import PackageStage

from .container_support import (
    BASE_IMAGE,
    Recorder,
    program_files,
    publish,
    run_stage,
    spec_text,
    write_spec,
)

pytestmark = pytest.mark.docker

PACKAGE, IMAGE = PackageStage(), ImageStage()
EXPECTED = [("a", 1.0, 2.0), ("b", 2.5, 5.0), ("c", -4.0, -8.0)]


@dataclass
class Built:
    root: Path
    project: Project
    spec: Spec
    generate: StageResult
    package: StageResult
    image: StageResult
    log: str

    @property
    def key(self) -> str:
        # Outside the engine the stage keys the image by its build context's content.
        return context_digest(context_files({"generate": self.generate, "package": self.package}))

    def build(
        self, generate: StageResult, package: StageResult, name: str
    ) -> tuple[StageResult, str]:
        progress = Recorder()
        upstream = {"generate": generate, "package": package}
        result = run_stage(IMAGE, self.spec, self.project, self.root / name, upstream, progress)
        return result, progress.text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:

    root = tmp_path_factory.mktemp("docker")
    # One name per test session: parallel runs and other images on the engine stay apart.
    name = f"sxtest-{os.getpid()}"
    project = Project(root=root, options=Options(base_image=BASE_IMAGE, build_network="host"))
    spec = write_spec(root / "specs", spec_text(name))
    generate = StageResult(files=program_files())
    package = run_stage(PACKAGE, spec, project, root / "package")
    progress = Recorder()
    upstream = {"generate": generate, "package": package}
    image = run_stage(IMAGE, spec, project, root / "image", upstream, progress)
    publish(project, spec, generate, package)
    try:
        yield Built(root, project, spec, generate, package, image, progress.text)
    finally:
        remove_images(image_repo(name))


def results(project: Project, spec: Spec) -> list[tuple[str, float, float]]:
    path = project.build_dir(spec.name) / "results" / "results.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["id"], float(r["value"]), float(r["doubled"])) for r in csv.DictReader(f)]


def test_image_is_tagged_labelled_and_seen_by_the_probe(built: Built) -> None:
    image_id = built.image.meta["image"]
    assert images_by_key()[built.key] == image_id
    client = api_client()
    try:
        info = client.inspect_image(image_id)
    finally:
        client.close()
    repo = image_repo(built.spec.name)
    assert set(info["RepoTags"]) == {f"{repo}:{built.key[:12]}", f"{repo}:latest"}
    labels = info["Config"]["Labels"]
    assert labels[KEY_LABEL] == built.key
    assert labels[SPEC_LABEL] == built.spec.name
    assert labels["org.opencontainers.image.title"] == built.spec.name
    assert info["Config"]["User"] == f"{APP_UID}:{APP_UID}"
    assert "/health" in " ".join(info["Config"]["Healthcheck"]["Test"])


def test_batch_run_in_a_locked_down_container(built: Built) -> None:
    # A result left by an earlier run as another user must not stop the container's user.
    stale = built.project.build_dir(built.spec.name) / "results" / "results.csv"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("stale\n")
    stale.chmod(0o644)
    out = Recorder()
    code = run_program(
        built.project, built.spec, web=False, local=False, env_file=None, on_output=out
    )
    assert code == 0, out.text
    assert "wrote 3 rows" in out.text
    assert results(built.project, built.spec) == EXPECTED
    summary = json.loads(
        (built.project.build_dir(built.spec.name) / "results" / "summary.json").read_text()
    )
    assert summary["uid"] == APP_UID  # not root
    assert summary["root_writable"] is False  # read-only root file system
    assert summary["network"] is False  # network none: the spec's inputs need none
    assert (built.project.build_dir(built.spec.name) / "logs" / "app.log").is_file()


def test_local_run_gives_the_same_results(built: Built, tmp_path: Path) -> None:
    program = built.project.build_dir(built.spec.name)
    env = tmp_path / "local.env"
    env.write_text(f"OUTPUT_DIR={tmp_path / 'out'}\nLOG_DIR={tmp_path / 'logs'}\n")
    out = Recorder()
    code = run_program(
        built.project, built.spec, web=False, local=True, env_file=env, on_output=out
    )
    assert code == 0, out.text
    with (tmp_path / "out" / "results.csv").open(newline="", encoding="utf-8") as f:
        local = [(r["id"], float(r["value"]), float(r["doubled"])) for r in csv.DictReader(f)]
    assert local == EXPECTED
    assert program.is_dir()


def test_web_mode_answers_health_and_stops_cleanly(built: Built) -> None:
    port = _free_port()
    out = Recorder()
    stop = threading.Event()
    codes: list[int] = []

    def serve() -> None:
        codes.append(
            run_program(
                built.project,
                built.spec,
                web=True,
                local=False,
                env_file=None,
                on_output=out,
                publish_port=port,
                stop=stop,
            )
        )

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        body = _poll(f"http://127.0.0.1:{port}/health", thread)
        assert json.loads(body) == {"status": "ok"}
        api = json.loads(_poll(f"http://127.0.0.1:{port}/api/results", thread))
        assert api["summary"]["rows"] == 3
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    assert f"http://127.0.0.1:{port}/" in out.text
    assert codes  # returned: the container was stopped, and removed (below)
    client = api_client()
    try:
        left = client.containers(
            all=True, filters={"label": f"org.scriptexec.run={built.spec.name}"}
        )
    finally:
        client.close()
    assert left == []


def test_going_over_the_memory_limit_is_reported(built: Built, tmp_path: Path) -> None:
    env = tmp_path / "hog.env"
    env.write_text("ALLOCATE_MB=256\n")  # the spec allows 64m
    out = Recorder()
    code = run_program(
        built.project, built.spec, web=False, local=False, env_file=env, on_output=out
    )
    assert code == 137
    assert "memory limit of 64m" in out.text
    assert "runtime.memory" in out.text


def test_a_second_build_with_the_same_key_builds_nothing(built: Built) -> None:
    again, log = built.build(built.generate, built.package, "again")
    assert again.meta["image"] == built.image.meta["image"]
    assert "already on the engine" in log
    assert "Step 1/" not in log


def test_a_memory_edit_changes_compose_but_not_the_image(built: Built) -> None:
    spec = write_spec(built.root / "specs", spec_text(built.spec.name, memory="128m"))
    package = run_stage(PACKAGE, spec, built.project, built.root / "package-128m")
    assert package.files["docker-compose.yml"] != built.package.files["docker-compose.yml"]
    image, log = built.build(built.generate, package, "image-128m")
    assert "already on the engine" in log
    assert image.meta["image"] == built.image.meta["image"]
    write_spec(built.root / "specs", spec_text(built.spec.name))  # back as it was


def test_a_code_change_rebuilds_reusing_the_dependency_layer(built: Built) -> None:
    app = built.generate.files["app.py"].replace(b"FACTOR = 2 ", b"FACTOR = 3 ")
    assert app != built.generate.files["app.py"]
    generate = StageResult(files=program_files(**{"app.py": app}))
    image, log = built.build(generate, built.package, "image-factor3")
    assert image.meta["image"] != built.image.meta["image"]
    lines = log.splitlines()
    pip_step = next(i for i, line in enumerate(lines) if "RUN python3 -m venv" in line)
    assert "Using cache" in lines[pip_step + 1]
    copy_step = next(i for i, line in enumerate(lines) if "COPY . /app" in line)
    assert "Using cache" not in lines[copy_step + 1]
    out = Recorder()
    code = run_program(
        built.project,
        built.spec,
        web=False,
        local=False,
        env_file=None,
        on_output=out,
        image=image.meta["tags"][0],
    )
    assert code == 0, out.text
    assert [row[2] for row in results(built.project, built.spec)] == [3.0, 7.5, -12.0]


def test_building_the_published_directory_reuses_every_layer(built: Built) -> None:
    """deploy.sh builds build/<name>/ itself: .dockerignore keeps the extra files out."""
    program = built.project.build_dir(built.spec.name)
    (program / ".env").write_text("SECRET=x\n")
    (program / "results").mkdir(exist_ok=True)
    client = api_client(timeout=600)
    lines: list[str] = []
    try:
        for chunk in client.build(path=str(program), rm=True, forcerm=True, decode=True):
            assert "error" not in chunk, chunk
            lines += [s for s in str(chunk.get("stream", "")).splitlines() if s.strip()]
        copy_step = next(i for i, line in enumerate(lines) if "COPY . /app" in line)
        assert "Using cache" in lines[copy_step + 1], "\n".join(lines)
    finally:
        for image in client.images(
            filters={"dangling": True, "label": f"{SPEC_LABEL}={built.spec.name}"}
        ):
            try:
                client.remove_image(image["Id"], force=True)
            except docker.errors.NotFound:
                continue
        client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poll(url: str, thread: threading.Thread) -> bytes:
    """GET `url` until it answers; fail early if the program ended."""
    import time

    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bytes(resp.read())
        except OSError:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_ctrl_c_stops_and_removes_the_container(built: Built, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    port = _free_port()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from scriptexec.container.run import run_program\n"
        "from scriptexec.project import Project\n"
        "from scriptexec.spec.model import load_spec\n"
        f"project = Project(root=Path({str(built.project.root)!r}))\n"
        f"spec = load_spec(Path({str(built.spec.path)!r}))\n"
        "try:\n"
        "    run_program(project, spec, web=True, local=False, env_file=None,\n"
        f"                on_output=lambda s: print(s, flush=True), publish_port={port})\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        watcher = threading.Thread(target=proc.wait, daemon=True)
        watcher.start()
        assert json.loads(_poll(f"http://127.0.0.1:{port}/health", watcher)) == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    assert "stopping" in proc.stdout.read()
    client = api_client()
    try:
        run_label = f"org.scriptexec.run={built.spec.name}"
        assert client.containers(all=True, filters={"label": run_label}) == []
    finally:
        client.close()


def test_the_engine_script_reuses_a_reachable_engine(tmp_path: Path) -> None:
    import subprocess

    script = Path(__file__).resolve().parents[2] / "scripts" / "docker-engine.sh"
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    env = {**os.environ, "DOCKER_HOST": host, "SCRIPTEXEC_DOCKER_DIR": str(tmp_path / "own")}
    out = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == host
    assert not (tmp_path / "own").exists()  # started nothing
    stop = subprocess.run(
        ["bash", str(script), "stop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert stop.returncode == 0
    assert "no dockerd started by this script" in stop.stderr
