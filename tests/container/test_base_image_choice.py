"""Where the base image and the build network come from, without an engine.

The base image is chosen once per project (scriptexec.toml) or per spec; --base-image and
SCRIPTEXEC_BASE_IMAGE are overrides that `status` names. The build network switches to
the host's only for an engine known to give bridge builds no way out, and only when pip
has something to install.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scriptexec.container.engine import NO_NAT_MARKER_SUFFIX
from scriptexec.project import Options, Project
from scriptexec.stages.image import build_network
from scriptexec.stages.package import PackageStage

from .container_support import run_stage, spec_text, write_spec

CONFIG = '[image]\nbase_image = "local/python:3.11"\n'


def dockerfile(project: Project, directory: Path) -> str:
    spec = write_spec(directory, spec_text())
    result = run_stage(PackageStage(), spec, project, directory / "work")
    return result.files["Dockerfile"].decode()


def test_scriptexec_toml_names_the_base_image(tmp_path: Path) -> None:
    (tmp_path / "scriptexec.toml").write_text(CONFIG)
    project = Project(root=tmp_path)
    assert project.options.base_image_source == "scriptexec.toml"
    assert "\nFROM local/python:3.11\n" in dockerfile(project, tmp_path / "s")
    spec = write_spec(tmp_path / "s", spec_text())
    assert PackageStage().inputs(spec, project)["config:base_image"] == "local/python:3.11"


def test_flag_and_variable_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scriptexec.toml").write_text(CONFIG)
    monkeypatch.setenv("SCRIPTEXEC_BASE_IMAGE", "env/python:3")
    from_env = Project(root=tmp_path)
    assert (from_env.options.base_image, from_env.options.base_image_source) == (
        "env/python:3",
        "SCRIPTEXEC_BASE_IMAGE",
    )
    flag = Project(root=tmp_path, options=Options(base_image="flag/python:3"))
    assert flag.options.base_image_source == "--base-image"


def test_a_bad_setting_is_a_usage_error_naming_it(tmp_path: Path, cli: Callable[..., Any]) -> None:
    (tmp_path / "scriptexec.toml").write_text('[image]\nbase_imag = "x"\n')
    write_spec(tmp_path / "specs", spec_text())
    result = cli("status", "specs/spec.yaml", cwd=tmp_path, expect=2)
    assert "scriptexec.toml: [image] base_imag: unknown setting; known: base_image" in (
        result.output
    )


def test_status_names_an_override_left_in_the_shell(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(tmp_path / "specs", spec_text())
    cli("build", "specs/spec.yaml", "--no-image", cwd=tmp_path)
    monkeypatch.setenv("SCRIPTEXEC_BASE_IMAGE", "env/python:3")
    result = cli("status", "specs/spec.yaml", "--json", cwd=tmp_path)
    [report] = json.loads(result.output)
    package = next(s for s in report["stages"] if s["stage"] == "package")
    assert package["state"] == "stale"
    assert "base image override (SCRIPTEXEC_BASE_IMAGE) added" in package["reason"]
    monkeypatch.delenv("SCRIPTEXEC_BASE_IMAGE")
    (tmp_path / "scriptexec.toml").write_text(CONFIG)
    result = cli("build", "specs/spec.yaml", "--no-image", "--json", cwd=tmp_path)
    events = [json.loads(line) for line in result.output.splitlines()]
    [package_event] = [e for e in events if e.get("stage") == "package"]
    assert "base_image in scriptexec.toml added" in package_event["reason"]


def test_pip_in_the_dockerfile_gives_up_quickly(tmp_path: Path) -> None:
    text = dockerfile(Project(root=tmp_path), tmp_path / "s")
    assert "PIP_RETRIES=1 PIP_DEFAULT_TIMEOUT=15" in text


def _private_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marked: bool) -> None:
    sock = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    if marked:
        Path(f"{sock}{NO_NAT_MARKER_SUFFIX}").write_text("no iptables\n")


REQUIREMENTS = {"requirements.txt": b"# web mode\nflask==3.1.3\n"}


def test_the_private_engine_builds_on_the_host_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _private_engine(tmp_path, monkeypatch, marked=True)
    warnings: list[str] = []
    project = Project(root=tmp_path, warn=warnings.append)
    assert build_network(project, REQUIREMENTS) == "host"
    [warning] = warnings
    assert "--build-network host" in warning and "--iptables=false" in warning


def test_host_network_only_where_needed_and_not_asked_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _private_engine(tmp_path, monkeypatch, marked=True)
    project = Project(root=tmp_path, warn=pytest.fail)
    # A batch program installs nothing: the engine's default network will do.
    assert build_network(project, {"requirements.txt": b"# nothing beyond stdlib\n"}) is None
    asked = Project(root=tmp_path, options=Options(build_network="bridge"), warn=pytest.fail)
    assert build_network(asked, REQUIREMENTS) == "bridge"
    _private_engine(tmp_path / "other", monkeypatch, marked=False)
    assert build_network(project, REQUIREMENTS) is None
