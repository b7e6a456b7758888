"""Who may use a served program: an optional API token (a bearer token, or the cookie
the dashboard gets for it), no requests made on another site's behalf (Origin), and no
script on the dashboard but its own (Content-Security-Policy with its scripts' hashes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import urlsplit

from .errors import UsageError
from .settings import setting

TOKEN_MIN_CHARS = 16
UNAUTHORIZED = (
    "this server needs its API token: send 'Authorization: Bearer <API_TOKEN>',"
    " or open the dashboard once as /?token=<API_TOKEN>"
)


def api_token() -> str | None:
    """API_TOKEN, when set: every path but /health then needs it."""
    token = setting("API_TOKEN", "").strip()
    if token and len(token) < TOKEN_MIN_CHARS:
        raise UsageError(
            f"API_TOKEN is too short: at least {TOKEN_MIN_CHARS} characters, e.g. from"
            " python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token or None


def same_secret(given: str, expected: str) -> bool:
    """Compared in constant time, as bytes: a str with non-ASCII text cannot be."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def session_value(token: str | None) -> str:
    """What the dashboard's cookie holds: an HMAC of the token, never the token."""
    key = (token or "").encode("utf-8")
    return hmac.new(key, b"dashboard session", "sha256").hexdigest()


def script_hashes(page: bytes) -> list[str]:
    """CSP hash sources ('sha256-...') of the scripts written inside `page` (<script>
    without attributes; a typed data block, such as JSON, is not run and needs none)."""
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(code).digest()).decode("ascii")
        for code in re.findall(rb"<script>(.*?)</script>", page, re.DOTALL)
    ]


def content_policy(page: bytes) -> str:
    """Scripts run only from this server or by the hash of the dashboard's own inline
    script: an injected <script> or on...= attribute has neither ('unsafe-inline')."""
    hashes = " ".join(f"'{h}'" for h in script_hashes(page))
    return (
        f"default-src 'self'; script-src 'self' {hashes}; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:"
    )


def same_origin(origin: str, host: str) -> bool:
    return urlsplit(origin).netloc.lower() == host.lower()
