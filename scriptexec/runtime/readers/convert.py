"""Values from the data as their declared types, checked one record at a time.

This is the careful reader's half of the type rules (JSON, database and fixture values,
and CSV text when DuckDB's fast path cannot take a file); `casts.py` states the same
rules in SQL for the fast CSV path, and the tests hold the two to the same answers.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Sequence
from typing import Any

from ..errors import ProgramError
from ..program import Field, Input
from ..settings import positive_setting
from ..values import show
from .dates import to_date, to_datetime
from .nested import lookup, object_problem

# Per input: a mistake rather than a data set beyond this (MAX_INPUT_ROWS overrides it).
DEFAULT_MAX_ROWS = 100_000_000
TRUE_WORDS = ("true", "yes", "y", "t", "1")
FALSE_WORDS = ("false", "no", "n", "f", "0")
# A number as data writes it: a sign, ASCII digits with a decimal point, an exponent.
# Narrower than int() and float(), which take Python's "1_000" and any script's digits.
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
NOT_FINITE = {"inf", "infinity", "nan"}  # what float() reads as non-finite, signs aside
# An integer field is a BIGINT column: what does not fit is refused, not wrapped.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

Record = tuple[str, Any]  # (where, record): `where` names the record in messages
Row = dict[str, Any]


class BadValue(ValueError):
    """A value from the data that its field's type cannot hold."""


def max_rows() -> int:
    return positive_setting("MAX_INPUT_ROWS", DEFAULT_MAX_ROWS)


def convert(value: Any, ftype: str, fmt: str | None = None) -> Any:
    """One raw value (text from a file, or a JSON/database value) as `ftype`; `fmt` is a
    date's or datetime's declared strptime format (None: ISO 8601; see dates.py)."""
    if ftype == "date":
        return to_date(value, fmt)
    if ftype == "datetime":
        return to_datetime(value, fmt)
    if ftype == "string":
        return to_text(value)
    if ftype == "boolean":
        return to_boolean(value)
    number = to_number(value)
    if ftype == "integer":
        return to_integer(number, value)
    try:
        return float(number)
    except OverflowError:  # an integer beyond the largest float (about 1.8e308)
        raise BadValue(f"number too large: {show(value)}") from None


def to_text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise BadValue(f"expected text, got {show(value)}")
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:  # C libraries and databases downstream cut text at a NUL
        raise BadValue("contains a NUL character (\\x00)")
    return text


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise BadValue(f"expected true or false, got {show(value)}")


def to_integer(number: int | float, value: Any) -> int:
    if isinstance(number, float):
        if not number.is_integer():
            raise BadValue(f"expected a whole number, got {show(value)}")
        number = int(number)
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise BadValue(f"number too large: {show(value)}")
    return number


def to_number(value: Any) -> int | float:
    if isinstance(value, bool | dict | list):
        raise BadValue(f"expected a number, got {show(value)}")
    if isinstance(value, decimal.Decimal):  # postgres NUMERIC
        value = float(value)
    if isinstance(value, int | float):
        number: int | float = value
    else:
        number = parse_number(str(value).strip(), value)
    if isinstance(number, float) and not math.isfinite(number):
        raise BadValue(f"expected a finite number, got {show(value)}")
    return number


def parse_number(text: str, value: Any) -> int | float:
    """`text` (from `value`) as an int when it is a whole number, else a float."""
    if "," in text and is_grouped(text):
        text = text.replace(",", "")
    if text.lstrip("+-").lower() in NOT_FINITE:
        raise BadValue(f"expected a finite number, got {show(value)}")
    if not NUMBER.fullmatch(text):
        raise BadValue(f"expected a number, got {show(value)}")
    if WHOLE_NUMBER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than int() converts (about 4,300)
            raise BadValue(f"number too large: {show(value)}") from None
    number = float(text)
    if not math.isfinite(number):  # 1e999: beyond the largest float
        raise BadValue(f"number too large: {show(value)}")
    return number


def is_grouped(text: str) -> bool:
    """'1,234,567.89': commas as thousands separators (never as decimal points)."""
    whole = text.lstrip("+-").split(".", 1)[0]
    groups = whole.split(",")
    return (
        1 <= len(groups[0]) <= 3
        and all(g.isdigit() for g in groups)
        and all(len(g) == 3 for g in groups[1:])
    )


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_record(fields: Sequence[Field], source: str, where: str, record: Any) -> Row:
    """The declared fields of one record, converted; a bad value is a ProgramError."""
    if not isinstance(record, dict):
        raise ProgramError(f"{source}, {where}: expected an object: {show(record)}")
    row: Row = {}
    for field in fields:
        try:
            value, present = lookup(record, field)
            if missing(value):
                if field.required:
                    raise BadValue("missing value" if present else no_such_field(field))
                row[field.name] = None
                continue
            if isinstance(value, dict):
                raise BadValue(object_problem(field, value))
            row[field.name] = convert(value, field.type, field.format)
        except ValueError as exc:
            raise ProgramError(f"{source}, {where}, field {field.name}: {exc}") from None
    return row


def no_such_field(field: Field) -> str:
    return f"no such field {'.'.join(field.path)}" if field.path else "no such field"


def check_count(source: str, count: int) -> None:
    limit = max_rows()
    if count > limit:
        raise ProgramError(f"{source}: more than {limit} rows")


def check_records(inp: Input, source: str, records: Sequence[Record]) -> list[tuple[str, Row]]:
    """Declared fields of each record, converted; the first bad value stops the run."""
    check_count(source, len(records))
    return [(where, check_record(inp.fields, source, where, rec)) for where, rec in records]
