"""Python code out of a model's reply, however it was wrapped.

Models put code in markdown fences (tagged or not, sometimes unclosed), surround it with
prose, think aloud first, add a block of example usage or a shell command. This keeps the
Python that defines things, drops the rest, and insists that what is left parses.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Collection, Mapping, Sequence

from scriptexec.errors import LLMError
from scriptexec.pyparse import parse

PYTHON_TAGS = frozenset({"python", "python3", "py", "py3", "ipython"})
_THINKING = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
MAX_STARTS = 5  # lines that look like code to try as the start of unfenced code
_CODE_START = re.compile(r"^(def |async def |class |import |from \S+ import |@\w|#)")


class CodeError(LLMError):
    """A reply holds no usable code. Its message is what to tell the model in a repair."""


def extract_code(reply: str) -> str:
    """The Python code in `reply`, ending in one newline; CodeError if there is none.

    Fenced blocks win: the python-tagged ones (or untagged ones that parse when none is
    tagged), without blocks that only show usage. Without fences, the longest stretch
    that parses, from the first line that looks like code. Top-level expressions (example
    calls, a stray "Sure") and `if __name__ == "__main__":` blocks are dropped.
    """
    text = _THINKING.sub("", reply)
    blocks = _fenced_blocks(text)
    code = _from_blocks(blocks) if blocks else _longest_parsing_stretch(text)
    return _drop_usage(code)


def check_function(code: str, name: str, params: Sequence[str]) -> None:
    """CodeError unless `code` defines `def name(params...)` at top level, exactly so."""
    tree = _parse_or_raise(code)
    defined = [
        node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    matching = [node for node in defined if node.name == name]
    wanted = f"def {name}({', '.join(params)})"
    if not matching:
        others = ", ".join(node.name for node in defined)
        found = f"; it defines {others}" if others else ""
        raise CodeError(f"the code must define `{wanted}` at top level, but does not{found}")
    function = matching[-1]  # the last definition is the one that counts at run time
    if isinstance(function, ast.AsyncFunctionDef):
        raise CodeError(f"`{name}` must be a plain function (`{wanted}`), not `async def`")
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    defaults = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    required_keyword = [a.arg for a, default in defaults if default is None]
    if positional != list(params) or args.vararg or args.kwarg or required_keyword:
        got = ast.unparse(args)
        raise CodeError(f"`{name}` must be `{wanted}`, but it is `def {name}({got})`")


def without_imports_of(code: str, provided: Mapping[str, Collection[str]]) -> str:
    """`code` without the names the program's skeleton already imports (`provided`:
    module -> names) in its top-level `from module import ...` lines; a line left with
    nothing to import goes. A second import of one name is a lint error (F811), so the
    skeleton's import must be the only one."""
    tree = _parse_or_raise(code)
    lines = code.splitlines()
    for node in reversed(tree.body):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        names = provided.get(node.module, ())
        kept = [a for a in node.names if a.name not in names or a.asname not in (None, a.name)]
        if len(kept) == len(node.names) or node.end_lineno is None:
            continue
        rest = ast.unparse(ast.ImportFrom(node.module, kept, 0)) if kept else ""
        before = lines[node.lineno - 1][: node.col_offset]
        after = lines[node.end_lineno - 1][node.end_col_offset :]
        merged = before + rest + after if rest else _join_statements(before, after)
        lines[node.lineno - 1 : node.end_lineno] = [merged] if merged.strip() else []
    return "\n".join(lines).strip("\n") + "\n"


def _join_statements(before: str, after: str) -> str:
    """What is left of a line when a statement between `before` and `after` goes: one
    `;` fewer, so `import os; <gone>` does not end in a stray semicolon."""
    before, after = before.rstrip(), after.lstrip()
    if before.endswith(";"):
        return before[:-1].rstrip() + after
    if after.startswith(";"):
        return before + after[1:].lstrip()
    return before + after


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, dedented body) of every fenced block; an unclosed one runs to the end."""
    blocks: list[tuple[str, str]] = []
    opened: tuple[str, str] | None = None  # (fence, tag) of the open block
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if opened is None:
            if match:
                tag = match.group("info").split(" ", 1)[0].strip("{}.").lower()
                opened, body = (match.group("fence"), tag), []
            continue
        fence, tag = opened
        if match and not match.group("info") and match.group("fence").startswith(fence):
            blocks.append((tag, textwrap.dedent("\n".join(body))))
            opened = None
        else:
            body.append(line)
    if opened is not None:
        blocks.append((opened[1], textwrap.dedent("\n".join(body))))
    return blocks


def _from_blocks(blocks: list[tuple[str, str]]) -> str:
    chosen = [body for tag, body in blocks if tag in PYTHON_TAGS]
    if not chosen:
        chosen = [body for tag, body in blocks if not tag and _parses(body)]
    if not chosen:
        tags = ", ".join(sorted({tag or "untagged" for tag, _ in blocks}))
        raise CodeError(f"the reply has no Python code block (its blocks are: {tags})")
    defining = [body for body in chosen if not _only_usage(body)]
    code = "\n\n".join(body.strip("\n") for body in (defining or chosen))
    _parse_or_raise(code)
    return code


def _longest_parsing_stretch(text: str) -> str:
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    if not starts:
        raise CodeError("the reply has no Python code (no fenced block, no `def` or `import`)")
    if _parses(text):
        return text
    for start in starts[:MAX_STARTS]:
        for end in range(len(lines), start, -1):
            if end < len(lines) and not lines[end][:1].strip():
                continue  # only cut before an unindented line: prose, never a body's middle
            candidate = "\n".join(lines[start:end])
            if _parses(candidate):
                return candidate
    _parse_or_raise("\n".join(lines[starts[0] :]))
    raise AssertionError("unreachable: the stretch above did not parse")


def _drop_usage(code: str) -> str:
    """Without top-level expressions (example calls, stray words) and `__main__` blocks."""
    tree = _parse_or_raise(code)
    lines = code.splitlines()
    for index in range(len(tree.body) - 1, -1, -1):
        node = tree.body[index]
        if _is_usage(node, docstring_position=index == 0) and node.end_lineno is not None:
            del lines[node.lineno - 1 : node.end_lineno]
    result = "\n".join(lines).strip("\n")
    if not result.strip():
        raise CodeError("the reply's code only calls functions; it defines nothing")
    return result + "\n"


def _is_usage(node: ast.stmt, *, docstring_position: bool) -> bool:
    if isinstance(node, ast.Expr):
        docstring = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        return not (docstring and docstring_position)
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Compare) and "__name__" in ast.unparse(test)


def _only_usage(code: str) -> bool:
    """A block that defines and imports nothing and calls something: an example."""
    try:
        tree = parse(code)
    except SyntaxError:
        return False
    defines = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    if any(isinstance(node, defines) for node in tree.body):
        return False
    return any(isinstance(n, ast.Call) for node in tree.body for n in ast.walk(node))


def _parses(code: str) -> bool:
    try:
        parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return False
    return True


def _parse_or_raise(code: str) -> ast.Module:
    try:
        return parse(code)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        shown = (exc.text or "").strip()
        raise CodeError(
            f"the code does not parse: {exc.msg} at {where}" + (f": {shown}" if shown else "")
        ) from None
    except ValueError as exc:
        raise CodeError(f"the code does not parse: {exc}") from None
