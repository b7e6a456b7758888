"""The local build state that makes a no-op build cheap (.scriptexec/state.json).

For every spec it remembers the signatures (mtime, size, inode) of the spec, of every file
the build read (templates, prompts, sample data) and of every file it published, with the
stage keys that resulted. When none of those signatures moved, the spec is up to date
without parsing YAML, validating a schema or hashing anything. It is a pure accelerator:
deleting it only makes the next build slower.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.engine.cache import atomic_write
from scriptexec.engine.digests import Signature, signature

STATE_VERSION = 1


@dataclass
class SpecState:
    name: str
    spec_sig: Signature
    source_digest: str
    options: str  # hash of the build options that change keys (base image, until, ...)
    deps: dict[str, Signature | None]  # files read -> signature (None: looked for, absent)
    outputs: dict[str, Signature]  # files published -> signature
    image_key: str | None = None
    llm: dict[str, Any] | None = None  # provider settings and model digest, re-checked
    upstream: dict[str, str] = field(default_factory=dict)  # specs read from: name -> file

    def to_json(self) -> dict[str, Any]:
        return self.__dict__

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SpecState:
        return cls(
            d["name"],
            tuple(d["spec_sig"]),
            d["source_digest"],
            d["options"],
            {k: tuple(v) if v else None for k, v in d["deps"].items()},
            {k: tuple(v) for k, v in d["outputs"].items()},
            d.get("image_key"),
            d.get("llm"),
            dict(d.get("upstream") or {}),
        )


@dataclass
class BuildState:
    path: Path
    digests: dict[str, Any] = field(default_factory=dict)
    lock_sig: Signature | None = None
    specs: dict[str, SpecState] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BuildState:
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("version") != STATE_VERSION:
                return cls(path)
            return cls(
                path,
                raw.get("digests", {}),
                tuple(raw["lock_sig"]) if raw.get("lock_sig") else None,
                {k: SpecState.from_json(v) for k, v in raw.get("specs", {}).items()},
            )
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # A pure accelerator: a damaged state only costs one slower build.
            return cls(path)

    def save(self, digests: dict[str, Any], lock_path: Path) -> None:
        self.digests = digests
        self.lock_sig = signature(lock_path)
        body = {
            "version": STATE_VERSION,
            "digests": self.digests,
            "lock_sig": self.lock_sig,
            "specs": {k: v.to_json() for k, v in sorted(self.specs.items())},
        }
        atomic_write(self.path, json.dumps(body, separators=(",", ":")).encode())


class SignatureCache:
    """stat() each path once per run: templates are shared by every spec."""

    def __init__(self) -> None:
        self._sigs: dict[str, Signature | None] = {}

    def get(self, path: str) -> Signature | None:
        if path not in self._sigs:
            self._sigs[path] = signature(path)
        return self._sigs[path]


def unchanged(recorded: dict[str, Any], sigs: SignatureCache) -> bool:
    return all(sigs.get(p) == (tuple(s) if s else None) for p, s in recorded.items())
