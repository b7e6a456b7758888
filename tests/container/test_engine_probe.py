"""The cheap engine probe and the image stage when no engine answers (no Docker needed)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from scriptexec.container import engine
from scriptexec.container.engine import EngineUnavailable
from scriptexec.container.run import read_env_file
from scriptexec.errors import BuildError, EngineUnavailableError, UsageError
from scriptexec.project import Project
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageResult
from scriptexec.stages.image import ImageStage
from scriptexec.stages.package import PackageStage

from .container_support import program_files, run_stage, spec_text, write_spec


def test_a_missing_socket_fails_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    assert "does not exist" in (engine.probe() or "")
    assert engine.engine_reachable() is False
    with pytest.raises(EngineUnavailable):
        engine.images_by_key()


def test_a_stale_socket_file_is_not_an_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))  # bound, never listening: connecting is refused at once
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    assert engine.probe() is not None


def test_the_probe_does_not_import_the_docker_sdk() -> None:
    import subprocess

    code = (
        "import sys; from scriptexec.container import engine; engine.probe(); "
        "from scriptexec.stages import image; "
        "print('docker' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


class _FakeEngine(BaseHTTPRequestHandler):
    """Just enough of the Docker API over TCP: /_ping and a labelled image list."""

    def do_GET(self) -> None:
        if self.path == "/_ping":
            body = b"OK"
        elif self.path.startswith("/images/json?filters="):
            assert "org.scriptexec.key" in self.path
            body = (
                b'[{"Id": "sha256:old", "Created": 1, "Labels": {"org.scriptexec.key": "k1"}},'
                b' {"Id": "sha256:new", "Created": 2, "Labels": {"org.scriptexec.key": "k1"}},'
                b' {"Id": "sha256:two", "Created": 2, "Labels": {"org.scriptexec.key": "k2"}},'
                b' {"Id": "sha256:other", "Created": 3, "Labels": null}]'
            )
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"tcp://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


def test_images_by_key_over_tcp(fake_engine: str) -> None:
    assert engine.engine_reachable()
    assert engine.images_by_key() == {"k1": "sha256:new", "k2": "sha256:two"}
    assert ImageStage().present("k2") and not ImageStage().present("k3")
    assert engine.has_image("nope:1") is False


def _image_upstream(project: Project, tmp_path: Path) -> tuple[Spec, dict[str, StageResult]]:
    spec = write_spec(tmp_path / "s", spec_text())
    package = run_stage(PackageStage(), spec, project, tmp_path / "p")
    return spec, {"generate": StageResult(files=program_files()), "package": package}


def test_no_engine_skips_the_image_stage_with_the_reason(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    spec, upstream = _image_upstream(project, tmp_path)
    with pytest.raises(EngineUnavailableError, match=r"does not exist.*docker-engine\.sh start"):
        run_stage(ImageStage(), spec, project, tmp_path / "i", upstream)


def test_no_engine_is_an_error_with_require_image(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    project.options.require_image = True
    spec, upstream = _image_upstream(project, tmp_path)
    with pytest.raises(BuildError, match="--require-image") as info:
        run_stage(ImageStage(), spec, project, tmp_path / "i", upstream)
    assert not isinstance(info.value, EngineUnavailableError)


def test_image_inputs_name_the_sample_data(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text())
    inputs = ImageStage().inputs(spec, project)
    assert list(inputs) == [f"file:{project.relative(tmp_path / 's/data/numbers.csv')}"]


def test_env_files_are_read_as_compose_reads_them(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n\nA=1\nexport B = two words \nC='quoted # not a comment'\nD=\"x\"\nE=\n"
    )
    assert read_env_file(path) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "x",
        "E": "",
    }
    path.write_text("A=1\nnot a setting\n")
    with pytest.raises(UsageError, match=r"\.env:2"):
        read_env_file(path)
