"""The engine never corrupts its state: corrupt caches and locks are misses, concurrent
builds wait for each other, and a build killed at any moment leaves a state from which the
next build succeeds with the same outputs as an uninterrupted one."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ran_stages

SPEC = "specs/dscr.yaml"


def scriptexec(*args: str, cwd: Path, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "scriptexec", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **kw,  # type: ignore[call-overload]
    )


def outputs(project: Path) -> dict[str, bytes]:
    root = project / "build" / "dscr"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_corrupt_cache_entries_are_misses(dscr_project: Path, cli, tmp_path: Path) -> None:
    cache = Path(os.environ["SCRIPTEXEC_CACHE_DIR"])
    blobs = sorted((cache / "blobs").rglob("*"))
    records = sorted((cache / "stages").rglob("*.json"))
    for blob in [b for b in blobs if b.is_file()][:3]:
        blob.write_bytes(blob.read_bytes()[:10])  # truncated
    records[0].write_text("{not json")
    shutil.rmtree(dscr_project / "build")  # force the engine to look in the cache
    out = cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output
    assert "is corrupt" in out
    assert "Traceback" not in out
    assert (dscr_project / "build" / "dscr" / "app.py").is_file()
    assert ran_stages(cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output) == []


def test_corrupt_lock_is_a_warning(dscr_project: Path, cli) -> None:
    (dscr_project / "scriptexec.lock").write_text("specs: [this is: not, a lock\n")
    out = cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output
    assert "scriptexec.lock is corrupt" in out
    # Every stage comes back from the cache; the lock is rewritten whole.
    assert ran_stages(out) == []
    assert "dscr:" in (dscr_project / "scriptexec.lock").read_text()


def test_deleted_state_is_only_slower(dscr_project: Path, cli) -> None:
    (dscr_project / ".scriptexec" / "state.json").unlink()
    assert ran_stages(cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output) == []


def test_two_concurrent_builds_wait_and_never_run_a_stage_twice(project: Path) -> None:
    first = scriptexec("-v", "build", SPEC, "--no-image", cwd=project)
    time.sleep(0.2)  # let the first take the lock (the second waits either way)
    second = scriptexec("-v", "build", SPEC, "--no-image", cwd=project)
    out1, _ = first.communicate(timeout=120)
    out2, _ = second.communicate(timeout=120)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    ran = ran_stages(out1) + ran_stages(out2)
    assert sorted(ran) == sorted(["analyze", "plan", "generate", "validate", "test", "package"])
    assert "waiting for another scriptexec build" in out1 + out2


def test_sigkill_at_random_moments_then_a_correct_build(project: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(project, reference)
    ref = scriptexec("build", SPEC, "--no-image", cwd=reference)
    assert ref.wait(timeout=120) == 0
    rng = random.Random(1234)
    kills = 0
    for _ in range(12):
        proc = scriptexec("build", SPEC, "--no-image", "-B", cwd=project)
        time.sleep(rng.uniform(0.0, 1.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=120)
    assert kills >= 6, "the build finished before most kills; the test lost its point"
    final = scriptexec("build", SPEC, "--no-image", cwd=project)
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, out
    assert outputs(project) == outputs(reference)
    lock = (project / "scriptexec.lock").read_text()
    assert lock == (reference / "scriptexec.lock").read_text()
    # A kill inside atomic_write leaves a temporary; the next build sweeps it away.
    assert list((project / "build").rglob(".*.tmp")) == []


def interrupt_mid_build(project: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start a build, wait until generate has run (validate and test are running), signal."""
    proc = scriptexec("-v", "build", SPEC, "--no-image", cwd=project)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "generate ran" in line:
            proc.send_signal(sig)
            break
    rest, _ = proc.communicate(timeout=20)
    return proc.returncode, "".join(seen) + rest


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_exits_130_promptly_and_publishes_nothing(
    project: Path, sig: signal.Signals
) -> None:
    code, out = interrupt_mid_build(project, sig)
    assert code == 130, out
    assert "Traceback" not in out
    assert not (project / "build" / "dscr" / "app.py").exists()  # nothing half-published
    again = scriptexec("build", SPEC, "--no-image", cwd=project)
    assert again.wait(timeout=120) == 0
    assert (project / "build" / "dscr" / "app.py").exists()


def test_publish_sweeps_temporaries_left_by_a_kill(dscr_project: Path, cli) -> None:
    build = dscr_project / "build" / "dscr"
    stale = build / ".app.py.k1ll3d.tmp"
    stale.write_text("half a file")
    mine = build / "notes.tmp"  # not the engine's: left alone
    mine.write_text("keep")
    (dscr_project / "specs" / "dscr.yaml").write_text(
        (dscr_project / "specs" / "dscr.yaml").read_text().replace("memory: 256m", "memory: 300m")
    )
    cli("build", SPEC, "--no-image", cwd=dscr_project)
    assert not stale.exists()
    assert mine.read_text() == "keep"


def kill_mid_stage(project: Path, systmp: Path) -> None:
    """SIGKILL a real build while validate and test are running (their temp dirs exist)."""
    env = {**os.environ, "NO_COLOR": "1", "TMPDIR": str(systmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scriptexec", "-v", "build", SPEC, "--no-image", "-B"],
        cwd=project,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "generate ran" in line:
            time.sleep(0.4)  # validate runs ruff and bandit for ~1 s, test its checks
            break
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=20)


def stage_leftovers(project: Path, systmp: Path) -> list[Path]:
    """The stages' temporary folders a build leaves (in TMPDIR or the project's own)."""
    found = list(systmp.iterdir())
    state_tmp = project / ".scriptexec" / "tmp"
    found += list(state_tmp.iterdir()) if state_tmp.is_dir() else []
    return found


def leftovers(project: Path, systmp: Path) -> list[Path]:
    """Temporaries of a build: the stages' folders, and the cache's half-written files."""
    cache_tmp = list(Path(os.environ["SCRIPTEXEC_CACHE_DIR"]).rglob("*.tmp"))
    return stage_leftovers(project, systmp) + cache_tmp


def test_gc_removes_what_a_killed_build_left(project: Path, tmp_path: Path) -> None:
    systmp = tmp_path / "systmp"  # the build's TMPDIR: what it leaves there is its own
    systmp.mkdir()
    kill_mid_stage(project, systmp)
    assert leftovers(project, systmp), "the kill left nothing behind; the test lost its point"
    # A write killed inside atomic_write leaves a temporary in the cache (an hour old here).
    cache = Path(os.environ["SCRIPTEXEC_CACHE_DIR"])
    stale = cache / "stages" / "ab" / ".ab12.json.k1ll3d.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("half a record")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    gc = subprocess.run(
        [sys.executable, "-m", "scriptexec", "cache", "gc", "--older-than", "30d"],
        cwd=project,
        env={**os.environ, "TMPDIR": str(systmp)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert leftovers(project, systmp) == []


def test_the_next_build_sweeps_what_a_killed_build_left(project: Path, tmp_path: Path) -> None:
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    kill_mid_stage(project, systmp)
    assert leftovers(project, systmp)
    again = subprocess.run(
        [sys.executable, "-m", "scriptexec", "build", SPEC, "--no-image"],
        cwd=project,
        env={**os.environ, "TMPDIR": str(systmp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    # The stages' folders are swept; a half-written file in the cache is not, when the
    # kill landed inside a cache write: the cache may be shared with other projects'
    # running builds, so only `cache gc` removes those, once they are an hour old.
    assert stage_leftovers(project, systmp) == []


def test_gc_keeps_a_running_builds_temporaries(dscr_project: Path, cli) -> None:
    cache = Path(os.environ["SCRIPTEXEC_CACHE_DIR"])
    fresh = next((cache / "blobs").iterdir()) / ".abc.x1y2.tmp"  # being written right now
    fresh.write_text("half a blob")
    cli("cache", "gc", "--older-than", "30d", cwd=dscr_project)
    assert fresh.exists()
