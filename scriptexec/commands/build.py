"""`scriptexec build`: bring specs up to date, or (--check / --dry-run) say what is stale."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scriptexec.engine.engine import Engine, Request, SpecReport, StageReport
from scriptexec.errors import ExitCode, SpecError
from scriptexec.file_lock import file_lock
from scriptexec.project import Project
from scriptexec.ui import Console

VERBS = {
    "build": {"cached": "cached", "ran": "ran", "failed": "FAILED", "skipped": "skipped"},
    "dry-run": {"fresh": "fresh", "stale": "would run", "skipped": "would skip"},
    "check": {"fresh": "fresh", "stale": "STALE", "skipped": "skipped"},
}
COLORS = {
    "ran": "green",
    "failed": "red",
    "stale": "yellow",
    "skipped": "dim",
    "cached": "dim",
    "fresh": "dim",
}


def render_listener(console: Console, mode: str) -> Any:
    def listener(report: SpecReport, stage: StageReport | None) -> None:
        name = report.name or report.path
        if stage is None:
            if report.up_to_date:
                console.event("spec", spec=name, state="up-to-date")
                console.line(f"{name}: up to date", min_verbosity=0)
            elif report.error is not None:
                console.event("spec", spec=name, state="error", error=str(report.error))
                if isinstance(report.error, SpecError):
                    for p in report.error.problems:
                        console.error(p.shown())
                else:
                    text = _not_yet_shown(report, str(report.error))
                    if text:
                        console.error(f"{name}: " + console.style("error: ", "red") + text)
            elif report.restored and mode == "build":
                # Cached stages print only with -v; without this a build that put back
                # every file (after `clean`, or without the lock) would say nothing at all.
                n = report.restored
                console.event("spec", spec=name, state="restored", stages=n)
                console.line(f"{name}: restored {n} stage{'s' if n != 1 else ''} from the cache")
            return
        console.event(
            "stage",
            spec=name,
            stage=stage.stage,
            state=stage.state,
            reason=stage.reason,
            seconds=round(stage.seconds, 3),
        )
        verb = VERBS.get(mode, VERBS["build"]).get(stage.state, stage.state)
        timing = f" ({stage.seconds:.2f}s)" if stage.state in ("ran", "failed") else ""
        why = f": {stage.reason}" if stage.reason and stage.state != "cached" else ""
        quiet_ok = stage.state in ("cached", "fresh") or stage.reason == "--no-image"
        console.line(
            f"{name}: {stage.stage} {console.style(verb, COLORS.get(stage.state, 'bold'))}"
            f"{timing}{why}",
            min_verbosity=1 if quiet_ok else 0,
        )

    return listener


def _not_yet_shown(report: SpecReport, message: str) -> str:
    """A spec's error, or "" when its FAILED stage line already said all of it: a
    one-line error (with its fix) is printed once; a long one keeps its build log."""
    if "\n" not in message and any(
        s.state == "failed" and s.reason == message for s in report.stages
    ):
        return ""
    return message


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a build like Ctrl-C does: promptly, with nothing half-published."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_build(
    *,
    project: Project,
    console: Console,
    paths: list[Path],
    mode: str = "build",
    jobs: int = 1,
    keep_going: bool = False,
    force: str | None = None,
    until: str | None = None,
    frozen: bool = False,
    no_image: bool = False,
) -> int:
    project.options.offline = mode == "check" or frozen
    req = Request(
        mode=mode,  # type: ignore[arg-type]
        force=force,
        until=until,
        frozen=frozen,
        no_image=no_image,
        keep_going=keep_going,
        jobs=jobs,
    )
    listener = render_listener(console, mode)
    with sigterm_as_interrupt():
        if mode == "build":
            # Check without the lock first: a no-op build must not wait for, or write, anything.
            engine = Engine(project, console.warn)
            wanted = engine.with_upstreams(paths)  # and the specs they read from, as make
            if not force and all(engine.up_to_date(p, req) for p in wanted):
                return _all_fresh(engine, wanted, listener)

            def waiting(holder: str) -> None:
                who = f" (pid {holder})" if holder else ""
                console.error(f"waiting for another scriptexec build{who} to finish...")

            with file_lock(project.state_dir / "build.lock", on_wait=waiting):
                # Take the lock, then look again: the other build may have done our work.
                engine = Engine(project, console.warn)
                engine.progress = console.progress  # type: ignore[method-assign]
                reports = engine.run(paths, req, listener)
        else:
            reports = Engine(project, console.warn).run(paths, req, listener)
    return _exit_code(reports, mode)


def _all_fresh(engine: Engine, paths: list[Path], listener: Any) -> int:
    for path in paths:
        listener(engine.fresh_report(SpecReport(engine.project.relative(path)), path), None)
    return 0


def _exit_code(reports: list[SpecReport], mode: str) -> int:
    if any(isinstance(r.error, SpecError) for r in reports):
        return int(ExitCode.USAGE)
    if any(r.error is not None for r in reports):
        return int(ExitCode.FAILURE)
    if mode == "check" and any(r.stale for r in reports):
        return int(ExitCode.FAILURE)
    return 0
