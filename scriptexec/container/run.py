"""`scriptexec run`: run a built program, in its container or in a virtual environment.

In a container it gets the limits its docker-compose.yml declares (memory without swap,
CPUs, pids, read-only root, no capabilities, no privilege escalation, no network unless it
serves a dashboard or its inputs need one) and the `.env` beside it. Its output is streamed
as it comes; Ctrl-C (KeyboardInterrupt) or `stop` stops and removes the container. The exit
code is the program's, and a kill for going over the memory limit is said out loud.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scriptexec.container import (
    APP_UID,
    DATA_MOUNTS,
    TMPFS_OPTIONS,
    UPSTREAM_MOUNT,
    container_env,
    image_repo,
)
from scriptexec.container.local import STOP_TIMEOUT, OnOutput, run_local
from scriptexec.errors import BuildError, UsageError

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec


def run_program(
    project: Project,
    spec: Spec,
    *,
    web: bool,
    local: bool,
    env_file: Path | None,
    on_output: OnOutput,
    image: str | None = None,
    publish_port: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the program built from `spec` until it ends (or `stop` is set); its exit code.

    env_file None means the `.env` in the program's directory when there is one. `image`
    defaults to the spec's :latest tag; `publish_port` to the spec's port. `on_output` gets
    the program's output line by line, and scriptexec's own notes prefixed "scriptexec: ".
    """
    program_dir = project.build_dir(spec.name)
    if not (program_dir / "app.py").is_file():
        raise UsageError(
            f"{spec.name} is not built ({project.relative(program_dir)}/app.py is missing);"
            f" run: scriptexec build {project.relative(spec.path)}"
        )
    web_cfg = spec.canonical["interface"]["web"]
    if web and web_cfg is None:
        raise UsageError(f"{spec.name} has no web interface (interface.web in its spec)")
    port = int(web_cfg["port"]) if web_cfg else None
    env = _env_from_file(program_dir, env_file, on_output)
    stop = stop or threading.Event()
    if local:
        return run_local(project, spec, program_dir, env, web, port, publish_port, on_output, stop)
    shown = host_paths(program_dir, project.relative)
    return _run_container(
        spec, program_dir, env, web, port, publish_port, image, lambda t: on_output(shown(t)), stop
    )


def upstream_mounts(
    build_root: Path, spec: Spec, env: dict[str, str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(binds, environment) that let a container read the results of the specs its
    inputs read from (`from`): build/<upstream>/results/, read-only, at
    /data/upstream/<upstream>, with NAME_LOCATION pointing into it. Not for an input
    whose variable the .env sets, nor before the upstream's program has results."""
    binds: dict[str, dict[str, str]] = {}
    found: dict[str, str] = {}
    for inp in spec.canonical["inputs"].values():
        up = inp.get("from")
        results = build_root / str(up) / "results"
        if not up or inp["env"] in env or not results.is_dir():
            continue
        mount = f"{UPSTREAM_MOUNT}/{up}"
        binds[str(results)] = {"bind": mount, "mode": "ro"}
        found[inp["env"]] = f"{mount}/{Path(inp['location']).name}"
    return binds, found


def host_paths(program_dir: Path, relative: Callable[[Path], str]) -> Callable[[str], str]:
    """Rewrite the container's mount points in a line of output to where the files land
    on the host (`/data/results/results.csv` -> `build/dscr/results/results.csv`)."""
    mounts = sorted(DATA_MOUNTS.items(), key=lambda item: -len(item[1]))
    pattern = re.compile("|".join(re.escape(m) + r"(?=/|\b|$)" for _, m in mounts))
    to_host = {m: relative(program_dir / d) for d, m in mounts}
    return lambda line: pattern.sub(lambda match: to_host[match.group(0)], line)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them: comments, `export`, quotes."""
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise UsageError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def _env_from_file(program_dir: Path, env_file: Path | None, on_output: OnOutput) -> dict[str, str]:
    if env_file is not None:
        if not env_file.is_file():
            raise UsageError(f"{env_file}: no such file")
        return read_env_file(env_file)
    default = program_dir / ".env"
    if default.is_file():
        return read_env_file(default)
    on_output(f"scriptexec: no {default}; running with the program's defaults (see .env.example)")
    return {}


def _oom_message(spec: Spec) -> str:
    memory = spec.canonical["runtime"]["memory"]
    return (
        f"scriptexec: {spec.name} was killed for using more than its memory limit of {memory};"
        f" raise runtime.memory in {spec.path.name} and rebuild"
    )


# -- in a container ----------------------------------------------------------------------


def _run_container(
    spec: Spec,
    program_dir: Path,
    env: dict[str, str],
    web: bool,
    port: int | None,
    publish_port: int | None,
    image: str | None,
    on_output: OnOutput,
    stop: threading.Event,
) -> int:
    import docker

    from scriptexec.container.build import api_client

    runtime = spec.canonical["runtime"]
    image = image or f"{image_repo(spec.name)}:latest"
    client = api_client()
    try:
        client.inspect_image(image)
    except docker.errors.ImageNotFound:
        client.close()
        raise BuildError(
            f"no image {image} on the engine; build it: scriptexec build {spec.path.name}"
        ) from None
    user = _prepare_mounts(program_dir)
    # A dashboard needs a network to be published on; a batch run gets none unless its
    # inputs need one.
    network = "none" if runtime["network"] == "none" and not web else "bridge"
    host_port = publish_port or port
    binds = {str(program_dir / d): {"bind": m, "mode": "rw"} for d, m in DATA_MOUNTS.items()}
    upstream_binds, upstream_env = upstream_mounts(program_dir.parent, spec, env)
    binds.update(upstream_binds)
    env = {**upstream_env, **env}
    host_config = client.create_host_config(
        binds=binds,
        mem_limit=runtime["memory"],
        memswap_limit=runtime["memory"],  # no swap: over the limit is a kill, not a crawl
        nano_cpus=int(float(runtime["cpus"]) * 1e9),
        pids_limit=int(runtime["pids"]),
        read_only=True,
        tmpfs={"/tmp": TMPFS_OPTIONS},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        network_mode=network,
        port_bindings={port: ("127.0.0.1", host_port)} if web else None,
        init=True,  # PID 1 that forwards SIGTERM, so a stop is a clean shutdown
    )
    container = client.create_container(
        image,
        command=["python", "app.py", "serve" if web else "run"],
        environment={**env, **container_env(port)},
        user=user,
        ports=[port] if web else None,
        host_config=host_config,
        labels={"org.scriptexec.run": spec.name},
    )
    cid = str(container["Id"])
    finished = threading.Event()
    watcher = threading.Thread(target=_stop_when, args=(stop, finished, cid), daemon=True)
    try:
        client.start(cid)
        watcher.start()
        if web:
            on_output(f"scriptexec: {spec.name} dashboard: http://127.0.0.1:{host_port}/")
        for line in _lines(client.logs(cid, stream=True, follow=True)):
            on_output(line)
        code = int(client.wait(cid)["StatusCode"])
        if client.inspect_container(cid)["State"].get("OOMKilled"):
            on_output(_oom_message(spec))
        return code
    except KeyboardInterrupt:
        on_output(f"scriptexec: stopping {spec.name}")
        client.stop(cid, timeout=STOP_TIMEOUT)
        raise
    finally:
        finished.set()
        # NotFound: already gone, someone ran `docker rm` on it.
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(cid, v=True, force=True)
        client.close()


def _stop_when(stop: threading.Event, finished: threading.Event, cid: str) -> None:
    """Stop the container when `stop` is set, unless it finished on its own first."""
    from scriptexec.container.build import api_client

    while not finished.is_set():
        if stop.wait(0.1):
            client = api_client()  # requests sessions are not shared across threads
            # It may have ended meanwhile; whatever happened, the main thread reports it.
            with contextlib.suppress(Exception):
                client.stop(cid, timeout=STOP_TIMEOUT)
            client.close()
            return


def _prepare_mounts(program_dir: Path) -> str:
    """Create the output directories and choose a non-root user that can write them."""
    for d in DATA_MOUNTS:
        (program_dir / d).mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return f"{os.geteuid()}:{os.getegid()}"
    # Run by root: the container still must not be; hand the directories to its user,
    # with what is in them (a local run as root leaves root-owned results behind).
    for d in DATA_MOUNTS:
        top = program_dir / d
        for path in [top, *top.rglob("*")]:
            os.chown(path, APP_UID, APP_UID, follow_symlinks=False)
    return f"{APP_UID}:{APP_UID}"


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines from a byte stream that splits them anywhere."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace")
