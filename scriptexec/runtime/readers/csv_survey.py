"""Whether DuckDB's read_csv may read a CSV file for the careful reader, and how.

The fast path (csv_fast.py) takes a file only when its answer is sure to be the careful
reader's (csv_input.py): one record per line apart from blank lines (so that DuckDB's
row numbers name lines), no lone CR, no NUL, and nothing DuckDB reads differently from
Python's csv module (it drops one space between a delimiter and a quote, or between a
quote and a delimiter). `survey` checks that in one pass over the bytes, which also
decodes the whole file, as the careful reader does, and transcodes it to UTF-8 when it
is in another encoding.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .casts import MARKS
from .decoding import is_utf8, read_error

CHUNK = 1 << 20
# Byte pairs that send a file to the careful reader: a space beside a quote, which
# DuckDB may drop where Python's csv keeps it (or refuses the record). Records spanning
# lines need no search: DuckDB then counts fewer rows than lines (or refuses them).
DOUBTFUL = (b' "', b'" ')
BLANK_LINES = (b"\n\n", b"\n\r\n")  # ...each at the end of the line before the blank one
MAX_BLANK_LINES = 100  # each one is a term in every row's `_where`
GLOB = set("*?[]{}")  # a path DuckDB would expand as a pattern rather than open


@dataclass(frozen=True)
class Layout:
    """A file the fast path can read: where its UTF-8 bytes are, its header, its lines."""

    path: Path
    header: list[str]
    lines: int
    trailing: int  # blank lines at the end
    marks: frozenset[str] = MARKS  # which of these characters a value may hold

    def numbering(self, rows: int) -> Numbering | None:
        """How DuckDB's `rows` rows map to lines, or None when they do not map one to
        one onto the lines that are not blank (a record spans lines)."""
        if rows == self.lines - 1 - self.trailing:
            return Numbering(rows)  # blank lines at the end move no record
        if rows > self.lines - 1 - self.trailing:
            return None
        blanks = blank_lines(self.path)  # only now: the search costs a third of the scan
        if blanks is None or rows != self.lines - 1 - len(blanks):
            return None
        return Numbering(rows, blanks)


@dataclass(frozen=True)
class Numbering:
    rows: int
    blanks: tuple[int, ...] = ()  # the numbers of the blank lines, which DuckDB skips

    def where(self, row: str) -> str:
        """SQL for `line N` of the record with 0-based number `row`: a blank line shifts
        the records after it (the i-th blank line, at line L, comes before record L-1-i
        and every later one)."""
        shifts = [
            f" + ({row} >= {line - 1 - i})::BIGINT"
            for i, line in enumerate(self.blanks, 1)
            if line - 1 - i < self.rows  # blank lines after the last record move none
        ]
        return f"'line ' || ({row} + 2{''.join(shifts)})"


def survey(path: Path, encoding: str, source: str, scratch: Path) -> Layout | None:
    """The file's layout, or None when only the careful reader can answer for it;
    `scratch` is a private directory for a UTF-8 copy or a link."""
    copy = None if is_utf8(encoding) else scratch / "input.csv"
    try:
        with path.open("rb") as stream:
            scanned = scan(chunks(stream, encoding, copy))
    except OSError as exc:
        raise read_error(exc, source) from None
    except UnicodeError:
        return None  # the careful reader names the line and the setting
    if scanned is None:
        return None
    header = header_of(scanned.first_line)
    target = copy or readable(path, scratch)
    if header is None or target is None:
        return None
    return Layout(target, header, scanned.lines, scanned.trailing, scanned.marks)


def readable(path: Path, scratch: Path) -> Path | None:
    """A name for `path` that DuckDB opens as it is, not as a pattern."""
    if not GLOB & set(str(path)):
        return path
    link = scratch / "linked.csv"
    if GLOB & set(str(link)):
        return None
    try:
        link.symlink_to(path)
    except OSError:
        return None
    return link


def chunks(stream: BinaryIO, encoding: str, copy: Path | None) -> Iterator[bytes]:
    """The file's bytes as UTF-8, checked by decoding, and written to `copy` when the
    file is in another encoding (DuckDB reads UTF-8)."""
    if copy is None:
        yield from checked_utf8(stream)
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    with copy.open("wb") as out:
        first = True
        while data := stream.read(CHUNK):
            text = decoder.decode(data)
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            encoded = text.encode("utf-8")
            out.write(encoded)
            yield encoded
        rest = decoder.decode(b"", final=True).encode("utf-8")
        out.write(rest)
        yield rest


def checked_utf8(stream: BinaryIO) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    while data := stream.read(CHUNK):
        # ASCII is UTF-8; decoding it is the slow half of the check (unless the
        # previous chunk ended inside a character, which ASCII cannot finish).
        if not (data.isascii() and not decoder.getstate()[0]):
            decoder.decode(data)
        yield data
    decoder.decode(b"", final=True)


def whole_lines(data: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes in chunks that end at a line break (but the last), so that no
    pair of bytes looked for is split between two chunks."""
    carry = b""
    for chunk in data:
        buffer = carry + chunk
        cut = buffer.rfind(b"\n") + 1
        if cut:
            yield buffer[:cut]
        carry = buffer[cut:]
    if carry:
        yield carry


@dataclass(frozen=True)
class Scan:
    first_line: bytes
    lines: int
    trailing: int  # blank lines at the end
    marks: frozenset[str]  # which of casts.MARKS the data (after line 1) holds


def scan(data: Iterator[bytes]) -> Scan | None:
    """What the bytes hold, or None for a doubtful file. Each chunk is also looked at
    with the last byte before it, for a pair split between the two."""
    head = b""
    first: bytes | None = None
    breaks = 0
    run = 0  # line breaks at the end, so far
    marks: set[str] = set()
    last = b""
    for chunk in data:
        body = chunk  # what is after the header, which may hold any character
        if first is None:
            head += chunk
            body = chunk[chunk.index(b"\n") :] if b"\n" in chunk else b""
            if body:
                first = head.split(b"\n", 1)[0]
        if doubtful(last + chunk[:1]) or doubtful(chunk):
            return None
        marks.update(m for m in "_+" if m.encode() in body)  # one memchr each
        if b'"' in body:  # a comma is in a value only if the value is quoted
            marks.add(",")
        breaks += chunk.count(b"\n")
        kept = chunk.rstrip(b"\r\n")
        run = chunk.count(b"\n", len(kept)) + (run if not kept else 0)
        last = chunk[-1:] or last
    if last == b"\r":
        return None  # a CR at the very end: no LF follows it
    lines = breaks + (0 if run else 1)  # the last line may lack its line break
    return Scan(head if first is None else first, lines, max(run - 1, 0), frozenset(marks))


def doubtful(data: bytes) -> bool:
    """A space beside a quote, a NUL (see FastQuery), or a CR that no LF follows (one
    at the end of `data` is judged with the next chunk)."""
    if b'"' in data and any(pair in data for pair in DOUBTFUL):
        return True
    if b"\x00" in data:
        return True
    if b"\r" not in data:
        return False
    judged = data[:-1] if data.endswith(b"\r") else data
    return judged.count(b"\r") != judged.count(b"\r\n")


def blank_lines(path: Path) -> tuple[int, ...] | None:
    """The numbers of the blank lines in a file, or None for more than a few."""
    found: set[int] = set()
    before = 0  # line breaks in the chunks before
    with path.open("rb") as stream:
        for chunk in whole_lines(iter(lambda: stream.read(CHUNK), b"")):
            if before and chunk.startswith((b"\n", b"\r\n")):  # right after a chunk
                found.add(before + 1)
            for pair in BLANK_LINES:
                at = chunk.find(pair)
                while at >= 0 and len(found) <= MAX_BLANK_LINES:
                    found.add(before + chunk.count(b"\n", 0, at + 1) + 1)
                    at = chunk.find(pair, at + 1)
            if len(found) > MAX_BLANK_LINES:
                return None
            before += chunk.count(b"\n")
    return tuple(sorted(found))


def header_of(line: bytes) -> list[str] | None:
    """The header, when it is one ordinary line of CSV."""
    text = line.removesuffix(b"\r").decode("utf-8").removeprefix("\ufeff")
    if not text:
        return None  # blank lines before the header: the careful reader skips them
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error:
        return None  # an open quote: the header goes on past its line
