"""Assertions end to end: a spec's `assertions` compiled into app.py and run by the
program on real files. A failed assertion stops the run with one line each (exit code 1)
before anything is written; assertions on input fields run before any formula; a warning
lets the run go on; the checks report rows that break an assertion, or expect it; and
editing an assertion rebuilds the program."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scriptexec.acceptance import input_declarations, run_checks
from scriptexec.codegen.model import program_model
from scriptexec.project import Project
from scriptexec.spec.model import load_spec
from scriptexec.stages.generate import GenerateStage

from .helpers import render, run

SPEC = """\
version: 1
name: portfolio
inputs:
  properties:
    format: csv
    location: data/properties.csv
    fields:
      property_id: string
      property_type: string
      gross_revenue: number
      annual_debt_service: number?
compute:
  dscr: gross_revenue / annual_debt_service
outputs: [results.csv, summary.json]
assertions:
  - unique: property_id
  - not_missing: [gross_revenue, annual_debt_service]
  - accepted_values: {field: property_type, values: [office, retail, residential]}
  - range: {field: dscr, min: 0, max: 20}
  - row_count: {min: 1, max: 1000000}
"""
HEADER = "property_id,property_type,gross_revenue,annual_debt_service\n"
GOOD = HEADER + "P1,office,200,100\nP2,retail,300,100\nP3,residential,100,50\n"


def build(tmp_path: Path, csv: str, spec: str = SPEC) -> Path:
    path = tmp_path / "portfolio.yaml"
    path.write_text(spec, encoding="utf-8")
    model = program_model(load_spec(path))
    return render(model, tmp_path / "program", {"data/properties.csv": csv})


def written(program: Path) -> list[str]:
    results = program / "results"
    return sorted(p.name for p in results.iterdir()) if results.exists() else []


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_data_that_holds_every_assertion_runs_as_before(tmp_path: Path) -> None:
    program = build(tmp_path, GOOD)
    result = run(program, "run", "--json")
    assert result.code == 0, result
    # dscr: 200 / 100 = 2.0, 300 / 100 = 3.0, 100 / 50 = 2.0
    assert [r["dscr"] for r in result.json["rows"]] == [2.0, 3.0, 2.0]
    assert written(program) == ["results.csv", "summary.json"]


def test_each_failed_assertion_on_the_inputs_is_a_line_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    bad = HEADER + "P1,office,200,100\nP2,hotel,300,100\nP1,retail,100,\n"
    program = build(tmp_path, bad)
    result = run(program, "run")
    assert result.code == 1, result
    # P1 on rows 1 and 3; row 3 has no debt service; 'hotel' is not accepted (row 2).
    assert errors(result.err) == [
        "error: assertion failed: unique(property_id): 2 rows share a value: 'P1' (row 1, row 3)",
        "error: assertion failed: not_missing(gross_revenue, annual_debt_service):"
        " 1 row has a missing value: row 3 (annual_debt_service)",
        "error: assertion failed: accepted_values(property_type): 1 row has a value not"
        " accepted: row 2: 'hotel'",
    ]
    assert written(program) == []  # and nothing was written
    assert result.out == ""


def test_an_assertion_on_a_computed_field_runs_on_the_results(tmp_path: Path) -> None:
    bad = GOOD + "P4,office,100,4\n"
    program = build(tmp_path, bad)
    result = run(program, "run", "--json")
    assert result.code == 1, result
    # P4: dscr = 100 / 4 = 25.0, above 20
    message = "assertion failed: range(dscr, min 0, max 20): 1 row out of range: row 4: 25.0"
    assert errors(result.err) == [f"error: {message}"]
    assert result.json == {"error": message, "exit_code": 1}
    assert written(program) == []


def test_assertions_on_the_inputs_run_before_any_formula(tmp_path: Path) -> None:
    # With on_error: fail, row 2's division by zero would stop the run; the duplicate
    # id is found first, as the inputs are read.
    spec = SPEC + "on_error: fail\n"
    program = build(tmp_path, HEADER + "P1,office,200,100\nP1,office,300,0\n", spec)
    result = run(program, "run")
    assert result.code == 1, result
    assert errors(result.err) == [
        "error: assertion failed: unique(property_id): 2 rows share a value: 'P1' (row 1, row 2)"
    ]


def test_a_warning_lets_the_run_go_on(tmp_path: Path) -> None:
    spec = SPEC.replace(
        "  - range: {field: dscr, min: 0, max: 20}\n",
        "  - range: {field: dscr, min: 0, max: 20}\n    severity: warn\n    name: sane DSCR\n",
    )
    program = build(tmp_path, GOOD + "P4,office,100,4\n", spec)
    result = run(program, "run")
    assert result.code == 0, result
    warnings = [line.split(" ", 1)[1] for line in result.err.splitlines() if " WARNING " in line]
    assert warnings == [
        "WARNING assertion failed: sane DSCR (range(dscr, min 0, max 20)): 1 row out of range:"
        " row 4: 25.0"
    ]
    assert written(program) == ["results.csv", "summary.json"]


def test_app_py_carries_the_assertions_as_literals(tmp_path: Path) -> None:
    app = (build(tmp_path, GOOD) / "app.py").read_text()
    assert "# Assertion 1 (unique), over the inputs as read.\nASSERTION_1_SQL = " in app
    assert "# Assertion 4 (range), over the computed rows.\nASSERTION_4_SQL = " in app
    assert (
        "            [ASSERTION_4_SQL, {\n"
        "                'kind': 'range', 'on': 'results', 'field': 'dscr', 'min': 0, 'max': 20,\n"
        "            }],\n"
    ) in app
    # the accepted values are in the SQL only, as literals
    assert "\"property_type\" NOT IN (\n    'office', 'retail', 'residential'\n  )" in app


def test_hostile_accepted_values_compile_to_lint_clean_sql_that_matches_them(
    tmp_path: Path,
) -> None:
    long = "a long value " * 12  # 156 characters: a constant broken over lines
    values = ["it's", 'say "hi"', "back\\slash", 'three """ quotes', long.strip()]
    spec = SPEC.replace("values: [office, retail, residential]", "values: " + json.dumps(values))
    rows = "".join(f"P{n},{json.dumps(v)},200,100\n" for n, v in enumerate(values, 1))
    rows = rows.replace('\\"', '""').replace("\\\\", "\\")  # JSON strings as CSV cells
    program = build(tmp_path, HEADER + rows + 'P9,"It\'s",1,1\n', spec)
    app = (program / "app.py").read_text()
    assert max(len(line) for line in app.splitlines()) <= 88
    compile(app, "app.py", "exec")
    result = run(program, "run")
    assert result.code == 1, result
    # every listed value matched itself exactly; only row 6's "It's" is refused
    assert errors(result.err) == [
        "error: assertion failed: accepted_values(property_type): 1 row has a value not"
        """ accepted: row 6: "It's\"""",
    ]


# -- the checks ------------------------------------------------------------------------------


CHECKS = [
    {
        "name": "a property listed twice",
        "given": {
            "properties": [
                {"property_id": "P1", "property_type": "office", "gross_revenue": 1},
                {"property_id": "P1", "property_type": "office", "gross_revenue": 2},
            ]
        },
        "expect": {"rows": [{"property_id": "P1"}]},
    },
    {
        "name": "a property listed twice stops the run",
        "given": {
            "properties": [
                {"property_id": "P1", "property_type": "office", "gross_revenue": 1},
                {"property_id": "P1", "property_type": "office", "gross_revenue": 2},
            ]
        },
        "expect": {"error": "assertion failed: unique(property_id): 2 rows share a value"},
    },
]


def test_checks_report_given_rows_that_break_an_assertion_or_expect_it(tmp_path: Path) -> None:
    spec = SPEC.replace("  - not_missing: [gross_revenue, annual_debt_service]\n", "")
    spec = spec.replace("  - range: {field: dscr, min: 0, max: 20}\n", "")
    program = build(tmp_path, GOOD, spec)
    path = tmp_path / "portfolio.yaml"
    report = run_checks(
        program, CHECKS, input_declarations(load_spec(path).canonical), workdir=tmp_path / "w"
    )
    first, second = report.results
    assert not first.passed and first.failures == [
        "  the given rows fail the spec's assertions:",
        "    assertion failed: unique(property_id): 2 rows share a value: 'P1' (row 1, row 2)",
        '  (a check meant to show this expects error: "assertion failed: unique(property_id)")',
    ]
    assert second.passed, second.failures


# -- the build -------------------------------------------------------------------------------


def test_generate_reads_the_assertions_and_only_when_there_are_some(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.yaml"

    def generate_inputs(spec: str) -> dict[str, object]:
        path.write_text(spec, encoding="utf-8")
        return GenerateStage().inputs(load_spec(path), Project(tmp_path))

    with_them = generate_inputs(SPEC)
    assert with_them["spec.assertions"] == load_spec(path).canonical["assertions"]
    edited = generate_inputs(SPEC.replace("max: 20}", "max: 25}"))
    assert edited["spec.assertions"] != with_them["spec.assertions"]
    start = SPEC.index("assertions:")
    assert "spec.assertions" not in generate_inputs(SPEC[:start])  # other specs' keys stay


def test_editing_an_assertion_rebuilds_the_program(project: Path, cli) -> None:
    def ran(output: str) -> list[str]:
        return re.findall(r"^dscr: (\w+) ran\b", output, flags=re.M)

    cli("build", "specs/dscr.yaml", "--no-image", cwd=project)
    spec = project / "specs" / "dscr.yaml"
    text = spec.read_text()
    old = "  - range: {field: annual_debt_service, min: 0}\n"
    assert old in text
    new = "  - range: {field: annual_debt_service, min: 0, max: 1000000000}\n"
    spec.write_text(text.replace(old, new))
    out = cli("-v", "build", "specs/dscr.yaml", "--no-image", cwd=project).output
    assert ran(out) == ["generate", "validate", "test"]
    app = (project / "build" / "dscr" / "app.py").read_text()
    assert '"annual_debt_service" < 0 OR "annual_debt_service" > 1000000000\n' in app
