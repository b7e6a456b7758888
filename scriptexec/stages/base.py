"""The one small interface every stage implements.

A stage is a pure-ish function from what it declares it reads to a set of output files.
The engine hashes the declaration (`inputs`) into the stage key before running it, looks
the key up in the cache, and only calls `run` on a miss. Stages never write into the
project themselves: they return bytes and the engine publishes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec


@dataclass
class StageResult:
    files: dict[str, bytes]  # relative path -> content; what later stages and build/ see
    meta: dict[str, Any] = field(default_factory=dict)  # recorded in the lock (JSON-able)


@dataclass
class StageContext:
    spec: Spec
    project: Project
    upstream: Mapping[str, StageResult]  # outputs of the stages named in `reads`
    workdir: Path  # an empty temporary directory this stage may use
    cancel: threading.Event  # set when the build is interrupted or superseded
    progress: Callable[[str], None]  # one short line for a TTY progress display
    key: str = ""  # this stage's key (the image stage labels the image with it)


class Stage(Protocol):
    name: str
    version: int  # bump when the stage's output changes for the same inputs
    # Upstream outputs this stage reads: stage name -> file names ("*" for all of them).
    reads: Mapping[str, tuple[str, ...]]
    # Where its files land: "" = build/<name>/ itself, "_scriptexec" = reports beside it,
    # None = cache only.
    publish_dir: str | None

    def inputs(self, spec: Spec, project: Project) -> dict[str, Any]:
        """Exactly what this stage reads besides upstream outputs, as JSON-able values.

        Keys name the source so `status` can say what changed: "spec.compute.dscr",
        "template:program/app.py.j2", "file:data/properties.csv", "setting:model_digest".
        Values are the canonical value or a content digest.
        """
        ...

    def needs_llm(self, spec: Spec) -> bool: ...

    def run(self, ctx: StageContext) -> StageResult: ...
