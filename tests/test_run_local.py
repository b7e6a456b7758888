"""`scriptexec run --local` and `scriptexec watch --run --local` run the built program."""

from __future__ import annotations

import csv
from pathlib import Path

from watch_process import WatchProcess

SPEC = "specs/amortization.yaml"


def test_run_local_batch_writes_results(project: Path, cli) -> None:
    cli("build", SPEC, "--no-image", cwd=project)
    out = cli("run", SPEC, "--local", cwd=project).output
    assert "creating a virtual environment" in out
    results = project / "build" / "amortization" / "results" / "results.csv"
    rows = list(csv.DictReader(results.open()))
    assert len(rows) == 36 + 24 + 12  # one row per monthly payment of the three loans
    last = [r for r in rows if r["loan_id"] == "LN-2003"][-1]
    assert float(last["closing_balance"]) == 0  # the interest-free loan is paid off


def test_run_before_build_says_what_to_do(project: Path, cli) -> None:
    out = cli("run", SPEC, "--local", cwd=project, expect=2).output
    assert "is not built" in out and "scriptexec build specs/amortization.yaml" in out


def test_watch_run_restarts_the_program_after_a_rebuild(project: Path, cli) -> None:
    cli("build", SPEC, "--no-image", cwd=project)
    w = WatchProcess(project, SPEC, "--run", "--local", "--debounce", "50")
    try:
        spec = project / SPEC
        spec.write_text(spec.read_text().replace("interest: opening_balance * monthly_rate", "interest: monthly_rate * opening_balance"))
        w.wait_for(r"amortization: rebuilt in", timeout=60)
        w.wait_for(r"amortization \| ", timeout=120)  # the program's own output
        w.wait_for(r"amortization: program exited with 0", timeout=120)
    finally:
        assert w.stop() == 130
    assert (project / "build" / "amortization" / "results" / "results.csv").is_file()
    assert w.leftover_processes() == []
