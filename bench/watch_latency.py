"""Watch latency: from the moment a spec is saved to the rebuild starting, and to the
program in build/ being updated (no image stage). Prints median and worst of N saves."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAVES = int(os.environ.get("BENCH_WATCH_SAVES", "15"))
BASE = "headroom: noi - covenant * annual_debt_service"


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="scriptexec-watch-bench-"))
    shutil.copytree(REPO / "specs", root / "specs")
    se = [sys.executable, "-m", "scriptexec"]
    subprocess.run(
        [*se, "build", "specs/dscr.yaml", "--no-image"], cwd=root, check=True, capture_output=True
    )
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*se, "watch", "specs/dscr.yaml", "--debounce", "100"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started: list[float] = []
    finished: list[float] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("watching"):
                ready.set()
            if "rebuilding" in line:
                started.append(time.monotonic())
            if "rebuilt in" in line or "failed" in line:
                finished.append(time.monotonic())

    threading.Thread(target=read, daemon=True).start()
    ready.wait(30)
    spec, app = root / "specs" / "dscr.yaml", root / "build" / "dscr" / "app.py"
    to_start, to_output = [], []
    current = BASE
    for i in range(SAVES):
        # A new formula every time (same values, so the checks pass): nothing is cached.
        new = f"{BASE} + {i + 1} - {i + 1}"
        before = app.read_bytes()
        n, m = len(started), len(finished)
        saved = time.monotonic()
        spec.write_text(spec.read_text().replace(current, new))
        current = new
        while app.read_bytes() == before and time.monotonic() - saved < 30:
            time.sleep(0.002)
        to_output.append(time.monotonic() - saved)
        while len(finished) <= m and time.monotonic() - saved < 30:
            time.sleep(0.01)
        if len(started) > n:
            to_start.append(started[n] - saved)
    proc.terminate()
    proc.wait()
    shutil.rmtree(root)
    print(f"watch latency over {SAVES} saves of specs/dscr.yaml (debounce 100 ms, no image)")
    for label, values, target in (
        ("save -> rebuild started", to_start, "< 150 ms"),
        ("save -> build/dscr/app.py updated", to_output, "< 1 s"),
    ):
        if values:
            print(
                f"  {label:<52} median {statistics.median(values) * 1000:8.1f} ms   "
                f"worst {max(values) * 1000:8.1f} ms   target {target}"
            )


if __name__ == "__main__":
    main()
