"""Python source is parsed through scriptexec.pyparse only (CPython 3.11's AST constructor
is not thread-safe, and stages parse in threads under `build -j`)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from scriptexec.pyparse import parse

PACKAGE = Path(__file__).resolve().parent.parent / "scriptexec"


def test_no_module_calls_ast_parse_directly() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "pyparse.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bast\.parse\(", line.split("#", 1)[0])
    ]
    assert offenders == []


def test_parsing_in_many_threads_at_once() -> None:
    source = "\n".join(
        f"def f{i}(x):\n    return [(x + {i}) * y for y in range(3)]" for i in range(300)
    )
    failures: list[BaseException] = []

    def work() -> None:
        for _ in range(20):
            try:
                assert len(parse(source).body) == 300
            except BaseException as exc:  # collected, asserted below
                failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
