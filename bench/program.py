"""Speed of the programs scriptexec builds (issue 12's targets), printed, never asserted.

    python bench/program.py            # all: run, simulate, build
    python bench/program.py run        # 1M-row dscr: app.py run vs hand-written DuckDB

- run: dscr on a 1M-row CSV, `app.py run` against a hand-written DuckDB script that reads
  the same file and writes the same results.csv and summary.json, side by side, with the
  peak RSS of each (target: within 1.5x, under 500 MB).
- simulate: `app.py serve` on 100k rows, POST /api/simulate latency (target < 300 ms), and
  on the 8-row sample, requests per second from 8 client threads (target >= 600).
- build: a cold `scriptexec build specs/dscr.yaml --no-image` (target: no slower than 1.2 s).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SE = str(Path(sys.executable).parent / "scriptexec")
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))

HAND_WRITTEN = """
import json, sys, duckdb
src, out = sys.argv[1], sys.argv[2]
db = duckdb.connect()
db.execute(f'''CREATE TABLE r AS SELECT *, noi / annual_debt_service AS dscr,
  noi / annual_debt_service < 1.25 AS breach, noi - 1.25 * annual_debt_service AS headroom
  FROM (SELECT *, gross_revenue - operating_expenses AS noi FROM read_csv('{src}'))''')
db.execute(f"COPY r TO '{out}/results.csv' (HEADER)")
s = db.execute('''SELECT sum(noi) / sum(annual_debt_service), count(*) FILTER (WHERE breach),
  min(dscr), sum(noi) FROM r''').fetchone()
json.dump(dict(zip(["portfolio_dscr", "properties_in_breach", "lowest_dscr", "total_noi"], s)),
          open(f"{out}/summary.json", "w"))
"""


def write_rows(path: Path, rows: int) -> None:
    rng = random.Random(12)
    with path.open("w", encoding="utf-8") as f:
        f.write("property_id,name,gross_revenue,operating_expenses,annual_debt_service\n")
        for n in range(1, rows + 1):
            revenue = rng.randint(50_000, 2_000_000)
            expenses = int(revenue * rng.uniform(0.2, 0.7))
            debt = int((revenue - expenses) / rng.uniform(0.8, 2.0))
            f.write(f"P{n},Property {n},{revenue},{expenses},{debt}\n")


def build_dscr(root: Path) -> Path:
    shutil.copytree(REPO / "specs", root / "specs")
    proc = subprocess.run(
        [SE, "build", "specs/dscr.yaml", "--no-image"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"build failed:\n{proc.stdout}{proc.stderr}")
    return root / "build" / "dscr"


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a child process, measured from outside with wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return took, usage.ru_maxrss / 1024


def bench_run() -> None:
    with tempfile.TemporaryDirectory(prefix="scriptexec-bench-") as tmp:
        root = Path(tmp)
        program = build_dscr(root)
        data = root / "properties.csv"
        write_rows(data, ROWS)
        size = data.stat().st_size / 1e6
        print(f"  dscr on {ROWS:,} rows ({size:.0f} MB CSV):")
        env = {
            "PROPERTIES_LOCATION": str(data),
            "OUTPUT_DIR": str(root / "out"),
            "LOG_DIR": str(root / "logs"),
            "EXPORTS_KEEP": "0",
        }
        (root / "hand").mkdir()
        script = root / "hand.py"
        script.write_text(HAND_WRITTEN)
        app_times, hand_times, app_rss, hand_rss = [], [], [], []
        for _ in range(3):
            t, rss = measured([sys.executable, str(program / "app.py"), "run"], env)
            app_times.append(t)
            app_rss.append(rss)
            t, rss = measured([sys.executable, str(script), str(data), str(root / "hand")])
            hand_times.append(t)
            hand_rss.append(rss)
        app, hand = statistics.median(app_times), statistics.median(hand_times)
        print(f"    app.py run            {app:6.2f} s   peak RSS {max(app_rss):6.0f} MB")
        print(f"    hand-written DuckDB   {hand:6.2f} s   peak RSS {max(hand_rss):6.0f} MB")
        print(f"    ratio {app / hand:.2f}x   (targets: within 1.5x, RSS under 500 MB)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serving(program: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(program / "app.py"), "serve"],
        env={**os.environ, **env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def simulate(url: str, change: int) -> None:
    body = json.dumps({"revenue_change_pct": change}).encode()
    request = urllib.request.Request(
        url + "/api/simulate", body, {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=30).read()


def bench_simulate() -> None:
    with tempfile.TemporaryDirectory(prefix="scriptexec-bench-") as tmp:
        root = Path(tmp)
        program = build_dscr(root)
        data = root / "properties.csv"
        write_rows(data, 100_000)
        env = {"LOG_DIR": str(root / "logs"), "LOG_LEVEL": "WARNING"}
        proc, url = serving(program, {**env, "PROPERTIES_LOCATION": str(data)})
        try:
            times = []
            for n in range(20):
                start = time.perf_counter()
                simulate(url, n % 10)
                times.append(time.perf_counter() - start)
            print(
                f"  /api/simulate on 100,000 rows: median {statistics.median(times) * 1000:.0f} ms,"
                f" worst {max(times) * 1000:.0f} ms   (target < 300 ms)"
            )
        finally:
            proc.terminate()
            proc.wait()
        proc, url = serving(program, env)  # the 8-row sample in data/
        try:
            done = []
            stop = time.perf_counter() + 5

            def client() -> None:
                n = 0
                while time.perf_counter() < stop:
                    simulate(url, n % 10)
                    n += 1
                done.append(n)

            threads = [threading.Thread(target=client) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(
                f"  /api/simulate on the 8-row sample, 8 clients: {sum(done) / 5:.0f} requests/s"
                "   (target >= 600)"
            )
        finally:
            proc.terminate()
            proc.wait()


def bench_build() -> None:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory(prefix="scriptexec-bench-") as tmp:
            start = time.perf_counter()
            build_dscr(Path(tmp))
            times.append(time.perf_counter() - start)
    print(
        f"  cold build of dscr (--no-image): median {statistics.median(times):.2f} s"
        "   (target: no slower than 1.2 s)"
    )


SECTIONS = {"run": bench_run, "simulate": bench_simulate, "build": bench_build}


def main() -> None:
    chosen = sys.argv[1:] or list(SECTIONS)
    print(f"scriptexec program bench on {os.cpu_count()} cores")
    for name in chosen:
        SECTIONS[name]()


if __name__ == "__main__":
    main()
