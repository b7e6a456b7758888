"""Files as bytes and as text, with errors that name the line and the spec setting."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import ProgramError

# Byte order marks, longest first (UTF-32-LE's starts with UTF-16-LE's).
BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def read_bytes(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise read_error(exc, source) from None


def read_error(exc: OSError, source: str) -> ProgramError:
    """What opening or reading the file at `source` failed with, as one line."""
    if isinstance(exc, FileNotFoundError):
        return ProgramError(f"{source}: no such file")
    return ProgramError(f"{source}: cannot read: {exc.strerror or exc}")


def line_breaks(text: str) -> int:
    """Line breaks as the csv module counts them: \\r\\n, \\r and \\n."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def decode(data: bytes, encoding: str, source: str, setting: str) -> str:
    """The whole file as text (decoded at once, so that a bad byte is named by its line
    rather than by an offset into some chunk); `setting` is the spec key to point at."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(data, exc, encoding, source, setting) from None
    return text.removeprefix("\ufeff")  # a byte order mark is not data


def decode_error(
    data: bytes, exc: UnicodeDecodeError, encoding: str, source: str, setting: str
) -> ProgramError:
    line = line_breaks(data[: exc.start].decode(encoding, "replace")) + 1
    byte = f"byte 0x{data[exc.start]:02x}"
    bad = f"{source}, line {line}: not valid {encoding} ({byte})"
    tried = codecs.lookup(encoding).name
    for bom, name in BOMS:
        if data.startswith(bom) and codecs.lookup(name).name != tried:
            return ProgramError(
                f"{bad}: the file looks like {name.upper()} (it starts with a byte"
                f" order mark); set {setting}: {name} in the spec"
            )
    return ProgramError(
        f"{bad}; if the file is in another encoding, set {setting} in the spec"
        " (e.g. latin-1, cp1252, utf-16)"
    )
