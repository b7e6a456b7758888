"""watch with real file-system events and a real process."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

SPEC = "specs/dscr.yaml"


class WatchProcess:
    def __init__(self, project: Path, *args: str) -> None:
        self.marker = uuid.uuid4().hex
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "SCRIPTEXEC_TEST_MARKER": self.marker,
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scriptexec", "watch", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for("watching ", timeout=30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, timeout: float = 30, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.text())) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} (x{count}) in watch output:\n{self.text()}")

    def rebuilds(self) -> int:
        return len(re.findall(r"rebuilding specs/", self.text()))

    def settle(self, quiet: float = 1.5, timeout: float = 60) -> None:
        """Wait until no output has appeared for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.lines[-1][0] if self.lines else 0
            if time.monotonic() - last > quiet:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=5)
        return code

    def leftover_processes(self) -> list[int]:
        found = []
        for env_file in Path("/proc").glob("[0-9]*/environ"):
            try:
                if f"SCRIPTEXEC_TEST_MARKER={self.marker}".encode() in env_file.read_bytes():
                    found.append(int(env_file.parent.name))
            except OSError:
                continue
        return found


@pytest.fixture
def watching(dscr_built: Path):
    w = WatchProcess(dscr_built, SPEC, "--debounce", "100")
    yield w
    w.stop()


@pytest.fixture
def dscr_built(project: Path, cli) -> Path:
    cli("build", SPEC, "--no-image", cwd=project)
    return project


def edit(project: Path, old: str, new: str) -> None:
    path = project / SPEC
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_one_save_one_rebuild(watching: WatchProcess, dscr_built: Path) -> None:
    edit(dscr_built, "memory: 256m", "memory: 320m")
    watching.wait_for(r"dscr: rebuilt in [\d.]+ s: package")
    watching.settle()
    assert watching.rebuilds() == 1
    assert (
        "memory: 320M" in (dscr_built / "build" / "dscr" / "docker-compose.yml").read_text()
        or "320m" in (dscr_built / "build" / "dscr" / "docker-compose.yml").read_text().lower()
    )


def test_burst_of_saves_is_coalesced(watching: WatchProcess, dscr_built: Path) -> None:
    for i in range(20):
        edit(dscr_built, "memory: 256m" if i == 0 else f"memory: {255 + i}m", f"memory: {256 + i}m")
        time.sleep(0.01)
    watching.wait_for("rebuilt in")
    watching.settle()
    assert 1 <= watching.rebuilds() <= 2
    assert "275" in (dscr_built / "build" / "dscr" / "docker-compose.yml").read_text()


def test_atomic_rename_save_is_seen(watching: WatchProcess, dscr_built: Path) -> None:
    spec = dscr_built / SPEC
    tmp = spec.with_name(".dscr.yaml.tmp")
    tmp.write_text(spec.read_text().replace("memory: 256m", "memory: 288m"))
    os.replace(tmp, spec)
    watching.wait_for("rebuilt in")
    watching.settle()
    assert watching.rebuilds() == 1


def test_delete_then_create_save_is_one_rebuild(watching: WatchProcess, dscr_built: Path) -> None:
    spec = dscr_built / SPEC
    text = spec.read_text().replace("memory: 256m", "memory: 300m")
    spec.unlink()
    spec.write_text(text)
    watching.wait_for("rebuilt in")
    watching.settle()
    assert watching.rebuilds() == 1


def test_temp_and_swap_files_trigger_nothing(watching: WatchProcess, dscr_built: Path) -> None:
    specs = dscr_built / "specs"
    for name in (".dscr.yaml.swp", "dscr.yaml~", "4913", ".#dscr.yaml", "notes.txt"):
        (specs / name).write_text("scratch\n")
    (dscr_built / SPEC).write_bytes((dscr_built / SPEC).read_bytes())  # a touch: no change
    watching.settle(quiet=1.0)
    assert watching.rebuilds() == 0, watching.text()


def test_invalid_edit_keeps_outputs_and_watching_goes_on(
    watching: WatchProcess, dscr_built: Path
) -> None:
    app = dscr_built / "build" / "dscr" / "app.py"
    before = app.read_bytes()
    edit(dscr_built, "dscr: noi / annual_debt_service", "dscr: noi / annual_debt_servic")
    watching.wait_for(
        r"specs/dscr.yaml:\d+:\d+: compute.dscr: unknown name 'annual_debt_servic'; did you mean 'annual_debt_service'\?"
    )
    watching.wait_for("last good outputs kept")
    assert app.read_bytes() == before
    edit(dscr_built, "dscr: noi / annual_debt_servic", "dscr: noi / annual_debt_service / 1")
    watching.wait_for(r"dscr: rebuilt in [\d.]+ s: .*generate")
    assert b"/ 1" in app.read_bytes()


def test_superseded_build_publishes_nothing(watching: WatchProcess, dscr_built: Path) -> None:
    app = dscr_built / "build" / "dscr" / "app.py"
    seen: set[bytes] = set()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            with contextlib.suppress(FileNotFoundError):  # between unlink and replace
                seen.add(app.read_bytes())
            time.sleep(0.005)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    edit(
        dscr_built,
        "headroom: noi - covenant * annual_debt_service",
        "headroom: noi - covenant * annual_debt_service * 1",
    )
    watching.wait_for("rebuilding")
    time.sleep(0.15)  # generate is done, validate and test are running
    edit(
        dscr_built,
        "headroom: noi - covenant * annual_debt_service * 1",
        "headroom: noi - annual_debt_service * covenant",
    )
    watching.wait_for(r"dscr: rebuilt in")
    watching.settle()
    stop.set()
    poller.join()
    final = app.read_bytes()
    assert b"row['annual_debt_service'] * params['covenant']" in final
    if "superseded" in watching.text():
        assert not any(b"row['annual_debt_service'] * 1" in content for content in seen)
    else:  # the first build won the race and finished: both versions were real builds
        assert watching.rebuilds() == 2


def test_sigint_exits_130_and_leaves_no_children(dscr_built: Path) -> None:
    w = WatchProcess(dscr_built, SPEC, "--debounce", "50")
    edit(
        dscr_built,
        "headroom: noi - covenant * annual_debt_service",
        "headroom: noi - annual_debt_service * covenant",
    )
    w.wait_for("rebuilding")
    assert w.stop() == 130
    time.sleep(0.2)
    assert w.leftover_processes() == []
