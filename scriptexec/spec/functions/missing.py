"""Functions about missing values: the only ones a missing argument does not make
missing."""

from __future__ import annotations

from scriptexec.spec.functions import Function, sql_call

FUNCTIONS = [
    Function(
        "coalesce",
        ("any", "same"),
        "same",
        sql_call("COALESCE"),
        "the first argument that is not missing",
        "coalesce(cap_rate_pct, 5.5)",
        variadic=True,
        nullable=True,  # missing when all are
    ),
    Function(
        "is_missing",
        ("any",),
        "boolean",
        lambda args, _: f"({args[0]} IS NULL)",
        "whether the value is missing (an empty optional field, a lookup that found nothing)",
        "is_missing(monthly_rent)",
        nullable=False,
    ),
]
