"""Names that contain eval/exec/compile but are not them."""

from __future__ import annotations

import ast
import re
from typing import Any

AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def literal(text: str) -> Any:
    return ast.literal_eval(text)


def amounts(text: str) -> list[float]:
    return [float(m) for m in AMOUNT.findall(text)]


def build(compile: bool, source: str) -> str:  # a parameter that shadows the builtin
    return source.strip() if compile else source


class Model:
    def eval(self) -> Model:
        return self


def prepare(model: Model) -> Model:
    return model.eval()
