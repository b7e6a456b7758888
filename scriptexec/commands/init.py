"""`scriptexec init NAME`: a spec scaffold that validates and builds as written."""

from __future__ import annotations

import os
import re
import shutil
import string
from pathlib import Path

from scriptexec.engine.cache import atomic_write
from scriptexec.errors import UsageError
from scriptexec.resources import schema_path, templates_dir

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def init_spec(*, root: Path, name: str) -> list[Path]:
    if not NAME.match(name):
        raise UsageError(
            f"{name!r} is not a valid spec name (lower case letters, digits, _ and -, "
            "starting with a letter)"
        )
    spec = root / "specs" / f"{name}.yaml"
    data = root / "specs" / "data" / f"{name}.csv"
    for path in (spec, data):
        if path.exists():
            raise UsageError(f"{path.relative_to(root)} already exists; not overwriting it")
    written = []
    schema = root / "schemas" / "spec.schema.json"
    if not schema.exists():
        # The scaffold points editors at ../schemas/spec.schema.json: make it resolve.
        schema.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(schema_path("spec"), schema)
        written.append(schema)
    text = (templates_dir() / "scaffold" / "spec.yaml").read_text(encoding="utf-8")
    text = string.Template(text).substitute(
        name=name,
        title=name.replace("-", " ").replace("_", " ").capitalize(),
        spec_path=f"specs/{name}.yaml",
        schema_ref=os.path.relpath(schema, spec.parent),
    )
    atomic_write(data, (templates_dir() / "scaffold" / "data.csv").read_bytes())
    atomic_write(spec, text.encode("utf-8"))
    return [*written, data, spec]
