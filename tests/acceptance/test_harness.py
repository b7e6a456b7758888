"""The acceptance harness: checks that pass, fail readably, time out or crash."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scriptexec.acceptance import (
    DEFAULT_TOLERANCE,
    Report,
    compare,
    input_declarations,
    run_checks,
    same,
    sandbox,
)

from .helpers import check, model, render, write_program


@pytest.fixture(scope="module")
def dscr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(model("dscr"), tmp_path_factory.mktemp("dscr") / "program")


def run(
    program: Path, checks: list[dict[str, Any]], tmp_path: Path, name: str = "dscr", **kw: Any
) -> Report:
    decls = input_declarations(model(name)) if name else []
    return run_checks(program, checks, decls, workdir=tmp_path / "work", **kw)


def test_a_passing_check(dscr: Path, tmp_path: Path) -> None:
    passing = check(
        rows=[{"property_id": "P1", "noi": 125000, "dscr": 1.25, "breach": False, "error": None}],
        summary={"portfolio_dscr": 1.25, "properties_in_breach": 0},
        row_count=1,
    )
    report = run(dscr, [passing], tmp_path)
    assert report.failed == [], report.failure_message()
    assert report.to_json()["results"] == [
        {"name": "at the covenant", "passed": True, "failures": []}
    ]


def test_a_failing_check_shows_expected_against_actual(dscr: Path, tmp_path: Path) -> None:
    failing = check(
        "a wrong expectation",
        rows=[{"property_id": "P1", "dscr": 1.3, "breach": True}],
        summary={"portfolio_dscr": 1.25, "properties_in_breach": 1},
        row_count=2,
    )
    report = run(dscr, [check(), failing], tmp_path)
    assert [r.passed for r in report.results] == [True, False], report.failure_message()
    assert report.failed[0].failures == [
        "  - row count: 2",
        "  + row count: 1",
        "  row 1:",
        '      property_id: "P1"',
        "    - dscr: 1.3",
        "    + dscr: 1.25",
        "    - breach: true",
        "    + breach: false",
        "  summary:",
        "      portfolio_dscr: 1.25",
        "    - properties_in_breach: 1",
        "    + properties_in_breach: 0",
    ]
    message = report.failure_message()
    assert message.startswith("1 of 2 checks failed (isolation: ")
    assert '\ncheck "a wrong expectation":\n  - row count: 2\n' in message


def test_parameters_reach_the_program(dscr: Path, tmp_path: Path) -> None:
    # 10% less revenue: noi = 180,000 - 75,000 = 105,000, dscr 1.05 < 1.25
    shifted = check(parameters={"revenue_change_pct": -10}, rows=[{"noi": 105000, "breach": True}])
    assert run(dscr, [shifted], tmp_path).failed == []


def test_rows_in_error_and_missing_fields(dscr: Path, tmp_path: Path) -> None:
    zero = check(rows=[{"dscr": None, "error": "division by zero in dscr"}, {"dscr": 1.5}])
    zero["given"]["properties"][0]["annual_debt_service"] = 0
    result = run(dscr, [zero], tmp_path).results[0]
    assert result.failures == ["  row 2: missing", "    - dscr: 1.5"]
    misnamed = check(rows=[{"dcsr": 1.25}])
    result = run(dscr, [misnamed], tmp_path / "2").results[0]
    assert result.failures == ["  row 1:", "    - dcsr: 1.25", "    + dcsr: (no such field)"]


def test_an_expected_failure(dscr: Path, tmp_path: Path) -> None:
    bad = check(error="field gross_revenue: expected a number")
    bad["given"]["properties"][0]["gross_revenue"] = "a lot"
    wrong_text = check(error="division by zero")
    wrong_text["given"] = bad["given"]
    succeeds = check(error="division by zero")
    report = run(dscr, [bad, wrong_text, succeeds], tmp_path)
    assert [r.passed for r in report.results] == [True, False, False]
    assert report.results[1].failures == [
        "  - the run fails with: division by zero",
        "  + it failed with: inputs/properties.csv, line 2, field gross_revenue:"
        " expected a number, got 'a lot'",
    ]
    assert report.results[2].failures == [
        "  - the run fails with: division by zero",
        "  + it succeeded",
    ]


def test_a_program_that_hangs_times_out(tmp_path: Path) -> None:
    program = write_program({"app.py": b"import time\ntime.sleep(60)\n"}, tmp_path / "program")
    report = run(program, [check()], tmp_path, timeout=1)
    assert report.results[0].failures == ["  the program did not finish within 1s"]


def test_a_program_that_crashes(tmp_path: Path) -> None:
    program = write_program({"app.py": b"raise RuntimeError('boom')\n"}, tmp_path / "program")
    failures = run(program, [check()], tmp_path).results[0].failures
    assert failures[0] == "  the program failed (exit code 1):"
    assert "RuntimeError: boom" in failures[1]


def test_a_generated_program_crash_shows_the_logged_traceback(tmp_path: Path) -> None:
    program = render(model("dscr"), tmp_path / "program")
    app = program / "app.py"  # a compiler bug: a query naming a table that does not exist
    app.write_text(app.read_text().replace("FROM source", "FROM no_such_table"))
    failures = run(program, [check()], tmp_path).results[0].failures
    assert "error: unexpected failure (a bug in dscr)" in failures[1]
    assert any("no_such_table does not exist" in line for line in failures[2:])


def test_a_program_that_prints_no_json(tmp_path: Path) -> None:
    program = write_program({"app.py": b"print('hello')\n"}, tmp_path / "program")
    failures = run(program, [check()], tmp_path).results[0].failures
    assert failures == ["  the program did not print its JSON result:", "    hello"]


def test_given_rows_for_an_unknown_input(dscr: Path, tmp_path: Path) -> None:
    odd = check()
    odd["given"]["propertys"] = []
    failures = run(dscr, [odd], tmp_path).results[0].failures
    assert failures == ["  given names no input of the spec: propertys"]


# -- every input format ------------------------------------------------------------------


def test_sqlite_input_with_groups(tmp_path: Path) -> None:
    program = render(model("inventory"), tmp_path / "program")
    given = {
        "stock": [
            {
                "sku": "S1",
                "category": "tools",
                "on_hand": 50,
                "daily_demand": 10,
                "lead_time_days": 5,
                "unit_cost": 2.5,
            },
            {
                "sku": "S2",
                "category": "tools",
                "on_hand": 500,
                "daily_demand": 4,
                "lead_time_days": 10,
                "unit_cost": 1,
            },
        ]
    }
    # S1: point 10 * (5 + 7) = 120 > 50, order 2 * 120 - 50 = 190 at 2.50 = 475
    inventory = {
        "name": "reorder",
        "given": given,
        "expect": {
            "rows": [{"sku": "S1", "order_qty": 190}, {"sku": "S2", "reorder": False}],
            "summary": {"items_to_reorder": 1, "total_order_value": 475},
        },
    }
    report = run(program, [inventory], tmp_path, name="inventory")
    assert report.failed == [], report.failure_message()


def test_sqlite_query_uses_the_fixture(tmp_path: Path) -> None:
    queried = model("inventory")
    queried["inputs"][0].update(table=None, query="SELECT * FROM elsewhere")
    program = render(queried, tmp_path / "program")
    given = {
        "stock": [
            {
                "sku": "S9",
                "category": "c",
                "on_hand": 1,
                "daily_demand": 1,
                "lead_time_days": 1,
                "unit_cost": 1,
            }
        ]
    }
    only = {"name": "q", "given": given, "expect": {"rows": [{"sku": "S9", "reorder": True}]}}
    report = run_checks(program, [only], input_declarations(queried), workdir=tmp_path / "w")
    assert report.failed == [], report.failure_message()


def test_csv_joined_with_json_records(tmp_path: Path) -> None:
    program = render(model("rent_roll"), tmp_path / "program")
    roll = {
        "name": "join",
        "given": {
            "units": [
                {
                    "unit_id": "U1",
                    "property": "M",
                    "unit_type": "1BR",
                    "sqft": 500,
                    "occupied": True,
                    "monthly_rent": 900,
                }
            ],
            "market": [{"unit_type": "1BR", "market_rent_psf": 2}],
        },
        # market rent 500 * 2 = 1,000; 900 < 950: below market; 0.9 is not under 0.9: "market"
        "expect": {
            "rows": [{"market_rent": 1000, "below_market": True, "rent_band": "market"}],
            "summary": {"occupancy": 1, "annual_rent_roll": 10800},
        },
    }
    report = run(program, [roll], tmp_path, name="rent_roll")
    assert report.failed == [], report.failure_message()


def test_repeat_rows(tmp_path: Path) -> None:
    program = render(model("loan"), tmp_path / "program")
    loan = {
        "name": "two months at 12%",
        "given": {
            "loans": [
                {
                    "loan_id": "L",
                    "borrower": "B",
                    "principal": 1000,
                    "annual_rate_pct": 12,
                    "term_months": 2,
                }
            ]
        },
        # p = 1000 * 1.01^2 / (1.01 + 1) = 1020.1 / 2.01
        "expect": {
            "row_count": 2,
            "rows": [{"period": 1, "payment": 1020.1 / 2.01, "interest": 10}],
        },
    }
    report = run(program, [loan], tmp_path, name="loan")
    assert report.failed == [], report.failure_message()


@pytest.mark.parametrize("fmt", ["http", "postgres"])
def test_network_inputs_use_the_fixture(tmp_path: Path, fmt: str) -> None:
    remote = model("dscr")
    remote["inputs"][0].update(
        format=fmt, location="https://example.invalid/p" if fmt == "http" else None
    )
    program = render(remote, tmp_path / "program")
    report = run_checks(
        program, [check(rows=[{"dscr": 1.25}])], input_declarations(remote), workdir=tmp_path / "w"
    )
    assert report.failed == [], report.failure_message()


# -- isolation -------------------------------------------------------------------------------

PROBE = b"""
import json, os, socket, sys
port = int(os.environ["PROBE_PORT"])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    net = "open"
except OSError:
    net = "blocked"
try:
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "written"), "w").close()
    write = "open"
except OSError:
    write = "blocked"
print(json.dumps({"rows": [{"net": net, "write": write}], "summary": {}}))
"""


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_checks_run_without_network_and_read_only(
    tmp_path: Path, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = sandbox()
    if not box.prefix:
        pytest.skip(f"no isolation on this machine: {box.description}")
    program = write_program({"app.py": PROBE}, tmp_path / "program")
    monkeypatch.setattr(
        "scriptexec.acceptance.clean_env",
        lambda **kw: {"PATH": "/usr/bin:/bin", "PROBE_PORT": str(listener), **kw},
    )
    isolated = check(rows=[{"net": "blocked", "write": "blocked"}])
    report = run(program, [isolated], tmp_path)
    assert report.failed == [], report.failure_message()
    assert report.isolation.startswith("bubblewrap: no network")


@pytest.fixture
def fresh_probe() -> Iterator[None]:
    sandbox.cache_clear()
    yield
    sandbox.cache_clear()


def test_without_bubblewrap_the_report_says_so(
    dscr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setattr("scriptexec.acceptance.shutil.which", lambda name: None)
    report = run(dscr, [check()], tmp_path)
    assert report.failed == []
    assert report.isolation == (
        "none: bubblewrap (bwrap) is not installed; checks could use the network"
    )


def test_a_bubblewrap_that_fails_is_not_used(
    dscr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    report = run(dscr, [check()], tmp_path)
    assert report.failed == []
    assert report.isolation == (
        "none: bubblewrap does not work here (bwrap: No permissions to create new namespace);"
        " checks could use the network"
    )


# -- comparing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        (1.25, 1.2500001, True),
        (1.25, 1.2500011, False),
        (1e12, 1e12 + 900, True),  # 1e-6 + 1e-9 * 1e12 = 1000.000001
        (0, 0.0, True),
        (False, 0, False),
        (True, 1.0, False),
        (None, None, True),
        (None, 0, False),
        ("P1", "P1", True),
        (float("inf"), float("inf"), True),
    ],
)
def test_same(expected: Any, actual: Any, equal: bool) -> None:
    assert same(expected, actual, DEFAULT_TOLERANCE) is equal


def test_compare_reports_summary_problems() -> None:
    result = {"rows": [], "summary": {"x": None}, "summary_errors": ["division by zero in x"]}
    assert compare({"summary": {"x": 1}}, result, DEFAULT_TOLERANCE) == [
        "  summary:",
        "    - x: 1",
        "    + x: null",
        "      (summary problem: division by zero in x)",
    ]


def test_report_json_is_deterministic(dscr: Path, tmp_path: Path) -> None:
    one = run(dscr, [check(), check("again", rows=[{"dscr": 2}])], tmp_path / "a").to_json()
    two = run(dscr, [check(), check("again", rows=[{"dscr": 2}])], tmp_path / "b").to_json()
    assert json.dumps(one) == json.dumps(two)
    assert one["checks"] == 2 and one["passed"] == 1 and one["failed"] == 1
