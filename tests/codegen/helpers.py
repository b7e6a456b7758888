"""Helpers for the generated-program tests: the models, rendering, running a program."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scriptexec.codegen.render import render_program
from scriptexec.process import clean_env, run_command
from scriptexec.project import Project

MODELS = Path(__file__).parent / "models"
MODEL_NAMES = ("dscr", "loan", "inventory", "rent_roll")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # gitignored


@cache
def _load(name: str) -> str:
    return (MODELS / f"{name}.json").read_text(encoding="utf-8")


def model(name: str) -> dict[str, Any]:
    """A fresh copy of a program model (tests may change it)."""
    return copy.deepcopy(json.loads(_load(name)))


def render(
    program_model: dict[str, Any], directory: Path, data: dict[str, Any] | None = None
) -> Path:
    """Render into `directory` (the shipped templates) and write `data` files beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    files = render_program(program_model, Project(directory))
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    for name, content in (data or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


@dataclass(repr=False)
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:  # shown when an assertion about the run fails
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run(program: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """`python app.py ARGS` with outputs, logs and exports inside the program directory."""
    full_env = clean_env(
        OUTPUT_DIR=str(program / "results"),
        LOG_DIR=str(program / "logs"),
        EXPORTS_DIR=str(program / "exports"),
        PYTHONDONTWRITEBYTECODE="1",
        **(env or {}),
    )
    proc = run_command(
        [sys.executable, str(program / "app.py"), *args],
        cwd=program,
        env=full_env,
        timeout=60,
        check=False,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python app.py serve` on a free port of 127.0.0.1, for one test module.

    A long-running server cannot go through run_command (it waits for the process to end),
    so this is the one place the tests start a process with Popen.
    """

    def __init__(self, program: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = (program / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(program / "app.py"), "serve"],
            cwd=program,
            env=clean_env(
                HOST="127.0.0.1", PORT=str(self.port), LOG_DIR=str(program / "logs"), **(env or {})
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = program / "serve.log"
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not answer:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        status, _, data = self.request(method, path, body)
        return status, json.loads(data)


# Sample data for the four models, with the values worked out by hand in the tests.
DSCR_CSV = """property_id,name,gross_revenue,operating_expenses,annual_debt_service
P1,Harbor Point,200000,75000,100000
P2,Elm Street Lofts,"1,500,000",600000,650000
P3,Mill Yard,90000,70000,0
"""

# P1: noi 260,000 - 100,000 = 160,000, DSCR 1.6; P2: noi 89,660, DSCR 0.8966 (a breach).
# Portfolio DSCR = 249,660 / 200,000 = 1.2483: just under the 1.25 covenant.
NEAR_COVENANT_CSV = """property_id,name,gross_revenue,operating_expenses,annual_debt_service
P1,Harbor Point,260000,100000,100000
P2,Elm Street Lofts,189660,100000,100000
"""

LOWEST_DSCR = {  # a summary figure of the same kind as the dscr column
    "name": "lowest_dscr",
    "type": "number",
    "formula": "min(dscr)",
}

LOANS_CSV = """loan_id,borrower,principal,annual_rate_pct,term_months
L1,Ann,1200,12,3
L2,Bo,600,0,2
"""

UNITS_CSV = """unit_id,property,unit_type,sqft,occupied,monthly_rent
U1,Maple,1BR,650,true,1300
U2,Maple,2BR,900,yes,1500
U3,Maple,2BR,900,false,
U4,Oak,Studio,400,1,1200
"""

MARKET_JSON = json.dumps(
    {
        "data": {
            "rates": [
                {"unit_type": "1BR", "market_rent_psf": 2.0},
                {"unit_type": "2BR", "market_rent_psf": 2.0},
                {"unit_type": "Studio", "market_rent_psf": 2.5},
            ]
        }
    }
)

STOCK = [
    # sku, category, on_hand, daily_demand, lead_time_days, unit_cost, active
    ("S1", "tools", 50, 10.0, 5, 2.5, 1),
    ("S2", "tools", 500, 4.0, 10, 1.0, 1),
    ("S3", "paint", 30, 2.5, 3, 12.0, 1),
    ("S4", "paint", 10, 0.0, 3, 4.0, 0),
]


def write_stock_db(path: Path) -> None:
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "CREATE TABLE stock (sku TEXT, category TEXT, on_hand INTEGER, daily_demand REAL,"
            " lead_time_days INTEGER, unit_cost REAL, active INTEGER)"
        )
        connection.executemany("INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?)", STOCK)
        connection.execute("CREATE TABLE other (x TEXT)")
    connection.close()
