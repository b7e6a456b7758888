"""extract_code over a corpus of messy replies, and check_function."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scriptexec.llm.code import CodeError, check_function, extract_code

WATCHLIST = '''def watchlist(row, params):
    """Flag a DSCR more than 15% under the covenant."""
    dscr = row.get("dscr")
    if dscr is None:
        return {"watchlist": False}
    return {"watchlist": dscr < params["covenant"] * 0.85}
'''

HELPER = """import math


def _ratio(a, b):
    return a / b if b else math.nan
"""

# (name, reply, expected code)
CORPUS: list[tuple[str, str, str]] = [
    ("bare code", WATCHLIST, WATCHLIST),
    (
        "fenced with prose around",
        f"Sure! Here is the function:\n\n```python\n{WATCHLIST}```\n\nIt returns a dict.",
        WATCHLIST,
    ),
    ("py tag", f"```py\n{WATCHLIST}```", WATCHLIST),
    ("python3 tag with attributes", f"```python3 title=step.py\n{WATCHLIST}```", WATCHLIST),
    ("untagged fence", f"Code:\n```\n{WATCHLIST}```\nDone.", WATCHLIST),
    ("tilde fence", f"~~~python\n{WATCHLIST}~~~\n", WATCHLIST),
    ("unclosed fence (reply cut short)", f"Here you go:\n```python\n{WATCHLIST}", WATCHLIST),
    (
        "CRLF line endings",
        f"```python\r\n{WATCHLIST.replace(chr(10), chr(13) + chr(10))}```",
        WATCHLIST,
    ),
    (
        "indented fence in a list item",
        "1. Define it:\n\n   ```python\n"
        + "".join(f"   {line}\n" if line else "\n" for line in WATCHLIST.splitlines())
        + "   ```\n",
        WATCHLIST,
    ),
    (
        "shell, python and output blocks",
        "Install nothing:\n```bash\npip install nothing\n```\n"
        f"Then:\n```python\n{WATCHLIST}```\nOutput:\n```text\n{{'watchlist': True}}\n```",
        WATCHLIST,
    ),
    (
        "a usage block after the function",
        f"```python\n{WATCHLIST}```\nUsage:\n```python\n"
        "row = {'dscr': 1.0}\nprint(watchlist(row, {'covenant': 1.25}))\n```",
        WATCHLIST,
    ),
    (
        "helper and function in two blocks",
        f"First a helper:\n```python\n{HELPER}```\nThen the step:\n```python\n{WATCHLIST}```",
        HELPER.rstrip("\n") + "\n\n" + WATCHLIST,
    ),
    (
        "example calls and a main block inside the code",
        f"```python\n{WATCHLIST}\nprint(watchlist({{'dscr': 1}}, {{'covenant': 1}}))\n\n"
        'if __name__ == "__main__":\n    print(watchlist({}, {}))\n```',
        WATCHLIST,
    ),
    (
        "thinking first, with code in the thoughts",
        "<think>Maybe `def watchlist(row): pass`?\n```python\ndef wrong(): pass\n```\n</think>"
        f"\n```python\n{WATCHLIST}```",
        WATCHLIST,
    ),
    (
        "unfenced code between prose",
        f"Here is the function you asked for.\n\n{WATCHLIST}\nThis handles missing values.",
        WATCHLIST,
    ),
    ("a stray word before bare code", f"Sure\n{WATCHLIST}", WATCHLIST),
    (
        "unfenced code with a language line and trailing notes",
        f"python\n{HELPER}\n\n{WATCHLIST}\nNote: uses the standard library only.\n",
        HELPER + "\n\n" + WATCHLIST,
    ),
]


@pytest.mark.parametrize(("reply", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_extract_code_corpus(reply: str, expected: str) -> None:
    code = extract_code(reply)
    assert code == expected
    ast.parse(code)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I cannot help with that.", "no Python code"),
        ('```json\n{"a": 1}\n```', r"no Python code block \(its blocks are: json\)"),
        ("```python\ndef f(:\n    pass\n```", "does not parse: .* line 1"),
        ("```python\nprint(f(1))\n```", "defines nothing"),
        ("Here:\ndef f(row):\n    return {\n", "does not parse"),
    ],
)
def test_extract_code_fails_clearly(reply: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        extract_code(reply)


PROSE = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="`~\r\x00"), max_size=200)


@given(before=PROSE, after=PROSE, tag=st.sampled_from(["python", "py", "Python", ""]))
def test_fenced_code_survives_any_prose_around_it(before: str, after: str, tag: str) -> None:
    reply = f"{before}\n```{tag}\n{WATCHLIST}```\n{after}"
    assert extract_code(reply) == WATCHLIST


def test_check_function_accepts_the_exact_signature() -> None:
    check_function(WATCHLIST, "watchlist", ["row", "params"])
    check_function("def f(a, b, *, c=1):\n    return a\n", "f", ["a", "b"])
    check_function("def f(x):\n    pass\n\n\ndef f(a, b):\n    return a\n", "f", ["a", "b"])


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "def other(row, params):\n    pass\n",
            r"must define `def watchlist\(row, params\)`.*other",
        ),
        ("x = 1\n", "must define `def watchlist\\(row, params\\)` at top level, but does not$"),
        ("def watchlist(row):\n    pass\n", "it is `def watchlist\\(row\\)`"),
        ("def watchlist(params, row):\n    pass\n", "it is `def watchlist\\(params, row\\)`"),
        ("def watchlist(row, params, *rest):\n    pass\n", "rest"),
        ("def watchlist(row, params, *, strict):\n    pass\n", "strict"),
        ("async def watchlist(row, params):\n    pass\n", "not `async def`"),
        ("class C:\n    def watchlist(self, row, params):\n        pass\n", "does not"),
        ("def watchlist(row, params)\n    pass\n", "does not parse"),
    ],
)
def test_check_function_says_what_is_wrong(code: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        check_function(code, "watchlist", ["row", "params"])
