"""watch with real file-system events and a real process."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest
from watch_process import WatchProcess

SPEC = "specs/dscr.yaml"


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
    # (app.py holds the formula compiled to SQL)
    assert b'"annual_debt_service" * $covenant::DOUBLE' in final
    if "superseded" in watching.text():
        assert not any(b'"annual_debt_service" * 1' in content for content in seen)
        # Overtaken is not failed: no "failed" verdict, and the next edit rebuilds as usual.
        assert "failed; last good outputs kept" not in watching.text()
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
    lines = [line for line in w.text().splitlines() if line.strip()]
    # The cancelled build's own lines come first; "stopping" is the last word.
    assert lines[-1] == "stopping"
    assert "superseded" not in w.text()  # nothing newer replaced it: it was interrupted


def test_summary_lists_every_stage_that_ran(watching: WatchProcess, dscr_built: Path) -> None:
    # One save that changes a formula and the memory limit: everything after analyze runs,
    # package included (it reads runtime.memory and the generated program).
    text = (dscr_built / SPEC).read_text()
    text = text.replace("memory: 256m", "memory: 320m")
    text = text.replace(
        "headroom: noi - covenant * annual_debt_service",
        "headroom: noi - annual_debt_service * covenant",
    )
    (dscr_built / SPEC).write_text(text)
    watching.wait_for(r"dscr: rebuilt in")
    watching.settle()
    ran = [line.split()[1] for line in watching.text().splitlines() if " ran (" in line]
    (summary,) = [line for line in watching.text().splitlines() if "rebuilt in" in line]
    listed = summary.split(": ", 2)[2].split(", ")
    assert sorted(listed) == sorted(ran)
    assert "package" in listed and "generate" in listed


def test_putting_a_broken_spec_back_says_it_is_valid_again(
    watching: WatchProcess, dscr_built: Path
) -> None:
    original = (dscr_built / SPEC).read_text()
    edit(dscr_built, "dscr: noi / annual_debt_service", "dscr: noi / annual_debt_servic")
    watching.wait_for("last good outputs kept")
    (dscr_built / SPEC).write_text(original)  # undo in the editor: exactly as it last built
    watching.wait_for(r"specs/dscr.yaml: valid again and up to date|dscr: rebuilt in")
    watching.settle()
    last = [line for line in watching.text().splitlines() if line.strip()][-1]
    assert "valid again and up to date" in last or "already up to date" in last, last
