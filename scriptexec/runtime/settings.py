"""Settings come from environment variables (documented in the program's .env.example);
relative paths are resolved against the program's own directory."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError

_home: Path | None = None


def set_home(directory: Path) -> None:
    """The program's directory (where app.py is): relative settings start there."""
    global _home
    _home = directory.resolve()


def home() -> Path:
    return _home if _home is not None else Path.cwd()


def setting(name: str, default: str) -> str:
    """An environment variable, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def positive_setting(name: str, default: int) -> int:
    text = setting(name, str(default))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{name}={text}: expected a whole number above 0")
    return value


def resolve(location: str) -> Path:
    """A path from a setting; a relative one is relative to the program's directory."""
    path = Path(location).expanduser()
    return path if path.is_absolute() else home() / path


def output_dir() -> Path:
    return resolve(setting("OUTPUT_DIR", "results"))


def exports_dir() -> Path:
    return resolve(setting("EXPORTS_DIR", "exports"))
