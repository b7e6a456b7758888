"""`scriptexec run --local`: the program in a virtual environment of its own.

The environment is made once per requirements.txt (and Python version), under
.scriptexec/venvs/, created in a temporary directory and renamed into place whole, so an
interrupted install is never picked up.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scriptexec.process import clean_env, run_command

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec

OnOutput = Callable[[str], None]
STOP_TIMEOUT = 5  # seconds between SIGTERM and SIGKILL


def run_local(
    project: Project,
    spec: Spec,
    program_dir: Path,
    env: dict[str, str],
    web: bool,
    port: int | None,
    publish_port: int | None,
    on_output: OnOutput,
    stop: threading.Event,
) -> int:
    """Run app.py from `program_dir` until it ends (or `stop` is set); its exit code.

    The program sees only a minimal environment plus `env` (the .env values), as in its
    container, so a setting that works here is one the .env really provides.
    """
    python = _venv_for(project, program_dir / "requirements.txt", on_output)
    child_env = clean_env(**env)
    if publish_port is not None:
        child_env["PORT"] = str(publish_port)
    if web:
        host = child_env.get("HOST") or "127.0.0.1"
        shown = "127.0.0.1" if host == "0.0.0.0" else host
        listen = child_env.get("PORT") or str(port)
        on_output(f"scriptexec: {spec.name} dashboard: http://{shown}:{listen}/")
    # Not process.run_command: this one streams its output while it runs and can be stopped.
    proc = subprocess.Popen(
        [str(python), "app.py", "serve" if web else "run"],
        cwd=program_dir,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    finished = threading.Event()

    def stop_when_asked() -> None:
        while not finished.is_set():
            if stop.wait(0.1):
                proc.terminate()
                return

    threading.Thread(target=stop_when_asked, daemon=True).start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            on_output(raw.decode("utf-8", "replace").rstrip("\r\n"))
        return proc.wait()
    except KeyboardInterrupt:
        on_output(f"scriptexec: stopping {spec.name}")
        raise
    finally:
        finished.set()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _venv_for(project: Project, requirements: Path, on_output: OnOutput) -> Path:
    """A virtual environment with `requirements` installed, shared by identical ones."""
    content = requirements.read_bytes() if requirements.is_file() else b""
    digest = hashlib.sha256(content + sys.version.encode()).hexdigest()[:16]
    venv = project.state_dir / "venvs" / digest
    python = venv / "bin" / "python"
    if python.exists():
        return python
    on_output(f"scriptexec: creating a virtual environment in {project.relative(venv)}")
    tmp = venv.with_name(f"{digest}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_command([sys.executable, "-m", "venv", str(tmp)], timeout=300)
        if content.strip():
            run_command(
                [str(tmp / "bin" / "python"), "-m", "pip", "install", "-r", str(requirements)],
                timeout=900,
            )
        # Publish whole: a half-installed environment is never picked up.
        os.replace(tmp, venv)
    except OSError:
        if not python.exists():  # not someone else's venv that won the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return python
