"""The HTML report (report.html, /api/download?format=html) as a reader meets it."""

from __future__ import annotations

import re
from pathlib import Path

from .helpers import LOWEST_DSCR, NEAR_COVENANT_CSV, model, render, run


def cells(report: str, heading: str) -> list[list[str]]:
    """The body cells of the table under <h2>heading</h2>, row by row."""
    table = report.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1])
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def card(report: str, label: str) -> str:
    found = re.search(
        rf'<div class="label">{label}</div><div class="value[^"]*">(.*?)</div>', report
    )
    assert found, report
    return found.group(1)


def test_the_report_shows_parameters_figures_and_columns_sensibly(tmp_path: Path) -> None:
    spec = model("dscr")
    spec["summary"].append(LOWEST_DSCR)
    program = render(spec, tmp_path / "near", {"data/properties.csv": NEAR_COVENANT_CSV})
    result = run(program, "run")
    assert result.code == 0, result
    report = (program / "results" / "report.html").read_text()
    # parameters as a person writes them, with their units: not 0.0000
    assert cells(report, "Parameters") == [
        ["Revenue change", "0 %"],
        ["Expense change", "0 %"],
        ["Covenant", "1.25"],
    ]
    # 249,660 / 200,000 = 1.2483 is under the 1.25 covenant: it must not read 1.25
    assert card(report, "Portfolio DSCR") == "1.248"
    assert 'class="value bad"' in report
    # one number of decimals for every DSCR: the figures and the column (1.6, 0.8966)
    assert card(report, "Lowest DSCR") == "0.897"
    rows = cells(report, "Results")
    assert [row[6] for row in rows] == ["1.600", "0.897"]
    assert [row[7] for row in rows] == ["No", "Yes"]
    assert '<td class="bad">Yes</td>' in report  # a breach is bad news
