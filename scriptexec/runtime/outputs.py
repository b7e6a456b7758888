"""What a batch run writes: the spec's outputs under OUTPUT_DIR, each written once, then a
dated export set under EXPORTS_DIR that reuses them.

Outputs: results.csv, results.json and results.parquet (every row, written by DuckDB),
summary.json (the figures), groups.csv (with `groups`, always), report.html (the report,
at most REPORT_ROWS rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ProgramError
from .exports import exports_keep, write_exports
from .files import write_text
from .program import Program
from .report import report_html, report_rows
from .rowfiles import copy_rows, summary_document, to_csv
from .settings import exports_dir, output_dir
from .values import to_json

if TYPE_CHECKING:
    from .execute import Result

ROW_FORMATS = {"results.csv": "csv", "results.parquet": "parquet", "results.json": "json"}
OUTPUTS = (*ROW_FORMATS, "summary.json", "groups.csv", "report.html")


def output_names(program: Program) -> list[str]:
    """The spec's outputs, and groups.csv for a program with groups."""
    names = list(program.outputs)
    if program.group_by and "groups.csv" not in names:
        names.append("groups.csv")
    for name in names:
        if name not in OUTPUTS:
            raise ProgramError(f"unknown output {name}")
    return names


def write_outputs(result: Result) -> list[Path]:
    """The spec's outputs under OUTPUT_DIR, and a dated export set under EXPORTS_DIR;
    the paths written."""
    # Bad settings are refused before anything is written.
    keep = exports_keep()
    limit = report_rows()
    names = output_names(result.program)
    directory = output_dir()
    written: dict[str, Path] = {}
    try:
        for name in names:
            path = directory / name
            write_output(result, name, path, limit, full_results(names, keep))
            written[name] = path
        exported = write_exports(result, exports_dir(), keep, written, limit) if keep else []
    except OSError as exc:
        raise ProgramError(f"cannot write {exc.filename}: {exc.strerror}") from None
    return [*written.values(), *exported]


def full_results(names: list[str], keep: int) -> str | None:
    """Where a report cut at REPORT_ROWS says every row is: the first of this run's
    files that holds them all."""
    for name in ROW_FORMATS:
        if name in names:
            return name
    return "the .csv of this run's export set (EXPORTS_DIR)" if keep else None


def write_output(
    result: Result, name: str, path: Path, limit: int, full: str | None = None
) -> None:
    """One output file; `limit` and `full` are the report's (see report_html)."""
    if name in ROW_FORMATS:
        copy_rows(result, path, ROW_FORMATS[name])
    elif name == "summary.json":
        write_text(path, to_json(summary_document(result)))
    elif name == "groups.csv":
        program = result.program
        columns = [*program.group_by, *(g.name for g in program.group_summary), "error"]
        write_text(path, to_csv(result.groups, columns))
    elif name == "report.html":
        write_text(path, report_html(result, limit, full))
    else:
        raise ProgramError(f"unknown output {name}")
