"""Read YAML settings safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_settings(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def read_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.SafeLoader))
