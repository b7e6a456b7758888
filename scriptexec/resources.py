"""Where the shipped schemas, templates and prompts are.

They live at the top of the repository (users read them there) and are copied into the
package when a wheel is built. An editable install or a source checkout has them beside the
package instead, so both places are looked at, packaged first.
"""

from __future__ import annotations

from pathlib import Path


def data_dir(name: str) -> Path:
    """The directory of shipped data called `name` ("schemas" or "templates")."""
    import importlib.resources  # ~6 ms: not on the no-op path

    packaged = Path(str(importlib.resources.files("scriptexec"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"scriptexec is installed without its {name}/ directory")


def schema_path(name: str) -> Path:
    return data_dir("schemas") / f"{name}.schema.json"


def templates_dir() -> Path:
    return data_dir("templates")
