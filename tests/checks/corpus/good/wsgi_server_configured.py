"""A stdlib WSGI server whose address comes from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from wsgiref.simple_server import make_server

log = logging.getLogger(__name__)

Start = Callable[[str, list[tuple[str, str]]], object]


def app(environ: dict[str, object], start_response: Start) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


def main() -> None:
    host = os.getenv("HOST", "127.0.0.1")
    port = int(os.getenv("PORT", "8000"))
    log.info("listening on %s:%d", host, port)
    with make_server(host, port, app) as server:
        server.serve_forever()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
