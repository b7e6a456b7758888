"""JSON Schema validation of a loaded spec, with errors a person can act on.

jsonschema's own messages ("Additional properties are not allowed ('fomat' was
unexpected)") are turned into `file:line:col: key.path: what is wrong` with a hint.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from scriptexec.errors import Problem
from scriptexec.resources import schema_path
from scriptexec.spec.suggest import did_you_mean
from scriptexec.spec.yamlload import Located, dotted

_PATTERN_MEANING = {
    "^[A-Za-z_][A-Za-z0-9_]*$": "a name of letters, digits and _, not starting with a digit",
    "^[a-z][a-z0-9_-]{0,62}$": "lower case letters, digits, _ and -, starting with a letter",
    "^[A-Z_][A-Z0-9_]*$": "an environment variable name like PROPERTIES_LOCATION",
    "^[0-9]+[kmg]$": "a size like 256m or 1g",
    "^3\\.[0-9]+$": "a Python 3 version like 3.11",
}


@functools.cache
def spec_schema() -> dict[str, Any]:
    with open(schema_path("spec"), encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(spec_schema())


def schema_problems(doc: Located, display: str) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_translate(error, doc, display))
    # One problem per place and message: anyOf branches can repeat themselves.
    return list(dict.fromkeys(problems))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def _translate(error: Any, doc: Located, display: str) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    kind = error.validator

    def at_key(p: tuple[Any, ...], msg: str, hint: str = "") -> Problem:
        line, col = doc.pos(p)
        return Problem(display, line, col, dotted(p), msg, hint)

    def at_value(msg: str, hint: str = "") -> Problem:
        line, col, _ = doc.value_pos.get(path, (*doc.pos(path), ""))
        return Problem(display, line, col, dotted(path), msg, hint)

    if kind in ("anyOf", "oneOf") and error.context:
        keys = _branch_keys(schema.get(kind), instance)
        if keys is None:
            yield from _translate(_best_branch(error), doc, display)
        else:
            yield from _keyed_problems(error, keys, doc, display)
    elif kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                if not hint and allowed:
                    hint = "expected one of: " + ", ".join(allowed)
                yield at_key((*path, key), f"unknown key '{key}'", hint)
    elif kind == "required" and isinstance(instance, dict):
        for key in schema.get("required", []):
            if key not in instance:
                yield at_key(path, f"missing required key '{key}'")
    elif kind == "propertyNames" or "propertyNames" in error.schema_path:
        yield at_key((*path, str(instance)), _pattern_message(error, instance, "name"))
    elif kind == "type":
        wanted = schema.get("type")
        words = [wanted] if isinstance(wanted, str) else list(wanted or [])
        expected = " or ".join(_TYPE_WORDS.get(w, w) for w in words)
        yield at_value(f"expected {expected}, got {_describe(instance)}")
    elif kind == "enum":
        options = [str(o) for o in schema.get("enum", [])]
        hint = did_you_mean(str(instance), options) or "expected one of: " + ", ".join(options)
        yield at_value(f"{_describe(instance)} is not allowed", hint)
    elif kind == "const":
        yield at_value(f"must be {schema.get('const')!r}, got {_describe(instance)}")
    elif kind == "pattern":
        yield at_value(_pattern_message(error, instance))
    elif kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = schema.get(kind)
        word = {
            "minimum": "below the minimum",
            "exclusiveMinimum": "not above",
            "maximum": "above the maximum",
            "exclusiveMaximum": "not below",
        }[kind]
        yield at_value(f"{instance} is {word} {bound}")
    elif kind in ("minProperties", "minItems", "minLength"):
        yield at_value("must not be empty")
    elif kind == "uniqueItems":
        yield at_value("has duplicate items")
    else:
        yield at_value(error.message)


def _pattern_message(error: Any, instance: Any, what: str = "") -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    pattern = schema.get("pattern") or schema.get("propertyNames", {}).get("pattern", "")
    meaning = _PATTERN_MEANING.get(pattern, f"text matching {pattern}")
    shown = f"{what} {str(instance)!r}" if what else _describe(instance)
    return f"{shown} is not valid (expected {meaning})"


def _branch_keys(branches: Any, instance: Any) -> list[str] | None:
    """The key that tells each branch apart, when every branch is a mapping with one
    required key of its own (an assertion: `unique`, `range`, ...); else None."""
    if not isinstance(instance, dict) or not isinstance(branches, list) or len(branches) < 2:
        return None
    required = [b.get("required") if isinstance(b, dict) else None for b in branches]
    if any(not isinstance(r, list) or len(r) != 1 for r in required):
        return None
    return [str(r[0]) for r in required if isinstance(r, list)]


def _keyed_problems(error: Any, keys: list[str], doc: Located, display: str) -> Iterator[Problem]:
    """A mapping against branches told apart by a key: every problem of the branch it
    names (that one is meant), else which key is missing, unknown or one too many."""
    path = tuple(error.absolute_path)
    instance: dict[str, Any] = error.instance
    named = [k for k in keys if k in instance]

    def at_key(p: tuple[Any, ...], msg: str, hint: str = "") -> Problem:
        line, col = doc.pos(p)
        return Problem(display, line, col, dotted(p), msg, hint)

    if len(named) == 1:
        branch = keys.index(named[0])
        for sub in error.context:
            if sub.relative_schema_path and sub.relative_schema_path[0] == branch:
                yield from _translate(sub, doc, display)
    elif named:
        yield at_key(
            (*path, named[1]),
            f"'{named[0]}' and '{named[1]}' cannot be combined",
            "give each its own list item",
        )
    else:
        branches = error.schema.get(error.validator, [])
        known = {k for b in branches for k in b.get("properties", {})}
        unknown = [k for k in instance if k not in known]
        for key in unknown:
            hint = did_you_mean(key, keys) or "expected one of: " + ", ".join(keys)
            yield at_key((*path, key), f"unknown key '{key}'", hint)
        if not unknown:
            yield at_key(path, "needs one of the keys: " + ", ".join(keys))


def _best_branch(error: Any) -> Any:
    """Of the errors of an anyOf, the one from the branch the user most likely meant."""
    import jsonschema.exceptions

    def instance_type_fits(e: Any) -> bool:
        # A branch that failed on "type" was meant for another kind of value.
        return bool(e.validator != "type")

    candidates = [e for e in error.context if instance_type_fits(e)] or list(error.context)
    return jsonschema.exceptions.best_match(candidates) or error
