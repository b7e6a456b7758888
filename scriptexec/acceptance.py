"""Run a generated program on a spec's checks and compare what it produces.

Each check runs in a temporary directory of its own: the check's rows are written there in
each input's own format (csv, json, sqlite; postgres and http inputs through the program's
`<INPUT>_FIXTURE` variable), with fresh output, log and export directories. The program
runs in batch mode (`app.py run --json`, standard library only) with a timeout. Where
bubblewrap works, it also runs without network and sees the machine read-only except for
that directory; where it does not, the report says so.

The timeout is the program's own TIME_LIMIT first: its watchdog thread prints the stack,
which names the formula being computed, even from inside one endless C call. The harness
kills the program a few seconds later if it is still running (a program that is not
generated has no watchdog). After a check times out the later checks are not run: each
would most likely wait out the same timeout.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import math
import re
import shutil
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.codegen import fixture_env
from scriptexec.errors import ExternalCommandError, Interrupted
from scriptexec.process import clean_env, run_command
from scriptexec.spec.date_values import as_date, parse_datetime

# Bump when the way checks are run or compared changes: it is part of the test stage's key,
# so every cached test result is redone.
HARNESS_VERSION = 3
DEFAULT_TIMEOUT = 60.0  # seconds per check; a check is a handful of rows
KILL_GRACE = 5.0  # seconds past the program's own TIME_LIMIT before it is killed
# faulthandler's report of a TIME_LIMIT, then the frames, innermost first.
_WATCHDOG = re.compile(r"^Timeout \([0-9:.]+\)!$", re.MULTILINE)
_FRAME = re.compile(r'^\s+File "[^"]*", line \d+ in (\w+)$', re.MULTILINE)
_WHILE = re.compile(r"while (.+)")
DEFAULT_TOLERANCE = {"abs": 1e-6, "rel": 1e-9}
ASSERTION_FAILED = "assertion failed: "  # how the program's runtime words a failed assertion
_SQLITE_TYPES = {
    "number": "REAL",
    "integer": "INTEGER",
    "boolean": "INTEGER",
    "string": "TEXT",
    "date": "TEXT",
    "datetime": "TEXT",
}
# A datetime as the program writes it (runtime/values.py's iso): what `same` compares
# as a datetime with an expected date-and-time written any ISO way.
_OUTPUT_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?")


@dataclass(frozen=True)
class InputDecl:
    name: str
    format: str
    env_var: str
    fields: tuple[tuple[str, str], ...]  # (name, type)
    table: str | None = None
    query: str | None = None
    records: str | None = None
    formats: tuple[tuple[str, str], ...] = ()  # (field, strptime format) of date fields
    paths: tuple[tuple[str, str], ...] = ()  # (field, dotted path) of nested JSON fields


def input_declarations(canonical: Mapping[str, Any]) -> list[InputDecl]:
    """The inputs of a canonical spec (a mapping by name) or a program model (a list)."""
    raw = canonical.get("inputs") or {}
    items = raw.items() if isinstance(raw, Mapping) else ((i["name"], i) for i in raw)
    decls = []
    for name, inp in items:
        fields = inp["fields"]
        pairs = (
            [(f, _field_type(d)) for f, d in fields.items()]
            if isinstance(fields, Mapping)
            else [(f["name"], f["type"]) for f in fields]
        )
        options = (
            [(f, d) for f, d in fields.items() if isinstance(d, Mapping)]
            if isinstance(fields, Mapping)
            else [(f["name"], f) for f in fields]
        )
        decls.append(
            InputDecl(
                name=name,
                format=inp["format"],
                env_var=inp.get("env") or inp.get("env_var") or f"{name.upper()}_LOCATION",
                fields=tuple(pairs),
                table=inp.get("table"),
                query=inp.get("query"),
                records=inp.get("records") or None,
                formats=tuple((f, d["format"]) for f, d in options if d.get("format")),
                paths=tuple((f, d["path"]) for f, d in options if d.get("path")),
            )
        )
    return decls


def _field_type(decl: Any) -> str:
    if isinstance(decl, Mapping):
        return str(decl["type"])
    return str(decl).rstrip("?")


# -- isolation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    prefix: tuple[str, ...]  # empty: no isolation
    description: str

    def wrap(self, cmd: Sequence[str], workdir: Path) -> list[str]:
        if not self.prefix:
            return list(cmd)
        where = str(workdir)
        return [*self.prefix, "--bind", where, where, "--chdir", where, "--", *cmd]


@functools.cache
def sandbox() -> Sandbox:
    """bubblewrap with no network, probed once per process; no isolation if it fails."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Sandbox(
            (), "none: bubblewrap (bwrap) is not installed; checks could use the network"
        )
    prefix = (
        bwrap,
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
    )  # fmt: skip
    try:
        run_command([*prefix, "--", sys.executable, "-c", "pass"], env=clean_env(), timeout=30)
    except ExternalCommandError as exc:
        reason = exc.output.strip().splitlines()[-1] if exc.output.strip() else "it failed"
        return Sandbox(
            (), f"none: bubblewrap does not work here ({reason}); checks could use the network"
        )
    return Sandbox(prefix, "bubblewrap: no network; the file system is read-only but for the check")


# -- results -------------------------------------------------------------------------------


@dataclass
class CheckResult:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)  # readable lines: expected (-), actual (+)
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "failures": self.failures}


@dataclass
class Report:
    isolation: str
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "harness_version": HARNESS_VERSION,
            "isolation": self.isolation,
            "checks": len(self.results),
            "passed": len(self.results) - len(self.failed),
            "failed": len(self.failed),
            "results": [r.to_json() for r in self.results],
        }

    def failure_message(self) -> str:
        head = f"{len(self.failed)} of {len(self.results)} checks failed"
        parts = [f"{head} (isolation: {self.isolation})"]
        for result in self.failed:
            parts.append(f'check "{result.name}":')
            parts += result.failures
        return "\n".join(parts)


# -- running -------------------------------------------------------------------------------


def run_checks(
    program_dir: Path,
    checks: Sequence[Mapping[str, Any]],
    inputs: Sequence[InputDecl],
    *,
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the program in `program_dir` on every check; never raises for a failed check."""
    box = sandbox()
    results: list[CheckResult] = []
    timed_out: CheckResult | None = None
    for number, check in enumerate(checks, 1):
        if cancel is not None and cancel.is_set():
            raise Interrupted("interrupted while running checks")
        if timed_out is not None:
            note = f'  not run: check "{timed_out.name}" timed out'
            results.append(CheckResult(str(check["name"]), False, [note]))
            continue
        if progress is not None:
            progress(f"check {number}/{len(checks)}: {check['name']}")
        work = workdir / f"check-{number}"
        work.mkdir(parents=True)
        result = _run_check(program_dir, check, inputs, work, timeout, box)
        results.append(result)
        if result.timed_out:
            timed_out = result
    return Report(box.description, results)


def _run_check(
    program_dir: Path,
    check: Mapping[str, Any],
    inputs: Sequence[InputDecl],
    work: Path,
    timeout: float,
    box: Sandbox,
) -> CheckResult:
    name = str(check["name"])
    env = clean_env(
        OUTPUT_DIR=str(work / "results"),
        LOG_DIR=str(work / "logs"),
        EXPORTS_DIR=str(work / "exports"),
        LOG_LEVEL="INFO",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
        TIME_LIMIT=f"{timeout:g}",
    )
    given = check.get("given") or {}
    unknown = sorted(set(given) - {i.name for i in inputs})
    if unknown:
        return CheckResult(
            name, False, [f"  given names no input of the spec: {', '.join(unknown)}"]
        )
    (work / "inputs").mkdir()
    for inp in inputs:
        env.update(write_input(inp, given.get(inp.name) or [], work / "inputs"))
    cmd = [sys.executable, str(program_dir / "app.py"), "run", "--json"]
    for param, value in (check.get("parameters") or {}).items():
        cmd += ["--param", f"{param}={_param_text(value)}"]
    late = f"  the program did not finish within {timeout:g}s"
    try:
        proc = run_command(
            box.wrap(cmd, work), cwd=work, env=env, timeout=timeout + KILL_GRACE, check=False
        )
    except ExternalCommandError as exc:
        if exc.output.startswith("timed out"):
            return CheckResult(name, False, [late], timed_out=True)
        return CheckResult(name, False, [f"  the program could not be started: {exc.output}"])
    # Paths inside the check's temporary directory are shown relative to it: shorter, and
    # the same from one run to the next.
    stdout = proc.stdout.decode("utf-8", "replace").replace(f"{work}/", "")
    stderr = proc.stderr.decode("utf-8", "replace").replace(f"{work}/", "")
    watchdog = _WATCHDOG.search(stderr) if proc.returncode != 0 else None
    if watchdog is not None:
        where = _where(stderr[watchdog.end() :])
        failure = f"{late}; it was {where}" if where else late
        return CheckResult(name, False, [failure], timed_out=True)
    expect = check.get("expect") or {}
    wanted_error = expect.get("error")
    if proc.returncode != 0:
        said = _error_text(stdout, stderr)
        if wanted_error and wanted_error in said:
            return CheckResult(name, True)
        if wanted_error:
            lines = [f"  - the run fails with: {wanted_error}", f"  + it failed with: {said}"]
            return CheckResult(name, False, lines)
        if said.startswith(ASSERTION_FAILED):  # the given rows break the spec's assertions
            lines = ["  the given rows fail the spec's assertions:"]
            lines += [f"    {line}" for line in said.splitlines()]
            which = ": ".join(said.splitlines()[0].split(": ")[:2])  # its first's name
            lines.append(f"  (a check meant to show this expects error: {json.dumps(which)})")
            return CheckResult(name, False, lines)
        return CheckResult(name, False, _crash_report(proc.returncode, stderr, work / "logs"))
    if wanted_error:
        return CheckResult(
            name, False, [f"  - the run fails with: {wanted_error}", "  + it succeeded"]
        )
    try:
        result = json.loads(stdout)
    except ValueError:
        tail = _indent(stdout.strip()[-1500:] or "(nothing)")
        return CheckResult(name, False, ["  the program did not print its JSON result:", tail])
    tolerance = {**DEFAULT_TOLERANCE, **(check.get("tolerance") or {})}
    failures = compare(expect, result, tolerance)
    return CheckResult(name, not failures, failures)


def _where(dump: str) -> str | None:
    """What the program was doing when its TIME_LIMIT ran out: the runtime's own `while
    ...` line (the phase: the rows, the summary, a prose step), else, when faulthandler
    ended it, the innermost prose step in its stack, else its innermost function."""
    said = _WHILE.match(dump.lstrip("\n"))
    if said:
        return said.group(1)
    functions = _FRAME.findall(dump)
    for function in functions:
        if function.startswith("step_"):
            return f"in the prose step {function[len('step_') :]}"
    return f"in {functions[0]}()" if functions else None


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):  # a date parameter (code that builds checks)
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def _error_text(stdout: str, stderr: str) -> str:
    """What a failed run said: the JSON error of --json mode, else stderr's error line."""
    try:
        said = json.loads(stdout)
    except ValueError:
        said = None
    if isinstance(said, dict) and isinstance(said.get("error"), str):
        return said["error"]
    lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("error:")]
    return lines[-1][len("error:") :].strip() if lines else stderr.strip()[-500:]


def _crash_report(returncode: int, stderr: str, log_dir: Path) -> list[str]:
    lines = [f"  the program failed (exit code {returncode}):", _indent(stderr.strip()[-2000:])]
    for log in sorted(log_dir.glob("*.log")):  # the program logs tracebacks as JSON lines
        for entry in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                traceback = json.loads(entry).get("traceback")
            except (ValueError, AttributeError):
                continue
            if traceback:
                lines.append(_indent(traceback.strip()[-3000:]))
    return lines


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.splitlines())


# -- writing the given rows ------------------------------------------------------------------


def write_input(inp: InputDecl, rows: list[Mapping[str, Any]], directory: Path) -> dict[str, str]:
    """Write `rows` as `inp`'s own format; the environment variables that point at them."""
    rows = [fixture_row(inp, row) for row in rows]
    if inp.format in ("postgres", "http", "parquet") or (inp.format == "sqlite" and inp.query):
        # No server here, and a query's tables are unknown: the program's fixture variable
        # (and for another spec's results.parquet, rows are rows whatever the file).
        path = directory / f"{inp.name}.fixture.json"
        path.write_text(json.dumps([nested(inp, row) for row in rows]), encoding="utf-8")
        return {fixture_env(inp.name): str(path)}
    names = [f for f, _ in inp.fields]
    names += sorted({k for row in rows for k in row} - set(names))
    if inp.format == "csv":
        path = directory / f"{inp.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            writer.writerows([_csv_cell(row.get(n)) for n in names] for row in rows)
    elif inp.format == "json":
        path = directory / f"{inp.name}.json"
        document: Any = [nested(inp, row) for row in rows]
        for part in reversed((inp.records or "").split(".") if inp.records else []):
            document = {part: document}
        path.write_text(json.dumps(document), encoding="utf-8")
    elif inp.format == "sqlite":
        path = directory / f"{inp.name}.sqlite"
        _write_sqlite(path, inp.table or inp.name, names, dict(inp.fields), rows)
    else:
        raise ValueError(f"input {inp.name}: unknown format {inp.format!r}")
    return {inp.env_var: str(path)}


def fixture_row(inp: InputDecl, row: Mapping[str, Any]) -> dict[str, Any]:
    """A check's row as text a file can hold: a date field's date (ISO text, or a date
    object from code that builds checks) in the field's format, any other date as ISO
    text (JSON, CSV and sqlite have no dates)."""
    types, formats = dict(inp.fields), dict(inp.formats)
    out = {}
    for key, value in row.items():
        if types.get(key) in ("date", "datetime"):
            out[key] = _date_text(value, types[key], formats.get(key))
        else:
            out[key] = _plain(value)
    return out


def _date_text(value: Any, typ: str, fmt: str | None) -> Any:
    """A check's date as the input holds it. ISO text stays as written (an offset too:
    the program reads it) unless the field has a format, in which it is rewritten; text
    that is no ISO date is kept as it is (in the format already, or meant to be bad)."""
    moment: dt.date | None
    if isinstance(value, str):
        moment = (as_date(value) if typ == "date" else parse_datetime(value)) if fmt else None
        if moment is None:
            return value
    elif isinstance(value, dt.date):
        moment = value
    else:
        return value
    return moment.strftime(fmt) if fmt else moment.isoformat()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def nested(inp: InputDecl, row: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON record with each nested field's value at its path (`contact.email`)."""
    paths = dict(inp.paths)
    record: dict[str, Any] = {}
    for key, value in row.items():
        keys = paths[key].split(".") if key in paths else [key]
        target = record
        for step in keys[:-1]:
            if not isinstance(target.get(step), dict):
                target[step] = {}
            target = target[step]
        target[keys[-1]] = value
    return record


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return repr(value) if isinstance(value, float) else str(value)


def _write_sqlite(
    path: Path, table: str, names: list[str], types: dict[str, str], rows: list[Mapping[str, Any]]
) -> None:
    def quote(ident: str) -> str:
        return '"' + ident.replace('"', '""') + '"'

    columns = ", ".join(
        f"{quote(n)} {_SQLITE_TYPES.get(types.get(n, ''), '')}".strip() for n in names
    )
    marks = ", ".join("?" for _ in names)
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"CREATE TABLE {quote(table)} ({columns})")
        connection.executemany(
            f"INSERT INTO {quote(table)} VALUES ({marks})",
            [[_sqlite_value(row.get(n)) for n in names] for row in rows],
        )
        connection.commit()
    finally:
        connection.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return json.dumps(value) if isinstance(value, (dict, list)) else value


# -- comparing -------------------------------------------------------------------------------


def compare(
    expect: Mapping[str, Any], result: Mapping[str, Any], tolerance: Mapping[str, float]
) -> list[str]:
    """Readable differences between what a check expects and what the program produced:
    `-` lines are expected, `+` lines actual, unmarked lines matched."""
    lines: list[str] = []
    actual_rows = result.get("rows") or []
    count = expect.get("row_count")
    if count is not None and count != len(actual_rows):
        lines.append(f"  - row count: {count}")
        lines.append(f"  + row count: {len(actual_rows)}")
    # Expected rows are matched by position with the first rows produced; `row_count`
    # says how many there must be in all.
    for number, wanted in enumerate(expect.get("rows") or [], 1):
        actual = actual_rows[number - 1] if number <= len(actual_rows) else None
        if actual is None:
            lines.append(f"  row {number}: missing")
            lines += [f"    - {k}: {_show(v)}" for k, v in wanted.items()]
            continue
        diff = _diff_mapping(wanted, actual, tolerance)
        if diff:
            lines.append(f"  row {number}:")
            lines += diff
            if actual.get("error") and "error" not in wanted:
                lines.append(f"      (the row is in error: {actual['error']})")
    wanted_summary = expect.get("summary")
    if wanted_summary is not None:
        diff = _diff_mapping(wanted_summary, result.get("summary") or {}, tolerance)
        if diff:
            lines.append("  summary:")
            lines += diff
            lines += [f"      (summary problem: {p})" for p in result.get("summary_errors") or []]
    return lines


def _diff_mapping(
    wanted: Mapping[str, Any], actual: Mapping[str, Any], tolerance: Mapping[str, float]
) -> list[str]:
    lines = []
    bad = False
    for key, value in wanted.items():
        if key not in actual:
            lines += [f"    - {key}: {_show(value)}", f"    + {key}: (no such field)"]
            bad = True
        elif same(value, actual[key], tolerance):
            lines.append(f"      {key}: {_show(actual[key])}")
        else:
            lines += [f"    - {key}: {_show(value)}", f"    + {key}: {_show(actual[key])}"]
            bad = True
    return lines if bad else []


def same(expected: Any, actual: Any, tolerance: Mapping[str, float]) -> bool:
    """Equal, numbers within |actual - expected| <= abs + rel * |expected|; a date or
    datetime equal to the program's ISO text of it (a datetime written with a space or
    an offset, or a date for its midnight, too)."""
    if isinstance(expected, dt.date):
        expected = expected.isoformat()
    if (
        isinstance(expected, str)
        and isinstance(actual, str)
        and _OUTPUT_DATETIME.fullmatch(actual)
        and parse_datetime(expected) is not None
    ):
        return parse_datetime(expected) == parse_datetime(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if not (math.isfinite(expected) and math.isfinite(actual)):
            return expected == actual
        return abs(actual - expected) <= tolerance["abs"] + tolerance["rel"] * abs(expected)
    return bool(expected == actual)


def _show(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False)
