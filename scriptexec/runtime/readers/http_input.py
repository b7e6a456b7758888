"""http inputs: a JSON document fetched with urllib (no redirects off http(s), a size cap,
a bearer token from the input's <NAME>_TOKEN variable)."""

from __future__ import annotations

import math
import os
import urllib.error
import urllib.parse
import urllib.request

from ..errors import ProgramError, UsageError
from ..program import Input
from ..settings import setting
from .convert import Record
from .json_input import parse_json, records_at

MAX_HTTP_BYTES = 100 * 1024 * 1024


def shown_url(inp: Input, url: str) -> str:
    """`url` as messages show it: without a password or the query string (where tokens
    go), after checking that it is an http(s) URL at all."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":?"
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{host}{port}{parts.path}"
    if parts.scheme not in ("http", "https") or not parts.hostname or port == ":?":
        raise ProgramError(f"input {inp.name}: {shown} is not an http(s) URL")
    return shown


def opener(inp: Input, agent: str) -> urllib.request.OpenerDirector:
    # Only http(s) handlers: a redirect to file:// or ftp:// cannot be followed.
    director = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        director.add_handler(handler)
    director.addheaders = [("Accept", "application/json"), ("User-Agent", f"{agent}/1")]
    token = os.environ.get(inp.auth_env) if inp.auth_env else None
    if token:
        director.addheaders.append(("Authorization", f"Bearer {token}"))
    return director


def http_timeout() -> float:
    text = setting("HTTP_TIMEOUT", "30")
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"HTTP_TIMEOUT={text}: expected a number of seconds above 0")
    return seconds


def read_http(inp: Input, url: str, agent: str) -> tuple[str, list[Record]]:
    """The records at `url`, and the name messages give the source (see shown_url)."""
    shown = shown_url(inp, url)
    timeout = http_timeout()
    try:
        with opener(inp, agent).open(url, timeout=timeout) as response:
            body = response.read(MAX_HTTP_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ProgramError(f"{shown}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProgramError(f"{shown}: cannot fetch: {reason}") from None
    if len(body) > MAX_HTTP_BYTES:
        raise ProgramError(f"{shown}: response larger than {MAX_HTTP_BYTES} bytes")
    return shown, records_at(parse_json(body, shown), inp.records, shown)
