"""`scriptexec status`: every stage of every spec, fresh or stale, and why."""

from __future__ import annotations

import json
from pathlib import Path

from scriptexec.engine.engine import Engine, Request, SpecReport, StageReport
from scriptexec.errors import ExitCode, SpecError
from scriptexec.project import Project
from scriptexec.ui import Console


def collect_status(*, project: Project, console: Console, paths: list[Path]) -> list[SpecReport]:
    return Engine(project, console.warn).run(paths, Request(mode="status"), lambda r, s: None)


def show_status(*, project: Project, console: Console, paths: list[Path], as_json: bool) -> int:
    reports = collect_status(project=project, console=console, paths=paths)
    if as_json:
        console.line(json.dumps([_to_json(r) for r in reports], indent=2))
    else:
        for r in reports:
            _render(console, r)
    if any(isinstance(r.error, SpecError) for r in reports):
        return int(ExitCode.USAGE)
    return 0


def _to_json(r: SpecReport) -> dict[str, object]:
    return {
        "spec": r.path,
        "name": r.name,
        "error": str(r.error) if r.error else None,
        "upstream": r.upstream,  # the specs it reads from (`from`): name -> spec file
        "stages": [{"stage": s.stage, "state": s.state, "reason": s.reason} for s in r.stages],
    }


def _render(console: Console, r: SpecReport) -> None:
    if r.error is not None:
        label = "invalid" if isinstance(r.error, SpecError) else "error"
        console.line(f"{r.path}: " + console.style(label, "red"))
        problems = r.error.problems if isinstance(r.error, SpecError) else [r.error]
        for p in problems:
            console.line(f"  {p}")
        return
    console.line(console.style(f"{r.name}", "bold") + f" ({r.path})")
    for name, path in r.upstream.items():
        console.line(f"  reads: {name} ({path})")
    for s in r.stages:
        console.line(f"  {_stage_line(console, s)}")


def _stage_line(console: Console, s: StageReport) -> str:
    color = {"fresh": "green", "stale": "yellow", "skipped": "dim"}.get(s.state, "bold")
    reason = f": {s.reason}" if s.reason else ""
    return f"{s.stage}: {console.style(s.state, color)}{reason}"
