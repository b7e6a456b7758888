"""The package stage without an engine: what it renders, what it declares it reads."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from scriptexec.container import APP_UID
from scriptexec.errors import BuildError
from scriptexec.project import Options, Project
from scriptexec.stages.base import StageResult
from scriptexec.stages.image import context_digest, context_files
from scriptexec.stages.package import TEMPLATES, PackageStage, data_files

from .container_support import program_files, publish, run_stage, spec_text, write_spec

PACKAGE = PackageStage()


def package(project: Project, spec_dir: Path, text: str, **kw: object) -> dict[str, bytes]:
    spec = write_spec(spec_dir, text, **kw)  # type: ignore[arg-type]
    return run_stage(PACKAGE, spec, project, spec_dir / "work").files


def test_renders_every_file_and_the_sample_data(project: Project, tmp_path: Path) -> None:
    files = package(project, tmp_path / "specs", spec_text())
    assert set(files) == {*TEMPLATES, "data/numbers.csv"}
    assert files["data/numbers.csv"] == (tmp_path / "specs/data/numbers.csv").read_bytes()


def test_dockerfile_layers_user_labels_and_healthcheck(project: Project, tmp_path: Path) -> None:
    dockerfile = package(project, tmp_path / "s", spec_text())["Dockerfile"].decode()
    lines = [line.strip() for line in dockerfile.splitlines()]
    assert f"FROM {project.options.base_image}" in lines
    # Dependencies in a layer of their own, before the code.
    reqs = lines.index("COPY requirements.txt /app/requirements.txt")
    pip = next(i for i, line in enumerate(lines) if line.startswith("RUN python3 -m venv"))
    code = lines.index("COPY . /app")
    assert reqs < pip < code
    assert f"USER {APP_UID}:{APP_UID}" in lines
    assert "org.opencontainers.image.title=" in dockerfile
    assert "org.scriptexec.spec=" in dockerfile
    # The key is labelled at build time: in the Dockerfile it would change with runtime.memory.
    assert "org.scriptexec.key=" not in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile and "curl" not in dockerfile
    assert 'CMD ["python", "app.py", "serve"]' in lines
    for setting in ("OUTPUT_DIR=/data/results", "LOG_DIR=/data/logs", "HOST=0.0.0.0"):
        assert setting in dockerfile
    assert "NUMBERS_LOCATION=/app/data/numbers.csv" in dockerfile


def test_batch_program_has_no_healthcheck_and_no_network(project: Project, tmp_path: Path) -> None:
    files = package(project, tmp_path / "s", spec_text(web=False))
    assert "HEALTHCHECK" not in files["Dockerfile"].decode()
    assert 'CMD ["python", "app.py", "run"]' in files["Dockerfile"].decode()
    service = yaml.safe_load(files["docker-compose.yml"])["services"]["numbers"]
    assert service["network_mode"] == "none"
    assert "ports" not in service


def test_base_image_comes_from_the_spec_unless_overridden(tmp_path: Path) -> None:
    plain = Project(root=tmp_path, options=Options())
    plain.options.base_image = None  # whatever SCRIPTEXEC_BASE_IMAGE says in this shell
    text = spec_text(base_image="python:3.12-slim")
    assert package(plain, tmp_path / "a", text)["Dockerfile"].startswith(b"# ")
    assert b"\nFROM python:3.12-slim\n" in package(plain, tmp_path / "a", text)["Dockerfile"]
    spec = write_spec(tmp_path / "a", text)
    assert "spec.runtime.base_image" in PACKAGE.inputs(spec, plain)
    over = Project(root=tmp_path, options=Options(base_image="local/python:3"))
    assert b"\nFROM local/python:3\n" in package(over, tmp_path / "b", text)["Dockerfile"]
    inputs = PACKAGE.inputs(spec, over)
    assert inputs["setting:base_image"] == "local/python:3"
    assert "spec.runtime.base_image" not in inputs  # not read while overridden


def test_compose_limits_and_hardening(project: Project, tmp_path: Path) -> None:
    text = spec_text(memory="300m", cpus=1.5, pids=64)
    compose = yaml.safe_load(package(project, tmp_path / "s", text)["docker-compose.yml"])
    service = compose["services"]["numbers"]
    assert service["mem_limit"] == service["memswap_limit"] == "300m"
    assert service["cpus"] == 1.5
    assert service["pids_limit"] == 64
    assert service["read_only"] is True
    assert service["tmpfs"] == ["/tmp:rw,noexec,nosuid,size=64m"]
    assert service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["volumes"] == [
        "./results:/data/results",
        "./logs:/data/logs",
        "./exports:/data/exports",
    ]
    # Published on the loopback address unless PUBLISH_ADDRESS says otherwise: there is
    # no authentication unless API_TOKEN is set.
    assert service["ports"] == ["${PUBLISH_ADDRESS:-127.0.0.1}:8080:8080"]
    assert service["env_file"] == ".env"
    assert service["environment"]["OUTPUT_DIR"] == "/data/results"
    assert service["environment"]["HOST"] == "0.0.0.0"


def test_inputs_name_what_is_read(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text())
    inputs = PACKAGE.inputs(spec, project)
    assert inputs["spec.runtime.memory"] == "64m"
    assert inputs["spec.interface.web.port"] == 8080
    assert inputs["spec.inputs.numbers.location"] == "data/numbers.csv"
    for template in TEMPLATES.values():
        path = project.template(template)
        assert inputs[f"template:{template}"] == hashlib.sha256(path.read_bytes()).hexdigest()
    data_key = f"file:{project.relative(tmp_path / 's/data/numbers.csv')}"
    assert inputs[data_key] == hashlib.sha256(b"id,value\na,1\nb,2.5\nc,-4\n").hexdigest()
    # Formulas are not read: editing one does not re-run package.
    assert not any("compute" in key for key in inputs)


def test_memory_edit_changes_one_input_and_not_the_image_context(
    project: Project, tmp_path: Path
) -> None:
    before_spec = write_spec(tmp_path / "a", spec_text(memory="64m"))
    after_spec = write_spec(tmp_path / "b", spec_text(memory="512m"))
    before, after = PACKAGE.inputs(before_spec, project), PACKAGE.inputs(after_spec, project)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # The data file's key names its path, which differs between the two directories.
    assert {k for k in changed if not k.startswith("file:")} == {"spec.runtime.memory"}

    old = run_stage(PACKAGE, before_spec, project, tmp_path / "w1")
    new = run_stage(PACKAGE, after_spec, project, tmp_path / "w2")
    differs = {k for k in old.files if old.files[k] != new.files.get(k)}
    assert "docker-compose.yml" in differs
    assert not differs & {"Dockerfile", ".dockerignore"}
    gen = StageResult(files=program_files())
    ctx_old = context_files({"generate": gen, "package": old})
    ctx_new = context_files({"generate": gen, "package": new})
    assert context_digest(ctx_old) == context_digest(ctx_new)
    assert "docker-compose.yml" not in ctx_old and "README.md" not in ctx_old
    assert "data/numbers.csv" in ctx_old and "app.py" in ctx_old


def test_formula_edit_changes_the_image_context(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text())
    pkg = run_stage(PACKAGE, spec, project, tmp_path / "w")
    one = StageResult(files=program_files())
    two = StageResult(files=program_files(**{"app.py": b"FACTOR = 3\n"}))
    assert context_digest(context_files({"generate": one, "package": pkg})) != context_digest(
        context_files({"generate": two, "package": pkg})
    )


def test_data_outside_data_dir_is_packaged_under_it(project: Project, tmp_path: Path) -> None:
    text = spec_text().replace("location: data/numbers.csv", "location: ../shared/nums.csv")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "nums.csv").write_text("id,value\nz,9\n", encoding="utf-8")
    files = package(project, tmp_path / "specs", text, data=None)
    assert files["data/nums.csv"] == b"id,value\nz,9\n"
    assert b"NUMBERS_LOCATION=/app/data/nums.csv" in files["Dockerfile"]


def test_missing_sample_data_is_not_packaged(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text(), data=None)
    result = run_stage(PACKAGE, spec, project, tmp_path / "w")
    assert not any(name.startswith("data/") for name in result.files)
    assert result.meta["data_missing"]
    assert b"NUMBERS_LOCATION" not in result.files["Dockerfile"]
    assert (
        PACKAGE.inputs(spec, project)[
            f"file:{project.relative(data_files(spec, project.root)[0].source)}"
        ]
        is None
    )


def test_a_project_template_overrides_the_shipped_one(project: Project, tmp_path: Path) -> None:
    own = project.root / "templates/package/README.md.j2"
    own.parent.mkdir(parents=True)
    own.write_text("# {{ title }} (ours)\n", encoding="utf-8")
    spec = write_spec(tmp_path / "s", spec_text())
    assert PACKAGE.inputs(spec, project)["template:package/README.md.j2"] == (
        hashlib.sha256(own.read_bytes()).hexdigest()
    )
    files = run_stage(PACKAGE, spec, project, tmp_path / "w").files
    assert files["README.md"] == b"# Doubled numbers (ours)\n"


def test_an_undefined_template_variable_is_an_error(project: Project, tmp_path: Path) -> None:
    own = project.root / "templates/package/README.md.j2"
    own.parent.mkdir(parents=True)
    own.write_text("{{ no_such_thing }}\n", encoding="utf-8")
    spec = write_spec(tmp_path / "s", spec_text())
    with pytest.raises(BuildError, match="no_such_thing"):
        run_stage(PACKAGE, spec, project, tmp_path / "w")


def test_readme_says_how_to_configure_run_deploy_and_open(project: Project, tmp_path: Path) -> None:
    readme = package(project, tmp_path / "s", spec_text())["README.md"].decode()
    for needle in (
        "cp .env.example .env",
        "python app.py run",
        "python app.py serve",
        "./deploy.sh",
        "http://localhost:8080/",
        "NUMBERS_LOCATION",
    ):
        assert needle in readme


def _fake_docker(bin_dir: Path, log: Path, *, compose: bool) -> None:
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        # Without the compose plugin, `docker compose ...` fails as the real CLI does.
        + ("" if compose else '[ "$1" = compose ] && exit 1\n')
        + "exit 0\n",
        encoding="utf-8",
    )
    script.chmod(0o755)


def _deploy(program: Path, bin_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(
        ["bash", str(program / "deploy.sh")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=30,
    )


def test_deploy_refuses_without_env_file(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text())
    program = publish(project, spec, run_stage(PACKAGE, spec, project, tmp_path / "w"))
    assert subprocess.run(["bash", "-n", str(program / "deploy.sh")], check=False).returncode == 0
    log = tmp_path / "docker.log"
    _fake_docker(tmp_path / "bin", log, compose=True)
    proc = _deploy(program, tmp_path / "bin")
    assert proc.returncode == 1
    assert ".env.example" in proc.stderr
    assert not log.exists()  # docker was never called


def test_deploy_uses_compose_or_falls_back_to_docker_run(project: Project, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s", spec_text(web=False))
    program = publish(project, spec, run_stage(PACKAGE, spec, project, tmp_path / "w"))
    (program / ".env").write_text("X=1\n", encoding="utf-8")
    log = tmp_path / "compose.log"
    _fake_docker(tmp_path / "with", log, compose=True)
    assert _deploy(program, tmp_path / "with").returncode == 0
    assert "compose up --build -d" in log.read_text()
    assert (program / "results").is_dir() and (program / "logs").is_dir()

    log = tmp_path / "run.log"
    _fake_docker(tmp_path / "without", log, compose=False)
    proc = _deploy(program, tmp_path / "without")
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text()
    assert "build --tag scriptexec/numbers:latest ." in calls
    run = next(line for line in calls.splitlines() if line.startswith("run "))
    for flag in ("--read-only", "--cap-drop ALL", "--memory 64m", "--network none", "--init"):
        assert flag in run
    assert "--env OUTPUT_DIR=/data/results" in run


def _deploy_web(project: Project, tmp_path: Path, env_file: str) -> str:
    """deploy.sh of a web program without compose: the `docker run` line it runs."""
    spec = write_spec(tmp_path / "s", spec_text())
    program = publish(project, spec, run_stage(PACKAGE, spec, project, tmp_path / "w"))
    (program / ".env").write_text(env_file, encoding="utf-8")
    log = tmp_path / "run.log"
    _fake_docker(tmp_path / "bin", log, compose=False)
    proc = _deploy(program, tmp_path / "bin")
    assert proc.returncode == 0, proc.stderr
    return next(line for line in log.read_text().splitlines() if line.startswith("run "))


def test_deploy_publishes_the_dashboard_on_loopback(project: Project, tmp_path: Path) -> None:
    run = _deploy_web(project, tmp_path, "X=1\n")
    assert "--publish 127.0.0.1:8080:8080" in run
    assert "--env HOST=0.0.0.0" in run  # inside the container, for the port mapping


def test_deploy_publishes_where_publish_address_says(project: Project, tmp_path: Path) -> None:
    run = _deploy_web(project, tmp_path, "API_TOKEN=x\nPUBLISH_ADDRESS=0.0.0.0\n")
    assert "--publish 0.0.0.0:8080:8080" in run


def test_readme_documents_the_token_and_the_published_address(
    project: Project, tmp_path: Path
) -> None:
    readme = package(project, tmp_path / "s", spec_text())["README.md"].decode()
    for needle in ("API_TOKEN", "Authorization: Bearer", "/?token=", "PUBLISH_ADDRESS"):
        assert needle in readme


def test_deploy_warns_when_publishing_widely_without_a_token(
    project: Project, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path / "s", spec_text())
    program = publish(project, spec, run_stage(PACKAGE, spec, project, tmp_path / "w"))
    _fake_docker(tmp_path / "bin", tmp_path / "docker.log", compose=True)
    (program / ".env").write_text("PUBLISH_ADDRESS=0.0.0.0\n", encoding="utf-8")
    proc = _deploy(program, tmp_path / "bin")
    assert proc.returncode == 0, proc.stderr
    assert "warning: publishing on 0.0.0.0 without API_TOKEN" in proc.stderr
    (program / ".env").write_text("PUBLISH_ADDRESS=0.0.0.0; rm -rf /\n", encoding="utf-8")
    proc = _deploy(program, tmp_path / "bin")
    assert proc.returncode == 1
    assert "PUBLISH_ADDRESS=0.0.0.0;rm-rf/ is not an IP address" in proc.stderr
