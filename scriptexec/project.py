"""A project: the directory scriptexec runs in, and the settings of one invocation."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scriptexec.engine.digests import FileDigests
from scriptexec.resources import templates_dir

STATE_DIRNAME = ".scriptexec"
LOCK_FILENAME = "scriptexec.lock"


@dataclass
class Options:
    """Settings that come from flags and environment variables, not from a spec."""

    # --base-image, SCRIPTEXEC_BASE_IMAGE or scriptexec.toml's [image] base_image replaces
    # runtime.base_image; base_image_source says which, for status's reasons.
    base_image: str | None = None
    base_image_source: str = ""
    build_network: str | None = (
        None  # --build-network host: docker build's network (off by default)
    )
    require_image: bool = False  # --require-image: no engine is an error, not a skip
    no_image: bool = False
    frozen: bool = False
    offline: bool = False  # --check / --frozen: never contact an LLM server, use the lock
    llm_host: str | None = None


@dataclass
class Project:
    root: Path
    cache_dir: Path = field(default=Path())
    options: Options = field(default_factory=Options)
    # File digests remembered by (mtime, size, inode); loaded from .scriptexec/state.json.
    digests: FileDigests = field(default_factory=FileDigests)
    # Set by the engine: how to warn, and the model digest scriptexec.lock records for a spec.
    warn: Callable[[str], None] = field(
        default=lambda msg: print(f"warning: {msg}", file=sys.stderr)
    )
    locked_model_digest: Callable[[str], str | None] = field(default=lambda name: None)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        if self.cache_dir == Path():
            env = os.environ.get("SCRIPTEXEC_CACHE_DIR")
            self.cache_dir = Path(env) if env else self.root / STATE_DIRNAME / "cache"
        self._choose_base_image()

    def _choose_base_image(self) -> None:
        """The first of --base-image, SCRIPTEXEC_BASE_IMAGE, scriptexec.toml (or none: the
        spec's runtime.base_image), remembered with where it came from."""
        o = self.options
        if o.base_image is not None:
            o.base_image_source = o.base_image_source or "--base-image"
            return
        env = os.environ.get("SCRIPTEXEC_BASE_IMAGE")
        if env:
            o.base_image, o.base_image_source = env, "SCRIPTEXEC_BASE_IMAGE"
            return
        from scriptexec.config import CONFIG_FILENAME, load_config

        configured = load_config(self.root).base_image
        if configured:
            o.base_image, o.base_image_source = configured, CONFIG_FILENAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIRNAME

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILENAME

    def build_dir(self, spec_name: str) -> Path:
        return self.root / "build" / spec_name

    def template(self, relpath: str) -> Path:
        """A template file: the project's own `templates/<relpath>` wins over the shipped one."""
        own = self.root / "templates" / relpath
        if own.is_file():
            return own
        self.digests.note_missing(own)
        return templates_dir() / relpath

    def file_digest(self, path: Path) -> str | None:
        """sha256 of a file (None if missing), without re-reading unchanged files.

        Stages hash the files they read through this, so the engine knows every file a
        build depended on and can tell, cheaply, whether any of them changed.
        """
        return self.digests.digest(path)

    def template_digest(self, relpath: str) -> str:
        """The digest of the template that `template(relpath)` resolves to."""
        digest = self.file_digest(self.template(relpath))
        if digest is None:
            raise FileNotFoundError(f"template {relpath} not found")
        return digest

    def relative(self, path: Path) -> str:
        """A path as a user should see it: relative to the project when inside it."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)
