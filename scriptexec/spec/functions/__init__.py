"""The formula language's functions: one registry, read by the type checker
(scriptexec/spec/formulas.py), the SQL compiler (scriptexec/codegen/sql.py) and the
README's language reference (a test keeps the two in step).

Each family of functions is a module listing `Function` entries; adding a function is
one entry there. The arithmetic functions and the first five aggregates (`min`, `max`,
`abs`, `round`, `sqrt`, `ceil`, `floor`; `sum`, `mean`, `count`, `min`, `max`) predate
the registry: they keep Python's exact semantics, compiled by hand in sql.py, and are
listed in `ARITHMETIC` for the reference only.

Missing values propagate through a registry function (a missing argument gives a missing
result, as in SQL) unless its entry says otherwise (`coalesce`, `is_missing`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["scalar", "aggregate", "window"]
# What an argument may be: a type of the language, `numeric` (number or integer),
# `temporal` (date or datetime), `orderable` (a number, a date or text), `whole` (a
# number that must be whole: `n - 1` is a number to the checker, so each row's value is
# checked unless it is an integer's), `any`, or `same` (the type of the first argument).
ArgType = str
# The SQL of a call from its arguments' SQL and, for the arguments written as constants,
# their values (None for the others).
SqlTemplate = Callable[[Sequence[str], Sequence[object]], str]


@dataclass(frozen=True)
class Function:
    """One function of the formula language."""

    name: str
    args: tuple[ArgType, ...]  # the type of each argument; the last repeats if variadic
    result: str  # a type, or "same" (the arguments' common type), or "first" (exactly the
    # first argument's: value_at_max(units, noi) is an integer)
    sql: SqlTemplate  # the SQL of a call, from its arguments' SQL
    summary: str  # one line for the reference
    example: str  # a formula using it, as a spec would
    family: str = ""
    kind: Kind = "scalar"
    min_args: int | None = None  # default: len(args)
    variadic: bool = False  # the last argument repeats (up to MAX_VARIADIC)
    constant: tuple[int, ...] = ()  # arguments that must be written as constant text
    check_constant: Callable[[int, object], str | None] | None = None  # -> a problem
    keywords: tuple[str, ...] = ()  # `order=`, `per=` (windows and windowed aggregates)
    nullable: bool | None = None  # None: missing when an argument is; True: may be missing
    # even when none is (a regex with no match); False: never missing (is_missing)

    @property
    def least(self) -> int:
        return len(self.args) if self.min_args is None else self.min_args

    @property
    def most(self) -> int:
        return MAX_VARIADIC if self.variadic else len(self.args)

    def arg_type(self, i: int) -> ArgType:
        return self.args[min(i, len(self.args) - 1)]


MAX_VARIADIC = 16


def sql_call(function: str) -> SqlTemplate:
    """`function(a, b, ...)` in SQL."""
    return lambda args, _constants: f"{function}({', '.join(args)})"


@dataclass
class Registry:
    functions: dict[str, Function] = field(default_factory=dict)

    def add(self, family: str, entries: Sequence[Function]) -> None:
        for entry in entries:
            if entry.name in self.functions:
                raise ValueError(f"function {entry.name!r} is defined twice")
            self.functions[entry.name] = Function(**{**entry.__dict__, "family": family})

    def get(self, name: str) -> Function | None:
        return self.functions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.functions

    def names(self) -> list[str]:
        return list(self.functions)


def _build() -> Registry:
    from scriptexec.spec.functions import aggregates, dates, missing, text, windows

    registry = Registry()
    registry.add("missing values", missing.FUNCTIONS)
    registry.add("text", text.FUNCTIONS)
    registry.add("dates", dates.FUNCTIONS)
    registry.add("windows", windows.FUNCTIONS)
    registry.add("aggregates", aggregates.FUNCTIONS)
    return registry


REGISTRY = _build()
