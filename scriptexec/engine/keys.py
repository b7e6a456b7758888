"""Stage keys: sha256 over the canonical JSON of exactly what a stage reads.

Like DVC's dict_hash: the key material is serialised with sorted keys and no whitespace,
so the same inputs always give the same key, whatever order they were gathered in.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# Bump when the layout of the key material changes, so every old key becomes a miss.
FORMAT_VERSION = 1


def dict_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def short_hash(value: Any) -> str:
    """A 12-hex-digit digest for the lock's per-input record (enough to see what changed)."""
    return dict_hash(value)[:12]


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stage_key(
    stage: str, stage_version: int, inputs: dict[str, Any], upstream: dict[str, dict[str, str]]
) -> str:
    return dict_hash(
        {
            "format": FORMAT_VERSION,
            "stage": stage,
            "stage_version": stage_version,
            "inputs": inputs,
            "upstream": upstream,
        }
    )
