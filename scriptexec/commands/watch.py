"""`scriptexec watch`: rebuild specs as they, their data, templates or prompts change.

watchdog reports file events; editors' temporary files are ignored, a burst of events is
coalesced by a debounce, and each affected spec is rebuilt with the same engine as `build`
(so only its stale stages run, and a touch without a change runs nothing). A newer edit to
a spec that is being built cancels that build: nothing it had not finished is published.
"""

from __future__ import annotations

import fnmatch
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.commands.build import render_listener
from scriptexec.engine.engine import Engine, Request, SpecReport
from scriptexec.engine.pipeline import build_order
from scriptexec.errors import ExitCode, SpecError
from scriptexec.file_lock import file_lock
from scriptexec.project import Project
from scriptexec.spec.discover import discover
from scriptexec.ui import Console

# Files editors write beside the real one while saving: swap files, backups, vim's 4913
# probe, emacs lock files, atomic-save temporaries.
EDITOR_NOISE = (
    "*.swp",
    "*.swx",
    "*.swo",
    "*~",
    "4913",
    ".#*",
    "#*#",
    "*.tmp",
    "*.kate-swp",
    ".*.tmp",
    "*.part",
)
IGNORED_DIRS = ("build", ".scriptexec", ".git", "__pycache__", ".venv")


def is_noise(path: str) -> bool:
    name = Path(path).name
    return any(fnmatch.fnmatch(name, pattern) for pattern in EDITOR_NOISE)


@dataclass
class _Running:
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)


class Watcher:
    def __init__(
        self,
        project: Project,
        console: Console,
        paths: list[str],
        *,
        debounce_ms: int,
        run_program: bool = False,
        local: bool = False,
        with_image: bool = False,
    ) -> None:
        self.project = project
        self.console = console
        self.paths = paths
        self.debounce = debounce_ms / 1000
        self.run_program = run_program
        self.local = local
        self.req = Request(mode="build", no_image=not with_image)
        self.events: queue.Queue[str] = queue.Queue()
        self.build_cancel: threading.Event | None = None
        self.building: set[Path] = set()
        self.failed: dict[Path, set[str]] = {}  # specs whose last build failed -> files they read
        self.runners: dict[str, _Running] = {}
        self.rebuilds = 0
        self.worker: threading.Thread | None = None
        self.stopping = False  # Ctrl-C or SIGTERM: a cancelled build was not superseded

    # -- what to watch ---------------------------------------------------------------

    def specs(self) -> list[Path]:
        return discover(list(self.paths), self.project.root)

    def watched_dirs(self) -> list[Path]:
        dirs = {p.parent for p in self.specs()}
        for raw in self.paths or ["specs"]:
            path = self.project.root / raw
            if path.is_dir():
                dirs.add(path)
        templates = self.project.root / "templates"
        if templates.is_dir():
            dirs.add(templates)
        # Keep only the outermost directories: watches are recursive.
        ordered = sorted(dirs, key=lambda d: len(d.parts))
        return [
            d for i, d in enumerate(ordered) if not any(d.is_relative_to(o) for o in ordered[:i])
        ]

    def relevant(self, path: str) -> bool:
        if is_noise(path):
            return False
        try:
            rel = Path(path).resolve().relative_to(self.project.root)
        except ValueError:
            return True
        return not any(part in IGNORED_DIRS for part in rel.parts)

    # -- the loop --------------------------------------------------------------------

    def run(self) -> int:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write") or event.is_directory:
                    return
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    path = raw.decode() if isinstance(raw, bytes) else raw
                    if path and watcher.relevant(path):
                        watcher.events.put(path)

        observer = Observer()
        for d in self.watched_dirs():
            observer.schedule(Handler(), str(d), recursive=True)
        observer.start()
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        names = ", ".join(self.project.relative(d) for d in self.watched_dirs())
        self.console.line(
            f"watching {names} (debounce {int(self.debounce * 1000)} ms); Ctrl-C to stop"
        )
        try:
            self._rebuild(set(self.specs()), "start")
            self._loop()
        except KeyboardInterrupt:
            self.stopping = True
            self._finish_build()
            # Only now: the cancelled build's last lines come before this one.
            self.console.line("stopping")
            return int(ExitCode.INTERRUPTED)
        finally:
            self._finish_build()
            self._stop_runners()
            observer.stop()
            observer.join(timeout=5)
            signal.signal(signal.SIGTERM, previous)
        return 0

    def _finish_build(self) -> None:
        if self.build_cancel is not None:
            self.build_cancel.set()
        if self.worker is not None:
            # Let the cancelled build reach a stage boundary, so no child process of
            # it (ruff, the program under test) outlives us.
            self.worker.join(timeout=30)

    def _loop(self) -> None:
        pending: set[str] = set()
        while True:
            try:
                pending.add(self.events.get(timeout=0.5 if not pending else self.debounce))
                continue  # keep collecting until the burst settles
            except queue.Empty:
                pass
            if not pending:
                continue
            changed, pending = pending, set()
            targets = self._affected(changed)
            if not targets:
                continue
            if self.worker is not None and self.worker.is_alive():
                if self.build_cancel is not None and targets & self.building:
                    self.build_cancel.set()  # superseded: the newer content wins
                self.worker.join()
            why = _describe(changed, self.project)
            self.worker = threading.Thread(target=self._rebuild, args=(targets, why), daemon=True)
            self.worker.start()

    def _affected(self, changed: set[str]) -> set[Path]:
        specs = set(self.specs())
        changed_paths = {Path(p).resolve() for p in changed}
        targets = set()
        for spec in specs:
            if spec.resolve() in changed_paths:
                targets.add(spec)
            elif spec in self.failed:
                # A spec that failed is rebuilt when it or a file it read changes, not on
                # every unrelated save (which would only repeat the same errors).
                if {str(p) for p in changed_paths} & self.failed[spec]:
                    targets.add(spec)
            else:
                targets.add(spec)  # the engine's stat check decides: unchanged -> no work
        return targets

    # -- one rebuild -----------------------------------------------------------------

    def _rebuild(self, targets: set[Path], why: str) -> None:
        cancel = threading.Event()
        self.build_cancel = cancel
        self.building = set(targets)
        listener = render_listener(self.console, "build")
        try:
            with file_lock(self.project.state_dir / "build.lock", on_wait=self._waiting):
                engine = Engine(self.project, self.console.warn, cancel)
                engine.progress = self.console.progress  # type: ignore[method-assign]
                stale = [p for p in sorted(targets) if not engine.up_to_date(p, self.req)]
                stale, _ = build_order(stale, add_upstreams=False)  # upstreams first
                for path in sorted(set(targets) - set(stale)):
                    if self.failed.pop(path, None) is not None:
                        # Put back as it last built: no stage runs, but the screen still
                        # says "invalid" unless we say otherwise.
                        self.console.line(
                            self.console.style(
                                f"{self.project.relative(path)}: valid again and up to date",
                                "green",
                            )
                        )
                if not stale:
                    return
                self.rebuilds += 1
                started = time.monotonic()
                stamp = time.strftime("%H:%M:%S")
                for path in stale:
                    self.console.line(
                        self.console.style(
                            f"[{stamp}] rebuilding {self.project.relative(path)} ({why})", "bold"
                        )
                    )
                reports = []
                try:
                    for path in stale:
                        if cancel.is_set():
                            raise KeyboardInterrupt
                        reports.append(engine.process(path, self.req, listener))
                finally:
                    engine.lock.save()
                    engine.state.save(self.project.digests.export(), self.project.lock_path)
                if cancel.is_set():
                    # A stage cut short by the cancel reports itself as failed; the build
                    # was not wrong, only overtaken, so it must not count as a failure.
                    raise KeyboardInterrupt
                self._summarise(reports, stale, time.monotonic() - started)
        except KeyboardInterrupt:
            if cancel.is_set():
                if self.stopping:
                    self.console.line("interrupted; nothing of the build in progress was published")
                else:
                    self.console.line("superseded by a newer edit; nothing of it was published")
                return
            raise

    def _summarise(self, reports: list[SpecReport], paths: list[Path], seconds: float) -> None:
        for path, report in zip(paths, reports, strict=False):
            name = report.name or report.path
            if report.error is not None:
                self.failed[path] = {str(path.resolve())} | self._known_deps(path)
                kind = "invalid" if isinstance(report.error, SpecError) else "failed"
                self.console.line(
                    self.console.style(
                        f"{name}: {kind}; last good outputs kept, watching for a fix", "red"
                    )
                )
                continue
            self.failed.pop(path, None)
            ran = [s.stage for s in report.stages if s.state == "ran"]
            summary = ", ".join(ran) if ran else "nothing (already up to date)"
            self.console.line(
                self.console.style(f"{name}: rebuilt in {seconds:.2f} s: {summary}", "green")
            )
            if self.run_program and ran:
                self._restart(path)

    def _known_deps(self, path: Path) -> set[str]:
        from scriptexec.engine.state import BuildState

        entry = BuildState.load(self.project.state_dir / "state.json").specs.get(str(path))
        return set(entry.deps) if entry else set()

    def _waiting(self, holder: str) -> None:
        self.console.line(f"waiting for another scriptexec build (pid {holder})...")

    # -- --run -----------------------------------------------------------------------

    def _restart(self, path: Path) -> None:
        from scriptexec.container.run import run_program
        from scriptexec.spec.model import load_spec

        spec = load_spec(path, self.project.relative(path))
        old = self.runners.pop(spec.name, None)
        if old is not None:
            old.stop.set()
            old.thread.join(timeout=10)
        running = _Running(threading.Thread(daemon=True, target=lambda: None))
        web = spec.canonical["interface"]["web"] is not None

        def target() -> None:
            try:
                code = run_program(
                    self.project,
                    spec,
                    web=web,
                    local=self.local,
                    env_file=None,
                    on_output=lambda line: self.console.line(f"  {spec.name} | {line}"),
                    stop=running.stop,
                )
                if not running.stop.is_set():
                    self.console.line(f"{spec.name}: program exited with {code}")
            except Exception as exc:
                self.console.error(f"{spec.name}: cannot run the program: {exc}")

        running.thread = threading.Thread(target=target, daemon=True, name=f"run-{spec.name}")
        self.runners[spec.name] = running
        running.thread.start()

    def _stop_runners(self) -> None:
        for running in self.runners.values():
            running.stop.set()
        for running in self.runners.values():
            running.thread.join(timeout=10)
        self.runners.clear()


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _describe(changed: set[str], project: Project) -> str:
    # Temporaries renamed away during the burst (sed -i, editors) are not worth naming.
    shown = sorted(project.relative(Path(p)) for p in changed if Path(p).exists()) or ["a file"]
    more = f" and {len(shown) - 2} more" if len(shown) > 2 else ""
    return ", ".join(shown[:2]) + more + " changed"


def watch_specs(
    *,
    project: Project,
    console: Console,
    paths: list[str],
    debounce_ms: int,
    run_program: bool,
    local: bool,
    with_image: bool,
) -> int:
    watcher = Watcher(
        project,
        console,
        paths,
        debounce_ms=debounce_ms,
        run_program=run_program,
        local=local,
        with_image=with_image,
    )
    return watcher.run()
