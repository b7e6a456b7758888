"""Text functions. DuckDB's string functions count characters (not bytes), as Python's
do; positions are 1-based, as in SQL and spreadsheets.

Regular expressions are RE2's (DuckDB's): a pattern must be constant text, checked when
the spec is; the constructs RE2 lacks (look-around, back references) are refused there
rather than failing the run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scriptexec.spec.functions import Function, sql_call

# RE2 has no look-around and no back references; Python's re accepts both.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")


def check_pattern(_position: int, value: object) -> str | None:
    """A problem with a regular expression, or None."""
    pattern = str(value)
    if _NOT_RE2.search(pattern):
        return "look-around and back references are not supported in patterns (RE2 syntax)"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


def _texts(args: Sequence[str]) -> list[str]:
    return [f"CAST({a} AS VARCHAR)" for a in args]


def _extract(args: Sequence[str], constants: Sequence[object]) -> str:
    # The first group when the pattern has one, else the whole match; missing (not the
    # empty text DuckDB gives) when nothing matches.
    group = 1 if re.compile(str(constants[1])).groups else 0
    text, pattern = args
    return (
        f"CASE WHEN regexp_matches({text}, {pattern})"
        f" THEN regexp_extract({text}, {pattern}, {group}) END"
    )


FUNCTIONS = [
    Function("lower", ("string",), "string", sql_call("lower"), "lower case", "lower(city)"),
    Function("upper", ("string",), "string", sql_call("upper"), "upper case", "upper(code)"),
    Function(
        "trim",
        ("string",),
        "string",
        sql_call("trim"),
        "without spaces at either end",
        "trim(tenant_name)",
    ),
    Function(
        "length",
        ("string",),
        "integer",
        sql_call("length"),
        "the number of characters",
        "length(postcode)",
    ),
    Function(
        "contains",
        ("string", "string"),
        "boolean",
        sql_call("contains"),
        "whether the text contains the part",
        "contains(lower(name), 'tower')",
    ),
    Function(
        "starts_with",
        ("string", "string"),
        "boolean",
        sql_call("starts_with"),
        "whether the text starts with the prefix",
        "starts_with(unit_id, 'R-')",
    ),
    Function(
        "ends_with",
        ("string", "string"),
        "boolean",
        sql_call("suffix"),
        "whether the text ends with the suffix",
        "ends_with(email, '.org')",
    ),
    Function(
        "replace",
        ("string", "string", "string"),
        "string",
        sql_call("replace"),
        "every occurrence of old replaced by new",
        "replace(phone, ' ', '')",
    ),
    Function(
        "substring",
        ("string", "integer", "integer"),
        "string",
        sql_call("substring"),
        "count characters from position start (the first is 1)",
        "substring(period, 1, 4)",
    ),
    Function(
        "concat",
        ("any", "any"),
        "string",
        lambda args, _: " || ".join(_texts(args)),
        "the values as text, joined (missing if any is)",
        "concat(city, ', ', country)",
        variadic=True,
    ),
    Function(
        "to_text",
        ("any",),
        "string",
        lambda args, _: _texts(args)[0],
        "the value as text (a number as Python writes a float: 1250.0)",
        "to_text(year)",
    ),
    Function(
        "to_number",
        ("string",),
        "number",
        lambda args, _: f"TRY_CAST(trim({args[0]}) AS DOUBLE)",
        "the text as a number; missing when it is not one",
        "to_number(amount_text)",
        nullable=True,
    ),
    Function(
        "to_integer",
        ("string",),
        "integer",
        lambda args, _: f"TRY_CAST(trim({args[0]}) AS BIGINT)",
        "the text as a whole number; missing when it is not one",
        "to_integer(substring(period, 1, 4))",
        nullable=True,
    ),
    Function(
        "regex_match",
        ("string", "string"),
        "boolean",
        sql_call("regexp_matches"),
        "whether the pattern matches anywhere in the text",
        "regex_match(code, '^[A-Z]{3}-')",
        constant=(1,),
        check_constant=check_pattern,
    ),
    Function(
        "regex_extract",
        ("string", "string"),
        "string",
        _extract,
        "the pattern's first group (or whole match); missing when it does not match",
        "regex_extract(description, '([0-9]{4})')",
        constant=(1,),
        check_constant=check_pattern,
        nullable=True,
    ),
]
