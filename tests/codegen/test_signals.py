"""SIGTERM (what `docker stop` sends) ends a generated program cleanly, with a log line:
`serve` finishes the request in flight and exits 0; `run` stops with exit code 143.

Real processes and real signals. DuckDB computes tens of thousands of rows in
milliseconds, so the program's rows query is made slow (about two seconds of work inside
DuckDB) when the covenant is 1.3: the run or the simulation that asks for it is still
computing when the signal arrives.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scriptexec.process import clean_env

from .helpers import Server, model, render

ROWS = 60_000
HEADER = "property_id,name,gross_revenue,operating_expenses,annual_debt_service"


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [HEADER, *(f"P{i},Name {i},200000,75000,100000" for i in range(ROWS))]
    root = tmp_path_factory.mktemp("signals")
    program = render(model("dscr"), root / "dscr", {"data/properties.csv": "\n".join(rows) + "\n"})
    app = program / "app.py"
    slowed, found = re.subn(r'ROWS_SQL = """(.*?)"""', _slow_rows, app.read_text(), flags=re.S)
    assert found == 1
    app.write_text(slowed)
    return program


def _slow_rows(match: re.Match[str]) -> str:
    busy = "SELECT sum(sqrt(range)) FROM range(CASE WHEN $covenant = 1.3 THEN 400000000 ELSE 0 END)"
    return f'ROWS_SQL = """SELECT * FROM ({match.group(1)}) WHERE coalesce(({busy}), 0) >= 0"""'


def wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        assert process.poll() is None, path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_serve_finishes_the_request_in_flight_then_exits_0(program: Path) -> None:
    server = Server(program)
    answer: dict[str, Any] = {}

    def simulate() -> None:
        answer["status"], answer["body"] = server.json("POST", "/api/simulate", {"covenant": 1.3})

    client = threading.Thread(target=simulate)
    client.start()
    # This simulation takes about two seconds; the signal comes while it computes.
    wait_for(server.log_path, "loaded", server.process)
    time.sleep(0.3)
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=20)
    client.join(timeout=20)
    log = server.log_path.read_text()
    assert code == 0, log
    assert answer["status"] == 200, log
    assert answer["body"]["summary"]["properties_in_breach"] == ROWS  # dscr 1.25 < 1.3
    assert "SIGTERM: stopping; finishing 1 request(s) in flight" in log
    assert log.rstrip().endswith("stopped")


def test_serve_exits_0_at_once_when_idle(program: Path) -> None:
    server = Server(program)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    assert "finishing 0 request(s) in flight" in server.log_path.read_text()


def test_run_stops_with_143_and_says_why(program: Path) -> None:
    err = program / "run.err"
    with err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(program / "app.py"), "run", "--param", "covenant=1.3"],
            cwd=program,
            env=clean_env(
                OUTPUT_DIR=str(program / "results"),
                LOG_DIR=str(program / "logs"),
                EXPORTS_DIR=str(program / "exports"),
            ),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        # "loaded" is logged after the handler is in place, before the (slow) rows query.
        wait_for(err, "loaded", process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    text = err.read_text()
    assert code == 143, text
    assert "stopped by SIGTERM before the run ended" in text
    assert "error: terminated (SIGTERM), exit code 143" in text
