"""A check that times out names what the program was computing (the rows, the summary, a
prose step), and the checks after it are not run (each would only wait out the same
timeout again)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from scriptexec.acceptance import input_declarations, run_checks

from .helpers import check, model, render

# A query that runs for hours inside DuckDB (a trillion-row cross join) without using
# memory: only a watchdog thread can say where the program is.
ENDLESS = " CROSS JOIN range(1000000000000)"


@pytest.mark.parametrize(
    "table, doing",
    [
        ("source", "computing the rows (compute)"),
        ("results", "computing the summary"),
    ],
)
def test_a_timeout_names_the_query_and_stops_the_checks(
    tmp_path: Path, table: str, doing: str
) -> None:
    program = render(model("dscr"), tmp_path / "program")
    app = program / "app.py"
    source = app.read_text(encoding="utf-8")
    # the rows query is the one that reads source, the summary the one that reads results
    slowed, found = re.subn(rf"FROM {table}\b", f"FROM {table}{ENDLESS}", source)
    assert found == 1
    app.write_text(slowed)
    checks = [check("first"), check("second"), check("third")]
    started = time.monotonic()
    report = run_checks(
        program, checks, input_declarations(model("dscr")), workdir=tmp_path / "work", timeout=2
    )
    elapsed = time.monotonic() - started
    assert [r.failures for r in report.results] == [
        [f"  the program did not finish within 2s; it was {doing}"],
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
