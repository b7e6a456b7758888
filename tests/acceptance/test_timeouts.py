"""A check that times out names the formula the program was computing, and the checks
after it are not run (each would only wait out the same timeout again)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scriptexec.acceptance import input_declarations, run_checks

from .helpers import check, model, render

# Runs inside one C call for hours, without using memory: only a watchdog thread can say
# where the program is.
ENDLESS = "sum(range(10 ** 15))"


@pytest.mark.parametrize(
    "block, name, key",
    [
        ("compute", "dscr", "compute.dscr"),
        ("summary", "portfolio_dscr", "summary.portfolio_dscr"),
    ],
)
def test_a_timeout_names_the_formula_and_stops_the_checks(
    tmp_path: Path, block: str, name: str, key: str
) -> None:
    slow = model("dscr")
    item = next(i for i in slow[block] if i["name"] == name)
    item["python"] = ENDLESS
    program = render(slow, tmp_path / "program")
    checks = [check("first"), check("second"), check("third")]
    started = time.monotonic()
    report = run_checks(
        program, checks, input_declarations(slow), workdir=tmp_path / "work", timeout=2
    )
    elapsed = time.monotonic() - started
    assert [r.failures for r in report.results] == [
        [f"  the program did not finish within 2s; it was computing {key}"],
        ['  not run: check "first" timed out'],
        ['  not run: check "first" timed out'],
    ]
    # One timeout (2 s) and the program's start, not three of them.
    assert elapsed < 2 * 2, elapsed
    assert report.failure_message().startswith("3 of 3 checks failed")


def test_a_program_without_the_watchdog_is_killed_after_a_grace(tmp_path: Path) -> None:
    program = render(model("dscr"), tmp_path / "program")
    (program / "app.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    report = run_checks(
        program,
        [check(), check("next")],
        input_declarations(model("dscr")),
        workdir=tmp_path / "work",
        timeout=1,
    )
    assert [r.failures for r in report.results] == [
        ["  the program did not finish within 1s"],
        ['  not run: check "at the covenant" timed out'],
    ]
