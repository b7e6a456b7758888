"""The DuckDB macros the compiled queries call: Python's arithmetic where SQL's differs,
and the few steps every formula takes, named so that the SQL reads shortly.

The formula compiler (scriptexec/codegen/sql.py) writes plain SQL wherever DuckDB computes
what Python did; these macros are the exceptions: Python's floor division and modulo
(the sign of the divisor, computed from the exact remainder as CPython does), round() to
a number of digits (correctly rounded, like CPython's), the checks of a power and of
making an int of a float; and the finishing of a formula: its value kept only when
nothing failed (`sx_num`, `sx_int`, `sx_val`), and its error completed (`sx_num_error`,
...).

DuckDB expands a macro in place, copying an argument wherever the body names it: the
compiler only ever passes them a column, a constant or a short expression, never another
macro call, so nothing grows with the nesting of a formula (the finishing macros get
columns and constants only). Every macro returns NULL for a NULL argument (unless that
is what it tests) and never raises: a bad row is reported by the formula's error column,
it must not fail the whole query.

`install(db)` creates them on a connection; the runtime calls it on every connection.
"""

from __future__ import annotations

import duckdb

# While |x| * 10 ** n is below this (and 10 ** n exact), DuckDB's round_even(x, n) gives
# Python's round(x, n) (tested against it), ten times faster than formatting the digits.
EXACT_BELOW = 2.0**52

MACROS = [
    # a % b as Python: fmod (DuckDB's % on DOUBLE is C's fmod, exact), then moved to the
    # divisor's sign; a zero remainder takes the divisor's sign too.
    # (Arguments are made DOUBLE first: % on integers raises on a zero divisor.)
    """CREATE OR REPLACE MACRO sx_fmod(a, b) AS a::DOUBLE % b::DOUBLE""",
    """CREATE OR REPLACE MACRO sx_mod(a, b) AS
    CASE
        WHEN sx_fmod(a, b) = 0 THEN CASE WHEN b < 0 THEN -(0.0::DOUBLE) ELSE 0.0::DOUBLE END
        WHEN (b < 0) <> (sx_fmod(a, b) < 0) THEN sx_fmod(a, b) + b
        ELSE sx_fmod(a, b)
    END""",
    # a // b as Python (CPython's float_floor_div): the quotient of the exact multiple,
    # one less when the remainder's sign was moved, then snapped to the nearest integer.
    """CREATE OR REPLACE MACRO sx_floordiv_raw(a, b) AS
    CASE
        WHEN sx_fmod(a, b) <> 0 AND (b < 0) <> (sx_fmod(a, b) < 0)
            THEN (a - sx_fmod(a, b)) / b - 1
        ELSE (a - sx_fmod(a, b)) / b
    END""",
    """CREATE OR REPLACE MACRO sx_floordiv_snap(d, q) AS
    CASE
        WHEN d = 0 THEN CASE WHEN q < 0 OR 1 / q < 0 THEN -(0.0::DOUBLE) ELSE 0.0::DOUBLE END
        WHEN d - floor(d) > 0.5 THEN floor(d) + 1
        ELSE floor(d)
    END""",
    """CREATE OR REPLACE MACRO sx_floordiv(a, b) AS
    sx_floordiv_snap(sx_floordiv_raw(a, b), a::DOUBLE / b)""",
    # round(x, n) as Python: half to even on the exact binary value. Beyond 2 ** 52 (and
    # for n > 22, where 10 ** n is inexact) the exact decimal digits decide, which
    # format() gives (it rounds like CPython's dtoa); Python returns x itself for
    # n > 323 and a zero for n < -308.
    f"""CREATE OR REPLACE MACRO sx_round(x, n) AS
    CASE
        WHEN n BETWEEN 0 AND 22 AND abs(x) < {EXACT_BELOW!r} / 10::DOUBLE ** n
            THEN round_even(x, TRY_CAST(n AS INTEGER))
        WHEN n > 323 THEN x
        WHEN n >= 0 THEN CAST(format('{{:.{{}}f}}', x, n) AS DOUBLE)
        WHEN n < -308 THEN 0.0 * x
        ELSE round_even(x / 10::DOUBLE ** -n, 0) * 10::DOUBLE ** -n
    END""",
    # What `b ** e` raised in the old program's _pow: a negative base to a fractional
    # power first; then 0 to a negative power (ZeroDivisionError), told apart before the
    # size because pow() gives inf there too; then a result beyond the largest number.
    """CREATE OR REPLACE MACRO sx_pow_error(b, e, f) AS
    CASE
        WHEN b < 0 AND e <> floor(e) THEN 'invalid value in ' || f
            || ': a negative number to a fractional power is not a real number'
        WHEN b = 0 AND e < 0 THEN 'division by zero in ' || f
        WHEN isinf(pow(b, e)) THEN 'number too large in ' || f
    END""",
    # What int(x) raised for a float x (ceil, floor, round() to no digits) in formula f.
    """CREATE OR REPLACE MACRO sx_integral_error(x, f) AS
    CASE
        WHEN isnan(x) THEN 'invalid value in ' || f || ': cannot convert float NaN to integer'
        WHEN isinf(x) THEN 'number too large in ' || f
    END""",
    # A formula's value v, kept when nothing failed: e (the first of its checks that
    # failed, NULL: none) is NULL, and a number is finite, an integer computed as a whole
    # DOUBLE (ceil, floor) fits a BIGINT; else NULL.
    """CREATE OR REPLACE MACRO sx_num(v, e := NULL) AS
    CASE WHEN e IS NULL AND isfinite(v) THEN v END""",
    """CREATE OR REPLACE MACRO sx_int(v, e := NULL) AS
    CASE WHEN e IS NULL THEN TRY_CAST(v AS BIGINT) END""",
    """CREATE OR REPLACE MACRO sx_val(v, e) AS CASE WHEN e IS NULL THEN v END""",
    # Its error: e; else m when v is NULL (the missing-value message; NULL when a NULL is
    # an answer); else `number too large in <f>` when it is not finite, does not fit.
    """CREATE OR REPLACE MACRO sx_num_error(v, f, e := NULL, m := NULL) AS
    COALESCE(e, CASE
        WHEN v IS NULL THEN m
        WHEN NOT isfinite(v) THEN 'number too large in ' || f
    END)""",
    """CREATE OR REPLACE MACRO sx_int_error(v, f, e := NULL, m := NULL) AS
    COALESCE(e, CASE
        WHEN v IS NULL THEN m
        WHEN TRY_CAST(v AS BIGINT) IS NULL THEN 'number too large in ' || f
    END)""",
    """CREATE OR REPLACE MACRO sx_val_error(v, e, m := NULL) AS
    COALESCE(e, CASE WHEN v IS NULL THEN m END)""",
]


def install(db: duckdb.DuckDBPyConnection) -> None:
    """Create the macros on `db` (idempotent)."""
    for statement in MACROS:
        db.execute(statement)
