"""An input's `encoding`: a name Python's codecs know as a text encoding.

The generated program decodes its csv and json files with `bytes.decode(encoding)`, so a
spec's name is checked the same way here, at validate time, rather than failing at run time.
"""

from __future__ import annotations

import codecs

DEFAULT = "utf-8"


def encoding_problem(name: str) -> str | None:
    """What is wrong with `name` as a file's encoding, or None."""
    try:
        b"x".decode(name)  # b"" would not even look the name up
    except LookupError:
        # Both an unknown name and a codec that is no text encoding ("base64", "rot13").
        known = _known(name)
        return f"'{name}' is not a text encoding" if known else f"unknown encoding '{name}'"
    except UnicodeError:
        return None  # a text encoding, in which this one byte alone is not text (utf-16)
    return None


def _known(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def canonical_encoding(name: str) -> str:
    """Python's own name for an encoding ("UTF8", "utf_8" -> "utf-8"; "latin-1" ->
    "iso8859-1"), to compare names however they are spelt."""
    return codecs.lookup(name).name
