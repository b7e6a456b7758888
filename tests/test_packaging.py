"""A built wheel, installed in a clean virtual environment, carries schemas/ and templates/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_in_a_clean_venv_finds_its_data(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("scriptexec-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    probe = (
        "from scriptexec.resources import data_dir, schema_path, templates_dir\n"
        "import scriptexec, pathlib\n"
        "pkg = pathlib.Path(scriptexec.__file__).parent\n"
        "assert data_dir('schemas').is_relative_to(pkg), data_dir('schemas')\n"
        "for name in ('spec', 'analysis', 'plan'):\n"
        "    assert schema_path(name).is_file(), name\n"
        "for rel in ('program/app.py.j2', 'package/Dockerfile.j2', 'prompts/step.j2', 'scaffold/spec.yaml'):\n"
        "    assert (templates_dir() / rel).is_file(), rel\n"
        "print('ok', pkg)\n"
    )
    out = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ") and str(venv) in out.stdout
