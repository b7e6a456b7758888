"""The content-addressed cache of stage outputs.

Layout (as DVC's): blobs/<d[:2]>/<d> holds file contents by sha256; stages/<k[:2]>/<k>.json
holds a stage's record (its output files' digests and meta) by stage key. Everything is
written to a temporary file and published with os.replace, so a reader sees a whole entry
or none. A corrupt or truncated entry is a miss with a warning, never a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half."""
    import tempfile  # not needed by a no-op build, which writes nothing

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class StageRecord:
    files: dict[str, str]  # output file -> blob digest
    meta: dict[str, Any]


class Cache:
    def __init__(self, root: Path, warn: Callable[[str], None]) -> None:
        self.root = root
        self.warn = warn

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def _record_path(self, key: str) -> Path:
        return self.root / "stages" / key[:2] / f"{key}.json"

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._blob_path(digest)
        if not path.exists():
            atomic_write(path, data)
        return digest

    def get_blob(self, digest: str) -> bytes | None:
        path = self._blob_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warn(f"cache: cannot read {path}: {exc}; treating as a miss")
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            self.warn(f"cache: {path} is corrupt (content does not match its digest); removing it")
            self._remove(path)
            return None
        return data

    def put_record(self, key: str, record: StageRecord) -> None:
        body = json.dumps({"files": record.files, "meta": record.meta}, sort_keys=True, indent=1)
        atomic_write(self._record_path(key), body.encode("utf-8"))

    def get_record(self, key: str) -> StageRecord | None:
        path = self._record_path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warn(f"cache: cannot read {path}: {exc}; treating as a miss")
            return None
        try:
            obj = json.loads(raw)
            files, meta = obj["files"], obj["meta"]
            if not isinstance(files, dict) or not isinstance(meta, dict):
                raise TypeError("bad shape")
        except (ValueError, KeyError, TypeError):
            self.warn(f"cache: {path} is corrupt; treating it as a miss")
            self._remove(path)
            return None
        return StageRecord({str(k): str(v) for k, v in files.items()}, meta)

    def load_files(self, record: StageRecord) -> dict[str, bytes] | None:
        """All of a record's files, or None if any blob is missing or corrupt."""
        out = {}
        for name, digest in record.files.items():
            data = self.get_blob(digest)
            if data is None:
                return None
            out[name] = data
        return out

    def touch(self, key: str) -> None:
        """Mark a record used now, so `cache gc --older-than` keeps what builds still use."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self._record_path(key))

    def _remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.warn(f"cache: cannot remove {path}: {exc}")

    # -- garbage collection ---------------------------------------------------------------

    def gc(
        self, *, max_size: int | None, older_than: float | None, keep: set[str]
    ) -> tuple[int, int]:
        """Drop records unused for `older_than` seconds, then the oldest until under
        `max_size` bytes; records whose keys are in `keep` (the lock's) stay. Then drop blobs
        no remaining record refers to. Returns (files removed, bytes freed)."""
        records: list[tuple[float, Path, str]] = []
        for path in (self.root / "stages").glob("*/*.json"):
            key = path.stem
            with contextlib.suppress(FileNotFoundError):
                records.append((path.stat().st_mtime, path, key))
        now = time.time()
        removed, freed = 0, 0
        alive: list[tuple[float, Path, str]] = []
        for mtime, path, key in sorted(records):
            if key not in keep and older_than is not None and now - mtime > older_than:
                freed += path.stat().st_size
                self._remove(path)
                removed += 1
            else:
                alive.append((mtime, path, key))
        referenced: dict[str, int] = {}
        sizes: dict[Path, int] = {}
        for _, path, _ in alive:
            record = self.get_record(path.stem)
            for digest in record.files.values() if record else ():
                referenced[digest] = referenced.get(digest, 0) + 1
        total = sum(p.stat().st_size for p in (self.root / "blobs").glob("*/*"))
        if max_size is not None:
            for _, path, key in list(alive):
                if total <= max_size:
                    break
                if key in keep:
                    continue
                record = self.get_record(key)
                self._remove(path)
                removed += 1
                alive.remove(next(a for a in alive if a[1] == path))
                for digest in record.files.values() if record else ():
                    referenced[digest] -= 1
                    if referenced[digest] == 0:
                        blob = self._blob_path(digest)
                        with contextlib.suppress(FileNotFoundError):
                            size = blob.stat().st_size
                            self._remove(blob)
                            total -= size
                            freed += size
                            removed += 1
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in referenced or referenced[blob.name] <= 0:
                with contextlib.suppress(FileNotFoundError):
                    size = blob.stat().st_size
                    sizes[blob] = size
                    self._remove(blob)
                    freed += size
                    removed += 1
        return removed, freed
