"""Error handling, logging, type hints and print."""

from __future__ import annotations

from scriptexec.checks import check_program

from .helpers import check, codes

MAIN = "\nif __name__ == '__main__':\n    main()\n"


def test_bare_except_and_swallowing() -> None:
    assert {"PRA002", "PRA003"} <= codes("try:\n    f()\nexcept:\n    pass\n")
    assert "PRA003" in codes("try:\n    f()\nexcept (ValueError, Exception):\n    ...\n")
    loop = "for x in y:\n    try:\n        f()\n    except BaseException:\n        continue\n"
    assert "PRA003" in codes(loop)
    assert "PRA004" in codes("try:\n    f()\nexcept KeyError:\n    pass\n")


def test_broad_handler_must_log_raise_or_use_the_error() -> None:
    assert "PRA005" in codes("try:\n    f()\nexcept Exception:\n    x = 1\n")
    for body in ("log.exception('f failed')", "raise", "sys.exit(1)", "return describe(exc)"):
        source = (
            "import sys\n\n\ndef g() -> object:\n    try:\n        f()\n"
            f"    except Exception as exc:\n        {body}\n"
        )
        assert "PRA005" not in codes(source), body


def test_type_hints() -> None:
    report = check("class A:\n    def m(self, x, *args, y: int = 1, **kw) -> None: ...\n")
    (issue,) = [i for i in report.issues if i.code == "PRA006"]
    assert issue.message == "m() has no type hints for x, args, kw"
    assert issue.severity == "info"
    assert "PRA006" not in codes("class A:\n    def __init__(self, x: int):\n        self.x = x\n")
    assert "PRA006" in codes("async def f(x: int):\n    return x\n")


def test_print_is_output_in_an_entry_point_and_a_smell_in_a_library() -> None:
    assert "PRA007" in codes("def f() -> None:\n    print('x')\n")
    assert "PRA007" not in codes("def main() -> None:\n    print('x')\n" + MAIN)


def test_program_without_logging() -> None:
    entry = b"def main() -> None:\n    pass\n" + MAIN.encode()
    report = check_program({"app.py": entry, "lib.py": b"X = 1\n"}, lint=False)
    (issue,) = [i for i in report.issues if i.code == "PRA001"]
    assert (issue.file, issue.severity) == ("app.py", "warning")
    with_logging = {"app.py": entry, "lib.py": b"import logging\nlog = logging.getLogger()\n"}
    assert "PRA001" not in {i.code for i in check_program(with_logging, lint=False).issues}
    assert "PRA001" not in {
        i.code for i in check_program({"lib.py": b"X = 1\n"}, lint=False).issues
    }
