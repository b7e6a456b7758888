"""Helpers for the harness tests: programs rendered from the codegen test models."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from scriptexec.codegen.render import render_program
from scriptexec.project import Project

MODELS = Path(__file__).resolve().parent.parent / "codegen" / "models"


@cache
def _text(name: str) -> str:
    return (MODELS / f"{name}.json").read_text(encoding="utf-8")


def model(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads(_text(name)))


def program_files(program_model: dict[str, Any], root: Path) -> dict[str, bytes]:
    return render_program(program_model, Project(root))


def write_program(files: dict[str, bytes], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    return directory


def render(program_model: dict[str, Any], directory: Path) -> Path:
    return write_program(program_files(program_model, directory), directory)


P1 = {
    "property_id": "P1",
    "name": "A",
    "gross_revenue": 200000,
    "operating_expenses": 75000,
    "annual_debt_service": 100000,
}


def check(name: str = "at the covenant", **expect: Any) -> dict[str, Any]:
    """A canonical check of the DSCR program on P1 (at the covenant by default)."""
    return {
        "name": name,
        "given": {"properties": [dict(P1)]},
        "parameters": expect.pop("parameters", {}),
        "expect": {"rows": None, "summary": None, "row_count": None, "error": None, **expect},
        "tolerance": {"abs": 1e-6, "rel": 1e-9},
    }
