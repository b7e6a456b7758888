"""`ast.parse`, one thread at a time.

CPython 3.11's AST constructor keeps its recursion counter in interpreter-wide state, so
two threads converting trees at once (stage threads under `build -j`, or validate and test
running side by side) can fail with `SystemError: AST constructor recursion depth
mismatch` (seen on 3.11.7). Parsing takes milliseconds; serialising it costs nothing
measurable and makes the failure impossible.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_PARSING = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> Any:
    with _PARSING:
        return ast.parse(source, filename=filename, mode=mode)
