"""The HTML report (report.html, the exports' .html, /api/download?format=html): one
self-contained page with the key figures, the parameters, the groups and the rows.

A report holds at most REPORT_ROWS rows (and as many rows in error): a page of a million
rows is 200 MB that no browser opens. When there are more, it says how many and which
file holds them all.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .display import Judge, display, field_digits, humanize, is_number
from .settings import positive_setting

if TYPE_CHECKING:
    from .execute import Result

REPORT_ROWS = 1000  # the default of the REPORT_ROWS setting

REPORT_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;
margin:0;background:#f5f7fa}
header{background:#0f2740;color:#fff;padding:24px 40px}
header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;color:#c8d3df;max-width:70em}main{padding:24px 40px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:24px}
.card{background:#fff;border:1px solid #e1e6ec;border-radius:8px;padding:14px 18px;
min-width:160px}
.card .label{color:#5b6b7c;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin-top:4px}
h2{font-size:16px;margin:28px 0 10px}
table{border-collapse:collapse;background:#fff;border:1px solid #e1e6ec;font-size:13px}
th,td{padding:6px 12px;border-bottom:1px solid #eef1f4;text-align:left}
th{background:#f0f3f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td{background:#fdf0f0}.muted{color:#5b6b7c}
.bad{color:#c23b3b}td.bad{font-weight:600}td.good{color:#1d7a4f;font-weight:600}
"""


def report_rows() -> int:
    """REPORT_ROWS: how many rows (and rows in error) a report shows at most."""
    return positive_setting("REPORT_ROWS", REPORT_ROWS)


def report_html(result: Result, limit: int, full_results: str | None = None) -> str:
    """The report of `result` with at most `limit` rows; `full_results` names where all
    of them are (a file beside the report, a download), for the note shown when the
    report has fewer."""
    program = result.program
    judge = Judge(program.judged, result.parameters, result.summary)
    rows = result.rows(0, limit)
    digits = field_digits(judge, [*rows, *result.groups])
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    counts = f"{result.row_count} rows, {result.error_count} in error"
    parts = [
        f"<header><h1>{html.escape(program.title)}</h1>",
        f"<p>{html.escape(program.description)}</p></header><main>",
        f'<p class="muted">{counts}. Made {made}.</p>',
        f'<div class="cards">{_cards(result.summary, judge, digits)}</div>',
    ]
    if program.parameters:
        parts += [
            "<h2>Parameters</h2>",
            html_table(_parameter_rows(result), ["parameter", "value"]),
        ]
    if result.groups:
        columns = [*program.group_by, *(g.name for g in program.group_summary)]
        parts += ["<h2>Groups</h2>", html_table(result.groups, columns, judge, digits)]
    parts += ["<h2>Results</h2>", html_table(rows, result.columns, judge, digits)]
    if len(rows) < result.row_count:
        parts.append(_first_of(len(rows), result.row_count, "rows", full_results))
    if result.errors:
        errors = result.errors[:limit]
        parts += ["<h2>Rows in error</h2>", html_table(errors, ["row", "error"])]
        if len(errors) < result.error_count:
            parts.append(_first_of(len(errors), result.error_count, "rows in error", None))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(program.title)}</title><style>{REPORT_CSS}</style></head>"
        f"<body>{''.join(parts)}</main></body></html>\n"
    )


def _cards(summary: Mapping[str, Any], judge: Judge, digits: Mapping[str, int]) -> str:
    return "".join(
        f'<div class="card"><div class="label">{html.escape(humanize(name))}</div>'
        f'<div class="value{" bad" if judge.is_bad(name, value) else ""}">'
        f"{html.escape(display(value, digits.get(judge.family(name))))}</div></div>"
        for name, value in summary.items()
    )


def _parameter_rows(result: Result) -> list[dict[str, Any]]:
    """The parameters as a person writes them, with their units (0 %, 1.25)."""
    return [
        {
            "parameter": p.label or humanize(p.name),
            "value": f"{display(result.parameters[p.name])} {p.unit or ''}".strip(),
        }
        for p in result.program.parameters
    ]


def _first_of(shown: int, total: int, what: str, full_results: str | None) -> str:
    """The note under a table cut at REPORT_ROWS."""
    text = f"The first {shown:,} of {total:,} {what} (REPORT_ROWS)"
    text += f"; all of them are in {full_results}." if full_results else "."
    return f'<p class="muted">{html.escape(text)}</p>'


def html_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    judge: Judge | None = None,
    digits: Mapping[str, int] | None = None,
) -> str:
    """A table of `rows`; with `judge`, a value under its threshold is marked bad and a
    true that the spec calls bad (or good) news is marked so."""
    head = "".join(f"<th>{html.escape(humanize(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            classes = ["num"] if is_number(value) else []
            if judge is not None:
                if judge.has_threshold(column) and judge.is_bad(column, value):
                    classes.append("bad")
                flag = judge.flag(column, value)
                if flag:
                    classes.append(flag)
            css = f' class="{" ".join(classes)}"' if classes else ""
            text = display(value, (digits or {}).get(column))
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        error = ' class="error"' if row.get("error") else ""
        body.append(f"<tr{error}>{''.join(cells)}</tr>")
    rows_html = "".join(body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>"
