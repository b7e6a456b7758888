"""Whatever the source, the checker returns a report: it never crashes."""

from __future__ import annotations

import ast
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scriptexec.checks import ValidationReport, check_program
from scriptexec.checks.issues import SEVERITIES

from .helpers import BAD, GOOD

NAMES = [
    "x", "eval", "exec", "compile", "__import__", "__builtins__", "getattr", "globals", "vars",
    "os", "os.system", "subprocess", "subprocess.run", "sp.Popen", "yaml.load", "yaml",
    "pickle.loads", "app", "app.run", "requests.get", "builtins", "print", "open", "Path",
    "importlib.import_module", "cur.execute", "serve", "socket", "tempfile.mktemp", "None",
]  # fmt: skip
KEYWORDS = ["shell", "host", "port", "debug", "Loader", "verify", "password", "url", "listen"]
MODULES = ["os", "subprocess", "yaml", "pickle", "builtins", "flask", "os.path", "a.b.c"]
SPECIAL_STRINGS = [
    "0.0.0.0", "", "AKIAIOSFODNN7EXAMPLE", "postgresql://u:p@h/d", "eval", "__builtins__",
    "q8Zr2LmV0xT4nB7cYw1KpE3s", "${X}", "-----BEGIN PRIVATE KEY-----", "*:8080",
]  # fmt: skip

atoms = st.one_of(
    st.sampled_from(NAMES),
    st.integers(-5, 70000).map(str),
    st.sampled_from([True, False]).map(str),
    st.one_of(st.sampled_from(SPECIAL_STRINGS), st.text(max_size=12)).map(repr),
)


def _call(parts: tuple[str, list[str], list[tuple[str, str]]]) -> str:
    func, args, kwargs = parts
    return f"{func}({', '.join([*args, *(f'{k}={v}' for k, v in kwargs)])})"


expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(
            inner,
            st.lists(inner, max_size=3),
            st.lists(st.tuples(st.sampled_from(KEYWORDS), inner), max_size=2),
        ).map(_call),
        st.tuples(inner, st.sampled_from(["system", "__dict__", "load", "run", "exec"])).map(
            lambda p: f"({p[0]}).{p[1]}"
        ),
        st.tuples(inner, inner).map(lambda p: f"({p[0]})[{p[1]}]"),
        st.tuples(inner, st.sampled_from(["+", "%", "==", "and"]), inner).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        st.lists(inner, max_size=3).map(lambda xs: f"({', '.join(xs)},)"),
        st.lists(
            st.one_of(st.text(max_size=5), inner.map(lambda e: "{" + e + "}")), max_size=3
        ).map(lambda parts: "f" + repr("".join(parts))),
    ),
    max_leaves=8,
)


def _block(head: str, body: str) -> str:
    return f"{head}:\n    {body}"


statements = st.one_of(
    expressions,
    st.tuples(
        st.sampled_from(["x", "HOST", "password", "app.debug", "d['DEBUG']", "API_URL"]),
        expressions,
    ).map(lambda p: f"{p[0]} = {p[1]}"),
    st.tuples(st.sampled_from(MODULES), st.sampled_from(["", " as sp", " as o"])).map(
        lambda p: f"import {p[0]}{p[1]}"
    ),
    st.tuples(
        st.sampled_from(MODULES), st.sampled_from(["system", "*", "load", "eval", "run as r"])
    ).map(lambda p: f"from {p[0]} import {p[1]}"),
    st.tuples(st.sampled_from(["f", "eval", "main"]), expressions).map(
        lambda p: _block(f"def {p[0]}(a, b={p[1]})", f"return {p[1]}")
    ),
    st.tuples(
        st.sampled_from(["", " Exception", " (ValueError, BaseException) as e", " KeyError"]),
        st.sampled_from(["pass", "...", "raise", "log.error(e)"]),
    ).map(lambda p: f"try:\n    x()\nexcept{p[0]}:\n    {p[1]}"),
    expressions.map(lambda e: _block("if __name__ == '__main__'", e)),
    expressions.map(lambda e: _block("class C(yaml.SafeLoader)", f"x = {e}")),
    st.text(max_size=20).map(lambda t: "# " + t.replace("\n", " ").replace("\r", " ")),
)
programs = st.lists(statements, max_size=8).map("\n".join)


def _corpus_file(index: int) -> bytes:
    paths = BAD + GOOD
    return paths[index % len(paths)].read_bytes()


mutated = st.tuples(
    st.integers(0, 1000), st.integers(0, 2000), st.integers(0, 40), st.binary(max_size=6)
).map(lambda p: (lambda data: data[: p[1]] + p[3] + data[p[1] + p[2] :])(_corpus_file(p[0])))
sources = st.one_of(
    programs.map(str.encode), st.text().map(str.encode), st.binary(max_size=200), mutated
)


def assert_sound(report: ValidationReport, files: dict[str, bytes]) -> None:
    assert isinstance(report, ValidationReport)
    assert 0.0 <= report.score <= 1.0
    assert report.passed == (report.score >= report.threshold and not report.blocking)
    for issue in report.issues:
        assert issue.file in files and issue.line >= 0 and issue.severity in SEVERITIES
    json.loads(report.to_json())
    text = files["app.py"]
    try:
        ast.parse(text.decode("utf-8-sig"))
    except (SyntaxError, ValueError, UnicodeDecodeError):
        assert report.score == 0.0
        assert any(i.code.startswith("SYN") for i in report.issues)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(sources)
def test_checker_never_crashes(source: bytes) -> None:
    files = {"app.py": source}
    assert_sound(check_program(files, lint=False), files)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_linters_never_crash(source: str) -> None:
    """With ruff and bandit too (a few examples: each runs two processes)."""
    files = {"app.py": source.encode()}
    assert_sound(check_program(files), files)
