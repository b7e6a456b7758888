"""convert.py's type rules in SQL, for CSV text that DuckDB reads as VARCHAR.

Each field's value is a CASE over tiers, cheapest first. The first tier takes what data
usually holds (`1250.5`, `Harbor Point`, `true`) with a cast and a few byte tests; later
tiers take blanks, thousands separators and padding; a value no tier takes reaches
`error()`, which stops the load, and the reader then looks for the first such value and
asks convert.py what is wrong with it (or, when nothing is, reads the file carefully).
So a tier may refuse a good value (it costs time), but must never take a bad one or give
a different answer than convert.py: every tier below says why it agrees.

CASE evaluates a tier only for the rows no earlier tier took, so the later tiers cost
nothing on clean data even though they repeat sub-expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..program import Field
from .convert import FALSE_WORDS, NUMBER, TRUE_WORDS, WHOLE_NUMBER
from .table import literal

# What str.strip() strips (str.isspace()); a test checks it against Python.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
WIDE_SPACES = ", ".join(str(ord(c)) for c in WHITESPACE if ord(c) > 127)
# Thousands separators as is_grouped() reads them, narrowed to the forms that then parse
# as a number (an exponent only after a decimal point: "1,234e5" is not grouped).
GROUPED = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*([eE][+-]?[0-9]+)?)?"
GROUPED_WHOLE = r"[+-]?[0-9]{1,3}(,[0-9]{3})+"
BAD = "error('scriptexec: a value the fast reader does not take')"
# Characters some tests are about: "1_000" and "+-5", which DuckDB's cast reads as
# numbers and convert.py refuses (the cast also reads "inf" and "nan": isfinite() refuses
# those), and the comma of "1,500,000". A test is left out for a file without its
# character (csv_survey looks): the tests cost a third of the load on a file of numbers.
MARKS = frozenset("_+,")
SQL_CASTS = {"number": "DOUBLE", "integer": "BIGINT"}
# The ISO forms the fast path takes (dates.py reads more: offsets, longer fractions,
# whitespace around): hours to 23 and seconds to 59, as Python has them, where DuckDB's
# cast reads "24:00:00" as the next day, and an offset it would drop without a word.
FAST_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
FAST_DATETIME = FAST_DATE + r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
# Declared formats whose codes DuckDB's strptime and Python's read alike once the text
# is DuckDB's own rendering of the value (the tiers check that): fixed-width numbers.
FAST_CODES = frozenset("YmdHMS%")
FIRST_DAY, PAST_LAST_DAY = "TIMESTAMP '0001-01-01'", "TIMESTAMP '10000-01-01'"  # Python's


@dataclass(frozen=True)
class Column:
    """A field's raw text column, and for a number or an integer the casts computed
    once for every row (`cast_items()` gives them). The text holds no NUL character
    (csv_survey sends a file with one to the careful reader: the first tiers would take
    such a value as text, where convert.py refuses it)."""

    text: str  # VARCHAR: '' for an empty value, NULL for one a short record lacks
    cast: str = "NULL"  # the text cast to the field's type
    separated: str = "NULL"  # the text without commas cast, for text with a comma
    marks: frozenset[str] = MARKS  # which of MARKS the text may hold


def cast_items(field: Field, column: Column) -> list[str]:
    """The SELECT items that compute a column's casts, as `cast` and `separated` name
    them. A cast that fails is slow (three times a cast that works), so none is tried on
    text that cannot succeed: an empty value, or a comma (but once without them)."""
    if field.type in ("date", "datetime"):
        return [f"{temporal_cast(field, column.text)} AS {column.cast}"]
    kind = SQL_CASTS.get(field.type)
    if kind is None:
        return []
    c = column.text
    if "," not in column.marks:
        return [f"CASE WHEN {c} = '' THEN NULL ELSE TRY_CAST({c} AS {kind}) END AS {column.cast}"]
    return [
        f"CASE WHEN {c} = '' OR contains({c}, ',') THEN NULL"
        f" ELSE TRY_CAST({c} AS {kind}) END AS {column.cast}",
        f"CASE WHEN contains({c}, ',') THEN TRY_CAST(replace({c}, ',', '') AS {kind})"
        f" END AS {column.separated}",
    ]


Tiers = list[tuple[str, str]]  # (condition, value)


def value_sql(field: Field, column: Column) -> str:
    """The field's typed value, or error() for a value that needs convert.py."""
    whens = " ".join(f"WHEN {cond} THEN {value}" for cond, value in tiers(field, column))
    return f"CASE {whens} ELSE {BAD} END"


def taken_sql(field: Field, column: Column) -> str:
    """True when a tier takes the value (where value_sql does not reach error()).
    A CASE, as value_sql is, rather than ORs: DuckDB computes a sub-expression that
    several ORs share for every row, once, before them (the later tiers' trim(), say),
    where a CASE computes each tier's only for the rows that reach it."""
    whens = " ".join(f"WHEN {cond} THEN true" for cond, _ in tiers(field, column))
    return f"CASE {whens} ELSE false END"


def tiers(field: Field, column: Column) -> Tiers:
    """The field's tiers in order; an optional field's blank value is taken as NULL
    after the first tiers (which take no blank text) and before the costly ones."""
    if field.type in ("date", "datetime"):
        first, rest = temporal(field, column)
    else:
        by_type = {"string": string, "boolean": boolean, "number": number, "integer": integer}
        first, rest = by_type[field.type](column)
    if field.required:  # a blank required value reaches error(): "missing value"
        return first + rest
    c = column.text
    return [*first, (f"{c} IS NULL OR trim({c}, $ws) = ''", "NULL"), *rest]


def string(column: Column) -> tuple[Tiers, Tiers]:
    c = column.text
    # A first character that is not whitespace: the text is not blank. Byte order finds
    # an ASCII one ('!' to DEL) without decoding; other characters are decoded.
    ascii_first = f"{c} >= '!' AND {c} < chr(128)"
    wide_first = f"ascii({c}) > 127 AND ascii({c}) NOT IN ({WIDE_SPACES})"
    # Text that only starts with whitespace is still text, kept as it is (not stripped).
    rest = f"trim({c}, $ws) <> '' AND NOT contains({c}, chr(0))"
    return [(ascii_first, c), (wide_first, c)], [(rest, c)]


def boolean(column: Column) -> tuple[Tiers, Tiers]:
    c = column.text
    yes, no = words(TRUE_WORDS), words(FALSE_WORDS)
    first = [(f"lower({c}) IN {yes}", "true"), (f"lower({c}) IN {no}", "false")]
    stripped = f"lower(trim({c}, $ws))"
    return first, [(f"{stripped} IN {yes}", "true"), (f"{stripped} IN {no}", "false")]


def number(column: Column) -> tuple[Tiers, Tiers]:
    c, d, y = column.text, column.cast, column.separated
    # DuckDB's cast reads all convert.py reads (padding included) and more: "1_000",
    # "+-5", "inf", "nan"; those are tested away. A zero is taken only unsigned: text
    # such as "-0" is a whole number, which convert.py makes 0.0, while the cast gives
    # -0.0 (and "-0.0", which stays -0.0, is then left to the last tier).
    cast = f"isfinite({d})"
    if "_" in column.marks:
        cast += f" AND NOT contains({c}, '_')"
    if "+" in column.marks:
        cast += f" AND NOT contains({c}, '+-')"
    first = [(f"{cast} AND {unsigned_zero(d, c)}", d)]
    if "," in column.marks:
        first.append((f"{full(c, GROUPED)} AND isfinite({y}) AND {unsigned_zero(y, c)}", y))
    g = grouped(c)
    x = f"TRY_CAST({g} AS DOUBLE)"
    zero_sign = f"CASE WHEN {x} = 0 AND {full(g, WHOLE_NUMBER.pattern)} THEN 0::DOUBLE ELSE {x} END"
    return first, [(f"{full(g, NUMBER.pattern)} AND isfinite({x})", zero_sign)]


def unsigned_zero(value: str, c: str) -> str:
    return f"({value} <> 0 OR NOT contains({c}, '-'))"


def integer(column: Column) -> tuple[Tiers, Tiers]:
    c, n, y = column.text, column.cast, column.separated
    # Text that is the cast's own rendering of it ("-42", never "+42", "007", "4.0",
    # "0x1F" or "1_000", which the cast also reads) is exactly that integer.
    first = [(f"CAST({n} AS VARCHAR) = {c}", n)]
    if "," in column.marks:
        first.append((f"{full(c, GROUPED_WHOLE)} AND {y} IS NOT NULL", y))
    g = grouped(c)
    whole = f"TRY_CAST({g} AS BIGINT)"
    is_whole = full(g, WHOLE_NUMBER.pattern)
    # Other text is read as a float, which must be whole and within BIGINT (whole text
    # must not: "-9223372036854775809" is beyond BIGINT, but not as the float it rounds to).
    x = f"TRY_CAST({g} AS DOUBLE)"
    decimal = f"NOT {is_whole} AND {full(g, NUMBER.pattern)} AND isfinite({x}) AND {x} = floor({x})"
    return first, [
        (f"{is_whole} AND {whole} IS NOT NULL", whole),
        (f"{decimal} AND TRY_CAST({x} AS BIGINT) IS NOT NULL", f"CAST({x} AS BIGINT)"),
    ]


def fast_format(fmt: str | None) -> bool:
    """Whether the fast path can read a date format (else the careful reader reads it)."""
    codes = re.findall(r"%(.?)", fmt or "")  # "" for a % at the end
    return all(code and code in FAST_CODES for code in codes)


def temporal_cast(field: Field, text: str) -> str:
    """The text as a TIMESTAMP (a DATE for an ISO date), NULL where the first tier will
    not take it; computed once a row (cast_items)."""
    if field.format:
        return f"TRY_STRPTIME({text}, {literal(field.format)})"
    if field.type == "date":
        return f"CASE WHEN {full(text, FAST_DATE)} THEN TRY_CAST({text} AS DATE) END"
    return f"CASE WHEN {full(text, FAST_DATETIME)} THEN TRY_CAST({text} AS TIMESTAMP) END"


def temporal(field: Field, column: Column) -> tuple[Tiers, Tiers]:
    """A date or datetime: the cast of the text as it is, then of the stripped text
    (as dates.py strips it). A declared format's value is taken only when formatting
    it gives the text back: text DuckDB reads more loosely than Python (a day `1`, a
    trailing space) is left to the careful reader."""
    c, v = column.text, column.cast
    t = f"trim({c}, $ws)"
    if field.format:
        fmt = literal(field.format)

        def taken(value: str, text: str) -> str:
            return (
                f"{value} >= {FIRST_DAY} AND {value} < {PAST_LAST_DAY}"
                f" AND strftime({value}, {fmt}) = {text}"
            )

        later = f"TRY_STRPTIME({t}, {fmt})"
        first, rest = (taken(v, c), v), (taken(later, t), later)
    else:
        later = temporal_cast(field, t)
        first, rest = (f"{v} >= {FIRST_DAY}", v), (f"{later} >= {FIRST_DAY}", later)
    if field.type == "date" and field.format:  # strptime gives a TIMESTAMP
        first, rest = (first[0], f"CAST({first[1]} AS DATE)"), (rest[0], f"CAST({rest[1]} AS DATE)")
    return [first], [rest]


def grouped(c: str) -> str:
    """The stripped text, with thousands separators removed (as parse_number does)."""
    t = f"trim({c}, $ws)"
    return f"(CASE WHEN {full(t, GROUPED)} THEN replace({t}, ',', '') ELSE {t} END)"


def full(text: str, pattern: str) -> str:
    return f"regexp_full_match({text}, {literal(pattern)})"


def words(options: tuple[str, ...]) -> str:
    return "(" + ", ".join(literal(w) for w in options) + ")"
