"""scriptexec.lock: what was built, from what, per spec and stage. Meant to be committed.

YAML with sorted keys, so diffs between commits show exactly which stage inputs changed.
Rewritten atomically, and only with stages that succeeded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.engine.cache import atomic_write
from scriptexec.engine.names import UnsafeName, check_digest, check_name

HEADER = "# scriptexec.lock: written by `scriptexec build`; commit it next to your specs.\n"
LOCK_VERSION = 1


@dataclass
class StageEntry:
    key: str
    inputs: dict[str, str]  # input name -> short digest: what `status` diffs to say why
    upstream: dict[str, dict[str, str]]  # upstream stage -> file -> digest
    outputs: dict[str, str]  # file -> digest
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "inputs": self.inputs, "outputs": self.outputs}
        if self.upstream:
            out["upstream"] = self.upstream
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageEntry:
        return cls(
            str(d["key"]),
            dict(d.get("inputs") or {}),
            dict(d.get("upstream") or {}),
            dict(d.get("outputs") or {}),
            dict(d.get("meta") or {}),
        )


def _checked(entry: StageEntry) -> StageEntry:
    """The entry, if its key and outputs look like what a build writes (the lock is
    committed, so anyone may have edited it); else UnsafeName."""
    check_digest(entry.key)
    for name, digest in entry.outputs.items():
        check_name(name)
        check_digest(digest)
    return entry


class LockFile:
    def __init__(self, path: Path, warn: Any) -> None:
        self.path = path
        self.warn = warn
        self._lock = threading.Lock()
        self._specs: dict[str, dict[str, Any]] | None = None  # parsed on first use
        self.dirty = False
        self._saved_at = 0.0

    @property
    def specs(self) -> dict[str, dict[str, Any]]:
        if self._specs is None:
            self._specs = {}
            self._load()
        return self._specs

    @specs.setter
    def specs(self, value: dict[str, dict[str, Any]]) -> None:
        self._specs = value

    def _load(self) -> None:
        import yaml

        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.warn(f"{self.path.name} is unreadable ({exc}); ignoring it")
            return
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            specs = data["specs"] if isinstance(data, dict) else None
            if not isinstance(specs, dict):
                raise TypeError("no 'specs' mapping")
            for name, entry in specs.items():
                stages = {}
                for stage, e in (entry.get("stages") or {}).items():
                    try:
                        stages[stage] = _checked(StageEntry.from_dict(e))
                    except UnsafeName as exc:
                        self.warn(
                            f"{self.path.name}: {name} {stage} is corrupt ({exc}); ignoring it"
                        )
                self.specs[str(name)] = {"spec": entry.get("spec"), "stages": stages}
        except (yaml.YAMLError, TypeError, KeyError, ValueError, AttributeError) as exc:
            self.warn(f"{self.path.name} is corrupt ({exc}); ignoring it: stages are re-checked")
            self.specs = {}

    def stage(self, spec: str, stage: str) -> StageEntry | None:
        with self._lock:
            entry: StageEntry | None = self.specs.get(spec, {}).get("stages", {}).get(stage)
            return entry

    def record(self, spec: str, spec_path: str, stage: str, entry: StageEntry) -> None:
        with self._lock:
            s = self.specs.setdefault(spec, {"spec": spec_path, "stages": {}})
            s["spec"] = spec_path
            if s["stages"].get(stage) != entry:
                s["stages"][stage] = entry
                self.dirty = True

    def forget(self, spec: str, stages: list[str] | None = None) -> None:
        with self._lock:
            if spec not in self.specs:
                return
            if stages is None:
                del self.specs[spec]
            else:
                for st in stages:
                    self.specs[spec]["stages"].pop(st, None)
            self.dirty = True

    def keys(self) -> set[str]:
        with self._lock:
            return {e.key for s in self.specs.values() for e in s["stages"].values()}

    def save(self, min_interval: float = 0.0) -> None:
        """Rewrite the lock if anything changed (and, with min_interval, if the last write
        is at least that many seconds old)."""
        with self._lock:
            if not self.dirty or time.monotonic() - self._saved_at < min_interval:
                return
            body = {
                "version": LOCK_VERSION,
                "specs": {
                    name: {
                        "spec": s["spec"],
                        "stages": {st: e.to_dict() for st, e in s["stages"].items()},
                    }
                    for name, s in sorted(self.specs.items())
                },
            }
            text = "".join(dump_yaml(body))
            atomic_write(self.path, (HEADER + text).encode("utf-8"))
            self.dirty = False
            self._saved_at = time.monotonic()


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:*-]*")
_AMBIGUOUS = re.compile(r"(?i)true|false|yes|no|on|off|null|y|n|~")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not _AMBIGUOUS.fullmatch(text):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _empty(value: Any) -> str | None:
    return "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else None


def dump_yaml(value: Any, indent: str = "") -> Iterator[str]:
    """Block-style YAML for the lock's plain data, keys sorted.

    PyYAML's emitter takes over a second for a lock of 1,000 specs; this takes a few
    dozen milliseconds and writes the same document (the tests load it back with PyYAML).
    """
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, dict | list) and item:
                yield f"{indent}{_scalar(key)}:\n"
                yield from dump_yaml(item, indent + "  ")
            else:
                yield f"{indent}{_scalar(key)}: {_empty(item) or _scalar(item)}\n"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                lines = list(dump_yaml(item, indent + "  "))
                yield f"{indent}- {lines[0].lstrip()}"
                yield from lines[1:]
            else:
                yield f"{indent}- {_empty(item) or _scalar(item)}\n"
    else:
        yield f"{indent}{_scalar(value)}\n"
