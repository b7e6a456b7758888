"""The renderer: which files, from which templates, and Python that stays valid and short."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scriptexec.codegen.render import (
    WIDTH,
    py_expression,
    py_literal,
    render_program,
    template_names,
)
from scriptexec.codegen.vendor import PACKAGE, is_vendored, runtime_files
from scriptexec.errors import BuildError
from scriptexec.project import Project

from .helpers import DSCR_CSV, model, render


def test_files_of_a_web_program(tmp_path: Path) -> None:
    files = render_program(model("dscr"), Project(tmp_path))
    own = sorted(name for name in files if not is_vendored(name))
    assert own == [".env.example", "app.py", "dashboard.html", "requirements.txt"]
    assert {name for name in files if is_vendored(name)} == set(runtime_files())
    requirements = files["requirements.txt"].decode()
    assert re.search(r"^duckdb==\d+\.\d+\.\d+$", requirements, re.M)
    assert re.search(r"^flask==\d+\.\d+\.\d+$", requirements, re.M)
    assert re.search(r"^waitress==\d+\.\d+\.\d+$", requirements, re.M)
    assert "psycopg" not in requirements
    app = files["app.py"].decode()
    # app.py holds the spec's decisions; the runtime (imported lazily for serve) the rest
    assert re.findall(r"^(?:import|from) (\S+)", app, re.M) == ["scriptexec_runtime"]


def test_a_batch_only_program_has_no_dashboard_and_needs_only_duckdb(tmp_path: Path) -> None:
    m = model("dscr")
    m["web"] = None
    files = render_program(m, Project(tmp_path))
    assert sorted(n for n in files if not is_vendored(n)) == [
        ".env.example",
        "app.py",
        "requirements.txt",
    ]
    lines = [ln for ln in files["requirements.txt"].decode().splitlines() if not ln.startswith("#")]
    assert lines == ["duckdb==2.0.1"]  # DuckDB runs the queries; no Flask without a dashboard
    assert "serve" not in files["app.py"].decode()
    assert "\nPORT=" not in files[".env.example"].decode()


def test_template_names_are_what_render_reads(tmp_path: Path) -> None:
    project = Project(tmp_path)
    assert all(project.template(name).is_file() for name in template_names())


def test_a_project_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    own = tmp_path / "templates" / "program" / "requirements.txt.j2"
    own.parent.mkdir(parents=True)
    own.write_text("# pinned by the {{ name }} team\n")
    files = render_program(model("dscr"), Project(tmp_path))
    assert files["requirements.txt"] == b"# pinned by the dscr team\n"


def test_undefined_template_values_fail_loudly(tmp_path: Path) -> None:
    own = tmp_path / "templates" / "program" / "requirements.txt.j2"
    own.parent.mkdir(parents=True)
    own.write_text("{{ no_such_value }}\n")
    with pytest.raises(Exception, match="no_such_value"):
        render_program(model("dscr"), Project(tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["compute"][0].update(name="not valid"),
            "'not valid' is not a Python identifier",
        ),
        (lambda m: m["inputs"][0].update(primary=False), "exactly one input must be primary"),
        (
            lambda m: m["inputs"][0].update(location=None),
            "input 'properties' (csv) has no location",
        ),
    ],
)
def test_models_the_templates_cannot_render(tmp_path: Path, change: Any, message: str) -> None:
    m = model("dscr")
    change(m)
    with pytest.raises(BuildError, match=re.escape(message)):
        render_program(m, Project(tmp_path))


def test_hostile_text_stays_text(tmp_path: Path) -> None:
    m = model("dscr")
    m["title"] = 'Ratio </title><script>alert(1)</script> """ \\'
    m["description"] = 'Ends a docstring """; import os; os.system("x") and goes on ' * 3
    m["parameters"][0]["description"] = "</script><script>alert(2)</script>"
    files = render_program(m, Project(tmp_path))
    app = files["app.py"].decode()
    tree = ast.parse(app)
    assert ast.get_docstring(tree).startswith('Ratio </title><script>alert(1)</script> """ \\')
    assert "system" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    page = files["dashboard.html"].decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "</script><script>alert(2)" not in page  # inside the JSON config, escaped


# -- Python source formatting ---------------------------------------------------------------


def test_a_long_formula_wraps_into_the_same_expression() -> None:
    expr = " + ".join(
        f"row['field_number_{i}'] * (1 + params['change_{i}'] / 100)" for i in range(12)
    )
    expr = f"_agg_sum(rows, lambda row: {expr}) if params['flag'] and not row['x'] < -3 else -1"
    wrapped = py_expression(expr, 4, 11)
    assert wrapped.startswith("(\n") and wrapped.endswith("\n    )")
    assert all(len(line) <= WIDTH for line in wrapped.splitlines())
    assert ast.dump(ast.parse(expr, mode="eval")) == ast.dump(ast.parse(wrapped, mode="eval"))
    assert py_expression("row['a'] - -row['b']", 4, 11) == "row['a'] - -row['b']"


# Prose of words no longer than 15 characters, with single and double spaces and spaces at
# either end: every line of its literal must fit.
_word = st.text(alphabet="abcdefghij'\"\\\n", min_size=1, max_size=15)
_words = st.builds(
    lambda lead, words, gap, trail: lead + gap.join(words) + trail,
    st.sampled_from(["", " "]),
    st.lists(_word, max_size=12),
    st.sampled_from([" ", "  "]),
    st.sampled_from(["", " "]),
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _words
)
_data = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text("abcxyz_", min_size=1, max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(value=_data, indent=st.sampled_from([0, 4, 8]))
def test_literals_round_trip_and_fit(value: Any, indent: int) -> None:
    text = py_literal(value, indent, indent + 12, 1)
    assert ast.literal_eval(text) == value
    for line in text.splitlines()[1:]:
        assert len(line) <= WIDTH or " " not in line.strip().strip("'\""), line


# -- .env.example documents every variable the program reads ---------------------------------


class _Recording(dict):  # type: ignore[type-arg]
    """os.environ that remembers which names the program's own code asked for."""

    def __init__(self, values: dict[str, str], program: str) -> None:
        super().__init__(values)
        self.program = program
        self.read: set[str] = set()

    def _note(self, key: object) -> None:
        if sys._getframe(2).f_code.co_filename.startswith(self.program):
            self.read.add(str(key))

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)


@pytest.fixture
def dscr_module(tmp_path: Path) -> Iterator[Any]:
    program = render(model("dscr"), tmp_path / "p", {"data/properties.csv": DSCR_CSV})
    spec = importlib.util.spec_from_file_location("generated_dscr", program / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(program))  # where app.py finds its scriptexec_runtime
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(program))
        for name in [n for n in sys.modules if n.split(".")[0] in ("generated_dscr", PACKAGE)]:
            del sys.modules[name]


def test_env_example_lists_every_variable_read(
    dscr_module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = Path(dscr_module.__file__).parent
    documented = {
        line.split("=", 1)[0]
        for line in (program / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    values = {"OUTPUT_DIR": str(tmp_path / "out"), "LOG_DIR": str(tmp_path / "logs")}
    recording = _Recording(values, str(program))  # app.py and its vendored runtime
    monkeypatch.setattr(os, "environ", recording)
    argv = ["run", "--param", "covenant=1.3"]
    assert dscr_module.main(dscr_module.PROGRAM, str(program / "app.py"), argv) == 0
    # and what serve would read, found in the code (the readers of formats dscr does not
    # use read settings its .env.example rightly leaves out)
    unused = {"postgres_input.py", "http_input.py"}
    sources = [program / "app.py"]
    sources += [p for p in program.glob(f"{PACKAGE}/**/*.py") if p.name not in unused]
    app_vars = {
        name
        for source in sources
        for name in re.findall(r'(?:setting|os\.environ\.get)\("([A-Z_]+)"', source.read_text())
    }
    assert {"OUTPUT_DIR", "PROPERTIES_FIXTURE", "PROPERTIES_LOCATION"} <= recording.read
    read = recording.read | app_vars
    assert read <= documented, f"read but not in .env.example: {sorted(read - documented)}"
    assert {"PROPERTIES_LOCATION", "PROPERTIES_FIXTURE", "HOST", "PORT", "LOG_LEVEL"} <= documented
