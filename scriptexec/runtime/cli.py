"""The program's command line: `app.py run` (batch) and `app.py serve` (dashboard)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from . import deadline
from .errors import EXIT_TERMINATED, ProgramError, Terminated
from .logs import log, setup_logging
from .program import Program
from .settings import set_home
from .values import clean, to_json

ERRORS_SHOWN = 20  # error rows printed by a run; the rest are in the results


def main(program: Program, app_file: str, argv: list[str] | None = None) -> int:
    """Run the command line `argv` for `program`, described by the app.py at `app_file`
    (relative settings start in its directory); the exit code."""
    set_home(Path(app_file).resolve().parent)
    args = _parser(program).parse_args(argv)
    log_file = None
    try:
        log_file = setup_logging(program.name)
        if args.command == "serve":
            from .web import serve

            return serve(program)
        return command_run(program, args)
    except ProgramError as exc:
        log.debug("failed: %s", exc)
        for line in str(exc).splitlines() or [""]:  # (failed assertions: a line each)
            print(f"error: {line}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc), "exit_code": exc.exit_code}))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Terminated:
        return _terminated()
    except Exception:
        if _sigterm_seen:  # DuckDB turns the handler's Terminated into "Query interrupted"
            return _terminated()
        log.exception("unexpected error")
        if log_file is None:
            traceback.print_exc()
        where = f"; the traceback is in {log_file}" if log_file else ""
        print(f"error: unexpected failure (a bug in {program.name}){where}", file=sys.stderr)
        return 1


def _parser(program: Program) -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="app.py", description=program.title)
    commands = main_parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="compute the results and write the outputs")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value (repeatable): "
        + (", ".join(p.name for p in program.parameters) or "this program has none"),
    )
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    if program.web is not None:
        commands.add_parser("serve", help="serve the dashboard and the JSON API")
    return main_parser


def command_run(program: Program, args: argparse.Namespace) -> int:
    from .display import display
    from .execute import evaluate, load
    from .outputs import write_outputs
    from .parameters import parse_param, resolve_parameters

    signal.signal(signal.SIGTERM, _raise_terminated)
    deadline.start_from_setting()
    params = resolve_parameters(program, dict(parse_param(program, p) for p in args.param))
    result = evaluate(load(program), program, params)
    deadline.phase("writing the outputs")
    written = write_outputs(result)
    log.info(
        "%d rows, %d in error",
        result.row_count,
        result.error_count,
        extra={"data": {"summary": clean(result.summary), "parameters": params}},
    )
    for problem in result.summary_errors:
        log.warning("summary: %s", problem)
    if args.json:
        print(to_json(result.document()))
        return 0
    print(f"{program.title}: {result.row_count} rows, {result.error_count} in error")
    width = max((len(k) for k in result.summary), default=0)
    for key, value in result.summary.items():
        print(f"  {key:<{width}}  {display(value)}")
    for name, count in result.left_out.items():
        rows = f"{count} row{'s' if count != 1 else ''}"
        print(f"  ~ {name} leaves out {rows} with a missing value")
    if result.error_count and result.summary and program.error_rows_left_out:
        rows = f"{result.error_count} row{'s' if result.error_count != 1 else ''}"
        print(f"  ~ the summary leaves out {rows} in error (rules.error_rows: exclude)")
    for warning in result.warnings:
        print(f"  ~ {warning}")
    for error in result.errors[:ERRORS_SHOWN]:
        print(f"  ! {error['row']}: {error['error']}")
    if result.error_count > ERRORS_SHOWN:
        print(f"  ! ... and {result.error_count - ERRORS_SHOWN} more (see results)")
    print("Wrote " + ", ".join(str(p) for p in written))
    return 0


_sigterm_seen = False


def _raise_terminated(signum: int, frame: Any) -> None:
    global _sigterm_seen
    _sigterm_seen = True
    raise Terminated


def _terminated() -> int:
    log.warning("stopped by SIGTERM before the run ended; outputs may be missing")
    print("error: terminated (SIGTERM), exit code 143", file=sys.stderr)
    return EXIT_TERMINATED
