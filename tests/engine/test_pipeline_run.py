"""A pipeline end to end, with real processes: build, run the upstream's program, then
the downstream's, which reads what the upstream wrote (CSV or parquet) and gives
numbers worked out by hand here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scriptexec.process import clean_env

# Three units: a property whose name starts with '-' (rent_roll's results.csv writes it
# as '-East against spreadsheet formulas; the downstream must read -East), a vacancy.
UNITS = """\
unit_id,property,property_type,sqft,monthly_rent,market_rent,occupied
A1,-East,residential,800,1000,1200,true
A2,-East,residential,900,,1300,false
B1,West,office,2000,5000,5000,true
"""


def run(
    program: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py", "run", *args],
        cwd=program,
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
    )


def document(program: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run(program, "--json", env=env)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_downstream_reads_what_the_upstream_program_wrote(project: Path, cli) -> None:
    (project / "specs" / "data" / "units.csv").write_text(UNITS)
    cli("build", "specs/portfolio_rents.yaml", "--no-image", cwd=project)
    up, down = project / "build" / "rent_roll", project / "build" / "portfolio_rents"

    # Before the upstream ran there is nothing to read, and the error says what to do.
    early = run(down)
    assert early.returncode == 1
    assert (
        "error: ../rent_roll/results/results.csv: no such file: units reads the results of"
        " rent_roll; run its program first, or set UNITS_LOCATION"
    ) in early.stderr

    assert run(up).returncode == 0
    assert "\nA1,'-East," in (up / "results" / "results.csv").read_text()  # quoted there
    result = document(down)
    # rent_roll (expense ratios: residential 42%, office 35%; no market growth):
    #   A1: rent 1000 * 12 = 12000, gap 1200 - 1000 = 200, noi 12000 * 0.58 = 6960
    #   A2: vacant: rent 0, gap 0, noi 0, market 1300
    #   B1: rent 5000 * 12 = 60000, gap 0, noi 60000 * 0.65 = 39000
    # portfolio_rents (vacancy_months 12):
    #   A1: potential 1200 * 12 = 14400, loss 0, gap 200 * 12 = 2400
    #   A2: potential 1300 * 12 = 15600, loss 1300 * 12 = 15600, gap 0
    #   B1: potential 5000 * 12 = 60000, loss 0, gap 0
    groups = {g["property"]: g for g in result["groups"]}
    assert list(groups) == ["-East", "West"]
    east, west = groups["-East"], groups["West"]
    assert (east["units"], east["occupied_units"]) == (2, 1)
    assert east["annual_rent"] == 12000 and east["vacancy_loss"] == 15600
    assert east["gap_to_market"] == 2400
    assert east["estimated_noi"] == pytest.approx(6960)
    assert (west["units"], west["annual_rent"], west["vacancy_loss"]) == (1, 60000, 0)
    assert west["estimated_noi"] == pytest.approx(39000)
    summary = result["summary"]
    assert summary["annual_rent"] == 12000 + 60000
    assert summary["total_noi"] == pytest.approx(6960 + 39000)
    assert summary["vacancy_loss_total"] == 15600
    # 72000 / (14400 + 15600 + 60000) = 72000 / 90000
    assert summary["economic_occupancy"] == pytest.approx(0.8)

    # UNITS_LOCATION points elsewhere: here, a copy with B1 alone.
    lines = (up / "results" / "results.csv").read_text().splitlines()
    other = project / "b1.csv"
    other.write_text("\n".join([lines[0], lines[3]]) + "\n")
    only = document(down, {"UNITS_LOCATION": str(other)})
    assert [g["property"] for g in only["groups"]] == ["West"]
    assert only["summary"]["annual_rent"] == 60000


UPSTREAM = """\
version: 1
name: orders
inputs:
  lines:
    format: csv
    location: data/lines.csv
    fields: {id: string, qty: integer, price: number, note: string?}
compute:
  amount: qty * price
  big: amount > 100
outputs: [results.parquet]
"""
DOWNSTREAM = """\
version: 1
name: order_totals
inputs:
  orders:
    from: orders
compute:
  doubled: amount * 2
summary:
  total: sum(doubled)
  big_orders: count(big)
outputs: [results.json, summary.json]
checks:
  - name: doubles
    given: {orders: [{id: X, qty: 1, price: 2, amount: 2, big: false}]}
    expect: {rows: [{id: X, doubled: 4}]}   # 2 * 2
"""


def test_a_parquet_upstream_keeps_every_value_exact(tree, cli) -> None:
    root = tree(
        {
            "specs": {
                "orders.yaml": UPSTREAM,
                "order_totals.yaml": DOWNSTREAM,
                "data": {"lines.csv": "id,qty,price,note\n=A,2,10.5,\nB,30,5,hi\n"},
            }
        }
    )
    cli("build", "--no-image", cwd=root)
    assert run(root / "build" / "orders").returncode == 0
    assert (root / "build" / "orders" / "results" / "results.parquet").is_file()
    result = document(root / "build" / "order_totals")
    # =A: amount 2 * 10.5 = 21, not big, doubled 42; B: 30 * 5 = 150, big, doubled 300
    assert [(r["id"], r["qty"], r["note"], r["doubled"]) for r in result["rows"]] == [
        ("=A", 2, None, 42),
        ("B", 30, "hi", 300),
    ]
    assert result["summary"] == {"total": 42 + 300, "big_orders": 1}
