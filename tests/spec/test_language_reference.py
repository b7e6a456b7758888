"""The README's language reference and the function registry agree: every function is
in a table with its registry example, and every example type-checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scriptexec.spec import formulas
from scriptexec.spec.formulas import Symbol
from scriptexec.spec.functions import REGISTRY

README = Path(__file__).resolve().parents[2] / "README.md"
# The fields the examples name, as a spec would declare them.
EXAMPLE_FIELDS = {
    "cap_rate_pct": "number",
    "monthly_rent": "number",
    "city": "string",
    "code": "string",
    "tenant_name": "string",
    "postcode": "string",
    "name": "string",
    "unit_id": "string",
    "email": "string",
    "phone": "string",
    "period": "string",
    "country": "string",
    "year": "integer",
    "amount_text": "string",
    "description": "string",
    "variance": "number",
    "dscr": "number",
    "noi": "number",
    "units": "integer",
    "breach": "boolean",
    "lease_start": "date",
    "lease_end": "date",
    "as_of": "date",
    "signed_at": "datetime",
    "start_text": "string",
    "net_cash_flow": "number",
    "property_id": "string",
}
_ROW = re.compile(r"^\| `([a-z_]+)\(.*?\| `(.+)` \|$")


def readme_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows.setdefault(match.group(1), match.group(2))
    return rows


def test_every_registry_function_is_in_the_readme_with_its_example() -> None:
    rows = readme_rows()
    missing = [name for name in REGISTRY.names() if name not in rows]
    assert missing == []
    differ = {
        n: (rows[n], f.example) for n, f in REGISTRY.functions.items() if rows[n] != f.example
    }
    assert differ == {}


def test_every_function_in_the_readme_exists() -> None:
    known = {*REGISTRY.names(), *formulas.SCALAR_FUNCTIONS, *formulas.AGGREGATES}
    assert sorted(set(readme_rows()) - known) == []


@pytest.mark.parametrize("name", sorted(readme_rows()))
def test_every_example_type_checks(name: str) -> None:
    example = readme_rows()[name]
    scope = {n: Symbol("field", t) for n, t in EXAMPLE_FIELDS.items()}  # type: ignore[arg-type]
    function = REGISTRY.get(name)
    # min(a, b) is the scalar function, min(x) the aggregate; windows are per row.
    scalar = name in formulas.SCALAR_FUNCTIONS and "," in example
    aggregate = (name in formulas.AGGREGATES and not scalar) or (
        function is not None and function.kind == "aggregate"
    )
    checked, issues = formulas.check(
        example, {} if aggregate else scope, aggregate_context=aggregate, row_scope=scope
    )
    assert issues == [], example
    assert checked is not None
