"""The content-addressed cache of stage outputs.

Layout (as DVC's): blobs/<d[:2]>/<d> holds file contents by sha256; stages/<k[:2]>/<k>.json
holds a stage's record (its output files' digests and meta) by stage key. Everything is
written to a temporary file and published with os.replace, so a reader sees a whole entry
or none. A corrupt or truncated entry is a miss with a warning, never a crash; that
includes a record naming a file outside the build or a "digest" that is a path (the cache
may be shared or copied: its contents are checked, not trusted), and a folder where a file
belongs or the reverse, which is removed so the next write repairs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scriptexec.engine.names import DIGEST, UnsafeName, check_digest, check_name, inside

# A temporary (`.<name>.<random>.tmp`) older than this belongs to no write still under way:
# atomic_write takes milliseconds, and other projects' builds may share the cache, so their
# project lock cannot tell gc which temporaries are in use.
STALE_TMP_SECONDS = 3600.0
MISSING = "output not in the local cache"
CORRUPT = "cache entry was corrupt"


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
        self._repair_lock = threading.Lock()  # stages run in threads; repair once, warn once

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / check_digest(digest)[:2] / digest

    def _record_path(self, key: str) -> Path:
        return self.root / "stages" / check_digest(key)[:2] / f"{key}.json"

    def put_blob(self, data: bytes, mode: int = 0o644) -> str:
        """Store `data`; `mode` tighter than 0644 (a private data file) is kept, and also
        tightens a blob with the same content that is already there."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._blob_path(digest)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._write(path, data, mode)
            return digest
        if not stat.S_ISREG(st.st_mode):
            self._write(path, data, mode)
        elif stat.S_IMODE(st.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
        return digest

    def get_blob(self, digest: str) -> bytes | None:
        return self._get_blob(digest)[0]

    def _get_blob(self, digest: str) -> tuple[bytes | None, bool]:
        """(content or None, whether something unusable was there)."""
        path = self._blob_path(digest)
        data, corrupt = self._read(path)
        if data is not None and hashlib.sha256(data).hexdigest() != digest:
            self.warn(f"cache: {path} is corrupt (content does not match its digest); removing it")
            self._remove(path)
            return None, True
        return data, corrupt

    def put_record(self, key: str, record: StageRecord) -> None:
        body = json.dumps({"files": record.files, "meta": record.meta}, sort_keys=True, indent=1)
        self._write(self._record_path(key), body.encode("utf-8"), 0o644)

    def get_record(self, key: str) -> StageRecord | None:
        return self._get_record(key)[0]

    def _get_record(self, key: str) -> tuple[StageRecord | None, bool]:
        path = self._record_path(key)
        raw, corrupt = self._read(path)
        if raw is None:
            return None, corrupt
        try:
            obj = json.loads(raw)
            files, meta = obj["files"], obj["meta"]
            if not isinstance(files, dict) or not isinstance(meta, dict):
                raise TypeError("bad shape")
            # Names are written into build/ and digests become paths under blobs/.
            checked = {check_name(k): check_digest(v) for k, v in files.items()}
        except UnsafeName as exc:
            self.warn(f"cache: {path} is corrupt ({exc}); treating it as a miss")
            self._remove(path)
            return None, True
        except (ValueError, KeyError, TypeError):
            self.warn(f"cache: {path} is corrupt; treating it as a miss")
            self._remove(path)
            return None, True
        return StageRecord(checked, meta), False

    def load_files(self, record: StageRecord) -> dict[str, bytes] | None:
        """All of a record's files, or None if any blob is missing or corrupt."""
        return self._load_files(record)[0]

    def _load_files(self, record: StageRecord) -> tuple[dict[str, bytes] | None, bool]:
        out = {}
        for name, digest in record.files.items():
            data, corrupt = self._get_blob(digest)
            if data is None:
                return None, corrupt
            out[name] = data
        return out, False

    def fetch(self, key: str) -> tuple[StageRecord | None, dict[str, bytes] | None, str]:
        """A stage's record and files, or why not: MISSING, or CORRUPT (already warned)."""
        record, corrupt = self._get_record(key)
        if record is None:
            return None, None, CORRUPT if corrupt else MISSING
        files, corrupt = self._load_files(record)
        if files is None:
            return record, None, CORRUPT if corrupt else MISSING
        return record, files, ""

    # -- reading and writing, with damaged layouts repaired ---------------------------

    def _read(self, path: Path) -> tuple[bytes | None, bool]:
        """(content, False); (None, False) when absent; (None, True) when unusable."""
        try:
            return path.read_bytes(), False
        except FileNotFoundError:
            return None, False
        except (IsADirectoryError, NotADirectoryError):
            self._clear_way(path)
            return None, True
        except OSError as exc:
            self.warn(f"cache: cannot read {path}: {exc.strerror}; treating it as a miss")
            return None, True

    def _write(self, path: Path, data: bytes, mode: int) -> None:
        try:
            atomic_write(path, data, mode)
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            self._clear_way(path)
            atomic_write(path, data, mode)

    def _clear_way(self, path: Path) -> None:
        """Remove the file that stands where the cache needs a folder, or the folder where
        it needs a file, on the way from the cache root to `path` (never the root itself)."""
        import shutil

        with self._repair_lock:
            node = self.root
            parts = path.relative_to(self.root).parts
            for i, part in enumerate(parts):
                node = node / part
                try:
                    is_dir = stat.S_ISDIR(os.stat(node).st_mode)
                except FileNotFoundError:
                    return  # nothing in the way (another thread repaired it)
                want_dir = i < len(parts) - 1
                if is_dir == want_dir:
                    continue
                found, wanted = ("a folder", "a file") if is_dir else ("a file", "a folder")
                self.warn(f"cache: {node} is corrupt ({found} where {wanted} belongs); removing it")
                if is_dir and not node.is_symlink():
                    shutil.rmtree(node)
                else:
                    node.unlink()
                return

    def touch(self, key: str) -> None:
        """Mark a record used now, so `cache gc --older-than` keeps what builds still use."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self._record_path(key))

    def _entries(self, folder: str, pattern: str) -> list[Path]:
        """Files under stages/ or blobs/ named by a digest, and inside the cache on disk."""
        found = []
        for path in (self.root / folder).glob(pattern):
            if not DIGEST.fullmatch(path.name.removesuffix(".json")) or not path.is_file():
                continue  # temporaries (swept by age), folders (repaired when read)
            try:
                found.append(inside(self.root, path.relative_to(self.root).as_posix()))
            except UnsafeName as exc:
                self.warn(f"cache: skipping {path}: {exc}")
        return found

    def sweep_temporaries(self, max_age: float = STALE_TMP_SECONDS) -> tuple[int, int]:
        """Remove what writes killed inside atomic_write left: `.<name>.<random>.tmp`
        files older than `max_age`. Returns (files removed, bytes freed)."""
        removed, freed = 0, 0
        now = time.time()
        for folder in ("stages", "blobs"):
            for path in (self.root / folder).glob("*/.*.tmp"):
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime > max_age:
                    self._remove(path)
                    removed, freed = removed + 1, freed + st.st_size
        return removed, freed

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
        for path in self._entries("stages", "*/*.json"):
            key = path.stem
            with contextlib.suppress(FileNotFoundError):
                records.append((path.stat().st_mtime, path, key))
        now = time.time()
        removed, freed = self.sweep_temporaries()
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
        blobs = self._entries("blobs", "*/*")
        total = sum(p.stat().st_size for p in blobs)
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
        for blob in blobs:
            if blob.name not in referenced or referenced[blob.name] <= 0:
                with contextlib.suppress(FileNotFoundError):
                    size = blob.stat().st_size
                    sizes[blob] = size
                    self._remove(blob)
                    freed += size
                    removed += 1
        return removed, freed
