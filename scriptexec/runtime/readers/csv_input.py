"""The careful CSV reader: Python's csv module, strict, one record at a time.

It defines what a CSV input means (the fast path in `csv_fast.py` must agree with it)
and words every error; the fast path hands it any file it cannot vouch for.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProgramError
from ..program import Input
from .convert import Record
from .decoding import decode, line_breaks, read_bytes


def encoding_setting(inp: Input) -> str:
    """The spec key a decoding error points at."""
    return f"inputs.{inp.name}.encoding"


def read_csv(inp: Input, path: Path, source: str) -> list[Record]:
    text = decode(read_bytes(path, source), inp.encoding, source, encoding_setting(inp))
    # strict: an unterminated quote or text after a closing quote is an error, not data
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the record being read starts on
    try:
        header: list[str] = []
        for header in reader:  # the first line that is not blank
            if header:
                break
        check_header(inp, header, source, reader.line_num)
        start = reader.line_num + 1
        records = []
        for values in reader:
            if len(values) > len(header):
                raise ProgramError(
                    f"{source}, line {start}: {len(values)} values but the header has"
                    f" {len(header)} columns"
                )
            if values:  # a blank line is no record
                record = dict(itertools.zip_longest(header, values))  # short: None
                records.append((f"line {start}", record))
            start = reader.line_num + 1
    except csv.Error as exc:
        problem = csv_problem(exc, text, start)
        raise ProgramError(f"{source}, line {start}: {problem}") from None
    return records


def check_header(inp: Input, header: Sequence[str], source: str, line: int) -> None:
    first: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        # Unnamed columns (a spreadsheet's empty trailing ones) cannot be fields.
        if name and name in first:
            raise ProgramError(
                f"{source}, line {line}: column {name!r} appears twice"
                f" (columns {first[name]} and {number})"
            )
        first[name] = number
    absent = [f.name for f in inp.fields if f.name not in header]
    if absent:
        found = ", ".join(header) or "nothing"
        absent_text = ", ".join(absent)
        raise ProgramError(f"{source}: no column {absent_text} (found {found})")


def csv_problem(exc: csv.Error, text: str, start: int) -> str:
    """What a strict csv reader's error means, for the record starting at `start`."""
    message = str(exc)
    if message == "unexpected end of data":  # the end of the file inside a quoted value
        opened = open_quote_line(text, start)
        return f"unterminated quoted field starting at line {opened}"
    if "expected after" in message:
        return "text after the closing quote of a quoted value (a stray quote?)"
    return message


def open_quote_line(text: str, start: int) -> int:
    """The line where the quoted value that never closes opens: a lenient reader takes
    the rest of the file, from the record starting at `start`, as its last value."""
    lines = io.StringIO(text, newline="")
    for _ in range(start - 1):
        lines.readline()
    reader = csv.reader(lines)
    last = (next(reader, None) or [""])[-1]
    end = start - 1 + reader.line_num  # the file's last line
    return end - line_breaks(last) + (1 if last.endswith(("\n", "\r")) else 0)
