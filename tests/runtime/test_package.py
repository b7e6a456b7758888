"""The runtime is copied into every program: it must stand on its own."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from scriptexec.codegen.model import program_model
from scriptexec.codegen.render import render_program
from scriptexec.codegen.vendor import PACKAGE, RUNTIME_DIR, runtime_files, runtime_sources
from scriptexec.process import clean_env, run_command
from scriptexec.project import Project
from scriptexec.pyparse import parse
from scriptexec.spec.model import load_spec

REPO = Path(__file__).resolve().parents[2]
# One property: noi = 200000 - 75000 = 125000, dscr = 125000 / 100000 = 1.25
ONE_PROPERTY = (
    "property_id,name,gross_revenue,operating_expenses,annual_debt_service\n"
    "P1,Harbor Point,200000,75000,100000\n"
)

# What a program's requirements.txt installs (duckdb always; the rest for serve and
# postgres inputs, imported lazily), beside the standard library.
ALLOWED = {"duckdb", "flask", "werkzeug", "waitress", "psycopg"}


def imported_modules(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_runtime_imports_only_itself_the_standard_library_and_its_requirements() -> None:
    outside = []
    for path in runtime_sources():
        for line, module in imported_modules(path.read_text(encoding="utf-8")):
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ALLOWED:
                outside.append(f"{path.relative_to(RUNTIME_DIR)}:{line}: import {module}")
    assert outside == []


def test_the_vendored_copy_holds_every_runtime_file_under_the_package_name() -> None:
    files = runtime_files()
    assert f"{PACKAGE}/__init__.py" in files
    assert f"{PACKAGE}/execute.py" in files
    assert len(files) == len(runtime_sources())
    assert not any("__pycache__" in name for name in files)


def test_a_built_program_runs_where_scriptexec_cannot_be_imported(tmp_path: Path) -> None:
    program = tmp_path / "dscr"
    files = render_program(program_model(load_spec(REPO / "specs" / "dscr.yaml")), Project(REPO))
    for name, content in {**files, "data/properties.csv": ONE_PROPERTY.encode()}.items():
        (program / name).parent.mkdir(parents=True, exist_ok=True)
        (program / name).write_bytes(content)
    # `import scriptexec` (or anything under it) fails in this interpreter
    blocked = (
        "import runpy, sys; sys.modules['scriptexec'] = None;"
        " sys.argv = ['app.py', 'run', '--json']; runpy.run_path('app.py', run_name='__main__')"
    )
    proc = run_command(
        [sys.executable, "-c", blocked],
        cwd=program,
        env=clean_env(OUTPUT_DIR=str(tmp_path / "out"), LOG_DIR=str(tmp_path / "logs")),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert [(r["noi"], r["dscr"]) for r in result["rows"]] == [(125000.0, 1.25)]
