"""JSON fields inside nested objects: `{type: string, path: contact.email}` reads
record["contact"]["email"] into the field (named by its key in the spec).

A missing object on the way is a missing value, as a missing key is: an optional field
is then NULL, a required one an error. A value on the way that is there but no object
(`"contact": "n/a"`) is an error whatever the field, as a value of the wrong type is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..program import Field
from ..values import show

WANTED = {  # what a field of each type expects, as convert.py's messages say it
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "date": "a date",
    "datetime": "a datetime",
}


def lookup(record: Mapping[str, Any], field: Field) -> tuple[Any, bool]:
    """(value, present): the field's value in `record` (None when missing) and whether
    its last key is there at all (a present null is a "missing value", an absent key
    "no such field")."""
    if not field.path:
        return record.get(field.name), field.name in record
    value: Any = record
    for depth, key in enumerate(field.path):
        if value is None:
            return None, True  # a null object on the way: a missing value
        if not isinstance(value, dict):
            reached = ".".join(field.path[:depth])
            raise ValueError(f"expected an object at {reached}, got {show(value)}")
        if key not in value:
            return None, False
        value = value[key]
    return value, True


def object_problem(field: Field, value: Mapping[str, Any]) -> str:
    """What a field given an object says: how to reach the object's fields instead."""
    wanted = WANTED.get(field.type, field.type)
    base = f"expected {wanted}, got an object"
    example = example_path(value, list(field.path or (field.name,)))
    if example is None:
        return base
    path, ftype = example
    return f"{base}; read its fields with path:, e.g. {{type: {ftype}, path: {path}}}"


def example_path(value: Mapping[str, Any], prefix: list[str]) -> tuple[str, str] | None:
    """The first plain value inside `value` (depth first, a few levels), as a dotted
    path and the type to declare it with."""
    if len(prefix) > 8:
        return None
    for key, item in value.items():
        if not isinstance(key, str) or not key or "." in key:
            continue  # a key a dotted path cannot name
        if isinstance(item, dict):
            found = example_path(item, [*prefix, key])
            if found is not None:
                return found
        elif isinstance(item, bool):
            return ".".join([*prefix, key]), "boolean"
        elif isinstance(item, int | float):
            return ".".join([*prefix, key]), "number"
        elif isinstance(item, str):
            return ".".join([*prefix, key]), "string"
    return None
