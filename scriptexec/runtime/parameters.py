"""Parameters: the what-if knobs of `run --param`, the dashboard form and /api/simulate,
checked against their declared type and bounds before any query sees them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import ParameterError, UsageError
from .program import Parameter, Program


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
    if spec.min is not None and value < spec.min:
        raise ParameterError(name, f"parameter '{name}' must be at least {spec.min}{unit}")
    if spec.max is not None and value > spec.max:
        raise ParameterError(name, f"parameter '{name}' must be at most {spec.max}{unit}")
    return value


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
        if declared(program, name).type == "boolean":
            return name, convert(raw, "boolean")
        return name, to_number(raw)
    except BadValue as exc:
        raise ParameterError(name, f"parameter '{name}': {exc}") from None
