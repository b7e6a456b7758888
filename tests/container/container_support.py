"""Helpers for the container tests: specs, the fixture program, running stages.

A module of its own rather than conftest.py: tests import these, and `conftest` is a name
every test directory uses.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scriptexec.project import Project
from scriptexec.spec.model import Spec, load_spec
from scriptexec.stages.base import StageContext, StageResult

FIXTURE_PROGRAM = Path(__file__).parent / "fixture_program"
# Read at import, before the suite's autouse fixture clears SCRIPTEXEC_BASE_IMAGE per test.
BASE_IMAGE = (
    os.environ.get("SCRIPTEXEC_TEST_BASE_IMAGE")
    or os.environ.get("SCRIPTEXEC_BASE_IMAGE")
    or "scriptexec/python:3.11-bookworm"
)
SAMPLE_CSV = "id,value\na,1\nb,2.5\nc,-4\n"


def spec_text(name: str = "numbers", *, web: bool = True, **runtime: Any) -> str:
    doc: dict[str, Any] = {
        "version": 1,
        "name": name,
        "title": "Doubled numbers",
        "description": "Double every value.",
        "inputs": {
            "numbers": {
                "format": "csv",
                "location": "data/numbers.csv",
                "fields": {"id": "string", "value": "number"},
            }
        },
        "compute": {"doubled": "value * 2"},
        "summary": {"total": "sum(doubled)"},
        "runtime": {"memory": "64m", "cpus": 0.5, **runtime},
    }
    if web:
        doc["interface"] = {"web": {"port": 8080}}
    return yaml.safe_dump(doc, sort_keys=False)


def write_spec(directory: Path, text: str, *, data: str | None = SAMPLE_CSV) -> Spec:
    directory.mkdir(parents=True, exist_ok=True)
    if data is not None:
        (directory / "data").mkdir(exist_ok=True)
        (directory / "data" / "numbers.csv").write_text(data, encoding="utf-8")
    path = directory / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def program_files(**changes: bytes) -> dict[str, bytes]:
    """The fixture program as the generate stage would hand it on."""
    files = {
        p.relative_to(FIXTURE_PROGRAM).as_posix(): p.read_bytes()
        for p in sorted(FIXTURE_PROGRAM.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    files.update(changes)
    return files


@dataclass
class Recorder:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run_stage(
    stage: Any,
    spec: Spec,
    project: Project,
    workdir: Path,
    upstream: dict[str, StageResult] | None = None,
    progress: Recorder | None = None,
) -> StageResult:
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(
        spec=spec,
        project=project,
        upstream=upstream or {},
        workdir=workdir,
        cancel=threading.Event(),
        progress=progress or Recorder(),
    )
    result: StageResult = stage.run(ctx)
    return result


def publish(project: Project, spec: Spec, *results: StageResult) -> Path:
    """Materialise stage outputs in build/<name>/ as the engine does."""
    out = project.build_dir(spec.name)
    for result in results:
        for rel, content in result.files.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if rel.endswith(".sh"):
                path.chmod(0o755)
    return out
