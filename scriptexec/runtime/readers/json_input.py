"""JSON inputs and fixtures: a document, and the list of records at a dotted path in it.

Python's json module rather than DuckDB's read_json: a record is whatever JSON holds
(nested values, big integers, a key twice), and each must be refused or taken exactly as
the messages promise; DuckDB would first infer one type per key from the whole file.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from ..errors import ProgramError
from ..program import Input
from .convert import Record
from .csv_input import encoding_setting
from .decoding import decode, read_bytes


def records_at(document: Any, path: str | None, source: str) -> list[Record]:
    """The list of records at a dotted path inside a JSON document."""
    for part in path.split(".") if path else []:
        if not isinstance(document, dict) or part not in document:
            raise ProgramError(f"{source}: no list of records at '{path}'")
        document = document[part]
    if not isinstance(document, list):
        where = f"at '{path}'" if path else "at the top level"
        raise ProgramError(f"{source}: expected a list of records {where}")
    return [(f"record {n}", record) for n, record in enumerate(document, 1)]


def parse_json(data: bytes | str, source: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProgramError(f"{source}: not valid JSON: {exc}") from None


def read_json(inp: Input, path: Path, source: str) -> list[Record]:
    data = read_bytes(path, source)
    encoding = inp.encoding
    if codecs.lookup(encoding).name == "utf-8":
        encoding = json.detect_encoding(data)  # JSON's own rule: UTF-8, -16 or -32
    text = decode(data, encoding, source, encoding_setting(inp))
    return records_at(parse_json(text, source), inp.records, source)


def read_fixture(path: Path, source: str) -> list[Record]:
    """A JSON file of rows standing in for the real source (offline runs and checks)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{source}: cannot read: {exc}") from None
    return records_at(parse_json(data, source), None, source)
