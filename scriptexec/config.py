"""The project's settings file: `scriptexec.toml` at the project root.

It records a choice that belongs to the project (or to this checkout) rather than to one
shell, so that `build`, `status` and `make dscr` all see the same one. Today that is the
image stage's base image:

    [image]
    base_image = "scriptexec/python:3.11-bookworm"

Which base image a build uses, first match wins: `--base-image`, `SCRIPTEXEC_BASE_IMAGE`
(both overrides for one run, named in `status`'s reasons), this file, the spec's
`runtime.base_image`. A missing file is no settings; it costs one failed open().
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scriptexec.errors import UsageError

CONFIG_FILENAME = "scriptexec.toml"
# table -> keys this version understands; anything else is a typo worth reporting.
KNOWN: dict[str, frozenset[str]] = {"image": frozenset({"base_image"})}


@dataclass(frozen=True)
class Config:
    base_image: str | None = None


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILENAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise UsageError(f"{CONFIG_FILENAME}: cannot read it: {exc.strerror}") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise UsageError(
            f"{CONFIG_FILENAME} needs Python 3.11 or newer (tomllib) to be read;"
            " remove it and pass --base-image instead"
        ) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{CONFIG_FILENAME}: not valid TOML: {exc}") from None
    _check(doc)
    image: dict[str, Any] = doc.get("image", {})
    return Config(base_image=image.get("base_image"))


def _check(doc: dict[str, Any]) -> None:
    for table, value in doc.items():
        if table not in KNOWN or not isinstance(value, dict):
            raise UsageError(
                f"{CONFIG_FILENAME}: unknown setting {table!r}; known: "
                + ", ".join(f"[{t}] {k}" for t, keys in KNOWN.items() for k in sorted(keys))
            )
        for key, setting in value.items():
            if key not in KNOWN[table]:
                raise UsageError(
                    f"{CONFIG_FILENAME}: [{table}] {key}: unknown setting; known: "
                    + ", ".join(sorted(KNOWN[table]))
                )
            if not isinstance(setting, str) or not setting.strip():
                raise UsageError(f"{CONFIG_FILENAME}: [{table}] {key} must be a non-empty string")
