"""`app.py serve`: the dashboard and its JSON API (Flask, served by waitress).

Flask, werkzeug and waitress are imported inside the functions that need them: a batch
run needs neither, and a program without a web interface does not ship them.

The inputs are read once, at start (one DuckDB connection holding table "source"); the
baseline (default parameters) is evaluated once on a cursor of its own. Each simulation
evaluates on a fresh cursor of that connection, whose TEMP tables no other request sees,
so that requests run at the same time without a lock.
"""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from .access import (
    UNAUTHORIZED,
    api_token,
    content_policy,
    same_origin,
    same_secret,
    session_value,
)
from .errors import ParameterError, ProgramError, UsageError
from .files import write_text
from .logs import log
from .openapi import openapi_document
from .pages import Answers, BadPage, encode, page, page_arguments, source_rows
from .parameters import defaults, resolve_parameters
from .program import Program
from .report import report_html, report_rows
from .rowfiles import copy_rows, summary_document, write_document
from .settings import home, positive_setting, setting

if TYPE_CHECKING:
    from flask import Flask, Response

    from .execute import Result

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 64 * 1024  # parameters fit in far less
ANSWERS_BUDGET = 32 * 1024 * 1024  # bytes of recent answers kept (see Answers)
DOWNLOADS = {  # format: (file, media type)
    "csv": ("results.csv", "text/csv"),
    "json": ("results.json", "application/json"),
    "html": ("report.html", "text/html"),
}


# -- downloads: the baseline's files, written once, when first asked for ---------------


class Downloads:
    """The baseline as files (every row: csv, the whole result as json, the report),
    written when first asked for into a private temporary directory that goes with the
    app (a server whose downloads nobody asks for writes nothing)."""

    def __init__(self, baseline: Result, lock: threading.Lock, report_limit: int) -> None:
        self.baseline = baseline
        self.lock = lock
        self.report_limit = report_limit
        self.directory: Path | None = None
        self.written: set[str] = set()

    def path(self, fmt: str) -> Path:
        name = DOWNLOADS[fmt][0]
        with self.lock:  # the baseline's cursor serves one query at a time
            if self.directory is None:
                prefix = f"{self.baseline.program.name}-downloads-"
                self.directory = Path(tempfile.mkdtemp(prefix=prefix))
                weakref.finalize(self, shutil.rmtree, self.directory, ignore_errors=True)
            path = self.directory / name
            if name not in self.written:
                self._write(fmt, path)
                self.written.add(name)
        return path

    def _write(self, fmt: str, path: Path) -> None:
        if fmt == "csv":
            copy_rows(self.baseline, path, "csv")
        elif fmt == "json":
            write_document(self.baseline, path)
        else:
            where = "the CSV download (api/download?format=csv)"
            write_text(path, report_html(self.baseline, self.report_limit, where))


# -- the app -----------------------------------------------------------------------------


def create_app(
    db: duckdb.DuckDBPyConnection,
    program: Program,
    baseline: Result,
    token: str | None = None,
) -> Flask:
    """The Flask app over `db` (the loaded inputs) and `baseline` (the result at the
    default parameters, on a cursor of its own).

    With `token`, every path but /health needs it, as a bearer token or as the cookie
    that opening /?token=<token> sets (for the dashboard in a browser). The cookie holds
    an HMAC of the token, not the token, and is HttpOnly and SameSite=Strict.
    """
    from flask import Flask, Response, request, send_file
    from werkzeug.exceptions import HTTPException

    app = Flask(program.name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    dashboard = (home() / "dashboard.html").read_bytes()
    policy = content_policy(dashboard)
    api = openapi_document(program)
    session = session_value(token)
    cookie_name = f"{program.name}_session"
    baseline_lock = threading.Lock()  # one cursor: one query at a time
    downloads = Downloads(baseline, baseline_lock, report_rows())
    baseline_summary = summary_document(baseline)
    answers = Answers(ANSWERS_BUDGET)
    rows_read = source_rows(baseline)

    def reply(data: Any, status: int = 200, compress: bool = False) -> Response:
        return send(encode(data), status, compress)

    def send(body: bytes, status: int = 200, compress: bool = False) -> Response:
        response = Response(body, status=status, mimetype="application/json")
        if compress:  # a page of rows: worth compressing for a client that takes gzip
            response.vary.add("Accept-Encoding")
            if request.accept_encodings["gzip"]:
                response.set_data(gzip.compress(body, compresslevel=5))
                response.headers["Content-Encoding"] = "gzip"
        return response

    def authorized() -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(given.strip(), token or ""):
            return True
        return same_secret(request.cookies.get(cookie_name, ""), session)

    def unauthorized() -> Response:
        response = reply({"error": UNAUTHORIZED}, 401)
        response.headers["WWW-Authenticate"] = f'Bearer realm="{program.name}"'
        return response

    def open_with_token() -> Response:
        """The dashboard opened with its token: a cookie from now on, and the token
        leaves the address bar (and the history) at once."""
        response = Response(status=303, headers={"Location": "./"})
        response.set_cookie(
            cookie_name,
            session,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
            path="/",
        )
        return response

    @app.before_request
    def guard() -> Response | None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # Any page a user visits can post here: refuse what another site sent (its
            # Origin), and bodies a plain HTML form can send without asking (not JSON).
            origin = request.headers.get("Origin")
            if origin is not None and not same_origin(origin, request.host):
                message = f"cross-origin request refused: {origin} is not this server"
                return reply({"error": message}, 403)
        if token and request.path != "/health" and not authorized():
            given = request.args.get("token")
            if request.path != "/" or given is None or not same_secret(given, token):
                return unauthorized()
            return open_with_token()
        # (a POST to a path that takes none is a 405 with Allow, whatever its body)
        posted = request.method == "POST" and request.routing_exception is None
        if posted and request.mimetype != "application/json":
            message = "send the parameters as JSON (Content-Type: application/json)"
            return reply({"error": message}, 415)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = policy
        data = {"method": request.method, "path": request.path, "status": response.status_code}
        log.info(
            "%s %s %d", request.method, request.path, response.status_code, extra={"data": data}
        )
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = reply({"error": exc.description or exc.name}, exc.code or 500)
        # The exception's own headers, but for its HTML content type: a 405 must say
        # what the resource allows (Allow, RFC 9110).
        for header, value in exc.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.error("unexpected error serving %s", request.path, exc_info=exc)
        return reply({"error": "internal error; see the program's log"}, 500)

    @app.get("/")
    def index() -> Response:
        return Response(dashboard, mimetype="text/html")

    @app.get("/health")
    def health() -> Response:
        return reply({"status": "ok", "name": program.name, "rows": rows_read})

    @app.get("/api/results")
    def results() -> Response:
        try:
            offset, limit = page_arguments(request.args)
        except BadPage as exc:
            return reply({"error": str(exc)}, 400)
        key = ("results", offset, limit)
        body = answers.get(key)
        if body is None:
            with baseline_lock:
                body = encode(page(baseline, offset, limit))
            answers.put(key, body)
        return send(body, compress=True)

    @app.post("/api/simulate")
    def simulate() -> Response:
        try:
            offset, limit = page_arguments(request.args)
        except BadPage as exc:
            return reply({"error": str(exc)}, 400)
        body, problem = parse_body(request.get_data(cache=False))
        if problem is not None:
            return reply({"error": problem}, 400)
        try:
            params = resolve_parameters(program, body)
            key = ("simulate", *((n, repr(v)) for n, v in sorted(params.items())), offset, limit)
            answer = answers.get(key)
            if answer is None:
                document = evaluated_page(db, program, params, offset, limit)
                answer = encode({**document, "baseline": baseline_summary})
                answers.put(key, answer)
        except ParameterError as exc:
            return reply({"error": str(exc), "parameter": exc.parameter}, 400)
        except ProgramError as exc:
            return reply({"error": str(exc)}, 422)
        return send(answer, compress=True)

    @app.get("/api/download")
    def download() -> Response:
        fmt = request.args.get("format", "csv")
        if fmt not in DOWNLOADS:
            return reply({"error": "format must be csv, json or html"}, 400)
        response = send_file(downloads.path(fmt), mimetype=DOWNLOADS[fmt][1], etag=False)
        disposition = f'attachment; filename="{program.name}-results.{fmt}"'
        response.headers["Content-Disposition"] = disposition
        return response

    @app.get("/openapi.json")
    def openapi() -> Response:
        return reply(api)

    return app


def _refuse(value: str) -> Any:
    raise ValueError(f"{value} is not a number")


def parse_body(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """The posted parameters, or what is wrong with the body."""
    try:
        body = json.loads(raw, parse_constant=_refuse)
    except (ValueError, RecursionError) as exc:
        return {}, f"the body is not valid JSON: {exc}"
    if not isinstance(body, dict):
        return {}, "the body must be a JSON object of parameters"
    return body, None


def evaluated_page(
    db: duckdb.DuckDBPyConnection,
    program: Program,
    params: Mapping[str, Any],
    offset: int,
    limit: int,
) -> dict[str, Any]:
    """The program evaluated with `params` on a cursor of its own (its TEMP tables are
    its own: requests at the same time do not meet), and one page of its rows."""
    from .execute import evaluate

    cursor = db.cursor()
    try:
        return page(evaluate(cursor, program, params), offset, limit)
    finally:
        cursor.close()


# -- serving -----------------------------------------------------------------------------


def serve(program: Program) -> int:
    """`app.py serve`: the inputs read, the baseline computed, then the app served on
    HOST:PORT until SIGTERM."""
    try:
        import waitress
    except ImportError:
        raise ProgramError(
            "serve needs flask and waitress: pip install -r requirements.txt"
        ) from None
    from .execute import evaluate, load

    host = setting("HOST", "127.0.0.1")
    port_text = setting("PORT", str((program.web or {}).get("port", 8000)))
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"PORT={port_text} is not a port number") from None
    token = api_token()
    db = load(program)
    baseline = evaluate(db.cursor(), program, defaults(program))
    app = create_app(db, program, baseline, token)
    log.info("serving %s on http://%s:%d/", program.title, host, port)
    if token is None and host not in LOCAL_HOSTS:
        log.warning("API_TOKEN is not set: anyone who reaches port %d can use it", port)
    server = waitress.create_server(app, host=host, port=port, threads=4, ident=program.name)
    serve_until_sigterm(server)
    return 0


def serve_until_sigterm(server: Any) -> None:
    """Serve until SIGTERM, then stop accepting, let in-flight requests finish (at most
    STOP_GRACE seconds) and return, so that `docker stop` ends the program with exit 0.

    The handler only sets a flag: the event loop (waitress's wasyncore) looks at it at
    least once a second, and nothing is interrupted halfway through a read or write."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    # `map` when waitress serves several listeners, `_map` for one
    socket_map = getattr(server, "map", None) or server._map
    loop = server.asyncore.loop
    use_poll = server.adj.asyncore_use_poll
    while not stopping:
        loop(timeout=1.0, map=socket_map, use_poll=use_poll, count=1)
    for listener in [d for d in list(socket_map.values()) if hasattr(d, "accepting")]:
        listener.accepting = False  # readable() is now False: no new connections

    def in_flight() -> int:
        return sum(
            1
            for d in list(socket_map.values())
            if getattr(d, "requests", None) or getattr(d, "total_outbufs_len", 0)
        )

    busy = in_flight()
    log.info("SIGTERM: stopping; finishing %d request(s) in flight", busy)
    # docker stop waits 10 s before SIGKILL: finish in-flight requests within less.
    grace = positive_setting("STOP_GRACE", 8)
    deadline = time.monotonic() + grace
    while busy and time.monotonic() < deadline:
        loop(timeout=0.05, map=socket_map, use_poll=use_poll, count=1)
        busy = in_flight()
    if busy:
        log.warning("stopped with %d request(s) unfinished after %ds", busy, grace)
    server.task_dispatcher.shutdown(timeout=1)
    log.info("stopped")
