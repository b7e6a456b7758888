"""Pages of rows for the JSON API (`limit` and `offset`), and the answers kept for
questions asked again."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .openapi import PAGE_DEFAULT, PAGE_MAX
from .values import clean

if TYPE_CHECKING:
    from .execute import Result

MAX_OFFSET = 10**18  # past the end of any table (BIGINT counts to 9.2e18)


class BadPage(ValueError):
    """A `limit` or `offset` the API does not take."""


def page_arguments(args: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit) from a query string, as openapi.page_parameters describes them."""
    limit = _whole_number(args.get("limit", str(PAGE_DEFAULT)), PAGE_MAX)
    if limit is None or limit > PAGE_MAX:
        raise BadPage(f"limit must be a whole number from 0 to {PAGE_MAX}")
    offset = _whole_number(args.get("offset", "0"), MAX_OFFSET)
    if offset is None:
        raise BadPage("offset must be a whole number, 0 or more")
    return offset, limit


def _whole_number(text: str, cap: int) -> int | None:
    """`text` as a whole number (ASCII digits only), or None. One above `cap` stands for
    any larger: int() of thousands of digits is slow, and refused past 4,300."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(cap)) else cap + 1


def page(result: Result, offset: int, limit: int) -> dict[str, Any]:
    """The result's figures and one page of its rows."""
    offset = min(offset, result.row_count)
    rows = result.rows(offset, limit) if limit else []
    return {**result.document(rows=False), "offset": offset, "limit": limit, "rows": rows}


def source_rows(result: Result) -> int:
    """The rows read (after joins and repeats), skipped ones included."""
    return result.row_count + sum(1 for e in result.errors if e.get("skipped"))


def encode(data: Any) -> bytes:
    return json.dumps(clean(data), allow_nan=False, separators=(",", ":")).encode()


class Answers:
    """The JSON bodies of recent answers, by question (parameters and page). The inputs
    do not change while the server runs, so the same question has the same answer: a
    slider moved back, a dashboard reloaded, a second user need not wait for DuckDB,
    whose fixed cost per query (some 0.3 ms, not run in parallel) bounds how many
    evaluations a second one server makes. The oldest answers go past `budget` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.bodies: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            body = self.bodies.get(key)
            if body is not None:
                self.bodies.move_to_end(key)
            return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        if len(body) > self.budget // 4:
            return  # a page this large is asked for seldom; it would push out many others
        with self.lock:
            if key in self.bodies:
                return
            self.bodies[key] = body
            self.size += len(body)
            while self.size > self.budget:
                _, old = self.bodies.popitem(last=False)
                self.size -= len(old)
