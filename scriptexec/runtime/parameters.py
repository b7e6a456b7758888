"""Parameters: the what-if knobs of `run --param`, the dashboard form and /api/simulate,
checked against their declared type and bounds before any query sees them.

A date parameter's value is a datetime.date, given as ISO text (`2024-06-30`) or as the
word `today`: the local date when the program started, the same for the whole run (and,
for `serve`, for as long as the server runs).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Any

from .errors import ParameterError, UsageError
from .program import Parameter, Program
from .readers.dates import DATE_SHAPE, ISO_DATE
from .values import show

TODAY = "today"


@functools.cache
def today() -> dt.date:
    """The run's `today`: resolved once, so that every query of a run sees one date."""
    return dt.date.today()


def defaults(program: Program) -> dict[str, Any]:
    return {p.name: check_parameter(program, p.name, p.default) for p in program.parameters}


def declared(program: Program, name: str) -> Parameter:
    found = program.parameter(name)
    if found is None:
        known = ", ".join(p.name for p in program.parameters) or "none"
        raise ParameterError(name, f"unknown parameter '{name}' (parameters: {known})")
    return found


def check_parameter(program: Program, name: str, value: Any) -> Any:
    """`value` for parameter `name` if its type and bounds accept it."""
    spec = declared(program, name)
    if spec.type == "date":
        return check_date(spec, value)
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise ParameterError(name, f"parameter '{name}' must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(name, f"parameter '{name}' must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(name, f"parameter '{name}' must be a finite number")
    if spec.type == "integer":
        if isinstance(value, float):
            if not value.is_integer():
                raise ParameterError(name, f"parameter '{name}' must be a whole number")
            value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:
            raise ParameterError(name, f"parameter '{name}' is too large") from None
    unit = spec.unit or ""
    if isinstance(spec.min, int | float) and value < spec.min:
        raise ParameterError(name, f"parameter '{name}' must be at least {spec.min}{unit}")
    if isinstance(spec.max, int | float) and value > spec.max:
        raise ParameterError(name, f"parameter '{name}' must be at most {spec.max}{unit}")
    return value


def as_date(value: Any) -> dt.date | None:
    """A date parameter's value (or bound) as a date, None when it is not one."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == TODAY:
        return today()
    found = ISO_DATE.fullmatch(text)
    try:
        return dt.date(*map(int, found.groups())) if found else None
    except ValueError:  # 2024-02-30
        return None


def check_date(spec: Parameter, value: Any) -> dt.date:
    name = spec.name
    day = as_date(value)
    if day is None:
        problem = f"must be a date ({DATE_SHAPE}) or {TODAY}, got {show(value)}"
        raise ParameterError(name, f"parameter '{name}' {problem}")
    low, high = as_date(spec.min), as_date(spec.max)
    if low is not None and day < low:
        raise ParameterError(name, f"parameter '{name}' must be {low.isoformat()} or later")
    if high is not None and day > high:
        raise ParameterError(name, f"parameter '{name}' must be {high.isoformat()} or earlier")
    return day


def resolve_parameters(program: Program, given: Mapping[str, Any]) -> dict[str, Any]:
    params = defaults(program)
    for name, value in given.items():
        params[name] = check_parameter(program, name, value)
    return params


def parse_param(program: Program, text: str) -> tuple[str, Any]:
    """NAME=VALUE from the command line, VALUE parsed as the parameter's type."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise UsageError(f"--param {text!r}: expected NAME=VALUE")
    from .readers.convert import BadValue, convert, to_number

    try:
        kind = declared(program, name).type
        if kind == "date":
            return name, raw  # checked, and named in the message, by check_date
        if kind == "boolean":
            return name, convert(raw, "boolean")
        return name, to_number(raw)
    except BadValue as exc:
        raise ParameterError(name, f"parameter '{name}': {exc}") from None
