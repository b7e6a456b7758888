"""A cheap probe of the Docker engine, for `status` and no-op builds.

Importing the docker SDK costs more than a whole no-op build may take, so this module talks
to the engine's HTTP API directly with http.client: over the unix socket of DOCKER_HOST
(default /var/run/docker.sock) or over TCP (with TLS when DOCKER_TLS_VERIFY or
DOCKER_CERT_PATH is set, as the docker CLI does). Only schemes it cannot speak (ssh://) fall
back to the SDK.

A missing socket fails at once; anything else has a short timeout, so a dead engine costs a
build at most about a second.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import stat
import urllib.parse
from typing import Any

from scriptexec.errors import EngineUnavailableError

KEY_LABEL = "org.scriptexec.key"
SPEC_LABEL = "org.scriptexec.spec"
DEFAULT_HOST = "unix:///var/run/docker.sock"
PING_TIMEOUT = 1.0
QUERY_TIMEOUT = 5.0
HOW_TO_START = (
    "start Docker (in a scriptexec checkout, scripts/docker-engine.sh start starts a private"
    " engine and prints the DOCKER_HOST to export), point DOCKER_HOST at an engine,"
    " or pass --no-image"
)


# scripts/docker-engine.sh starts dockerd with --iptables=false and writes this file beside
# its socket: on that engine a bridge-networked build step has no route out (no NAT).
NO_NAT_MARKER_SUFFIX = ".no-outbound-bridge"


def bridge_cannot_reach_out() -> bool:
    """Whether the engine at DOCKER_HOST is known to give bridge builds no outbound network.

    Only an engine scripts/docker-engine.sh started says so (a marker beside its socket);
    for any other engine there is no cheap way to know, and the build's hint covers it.
    """
    host = docker_host()
    if not host.startswith("unix://"):
        return False
    return os.path.exists(host[len("unix://") :] + NO_NAT_MARKER_SUFFIX)


class EngineUnavailable(EngineUnavailableError):
    """No Docker engine answers. The build reports the image stage as skipped with this reason."""


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _tls_context() -> ssl.SSLContext | None:
    cert_path = os.environ.get("DOCKER_CERT_PATH") or ""
    verify = os.environ.get("DOCKER_TLS_VERIFY") or ""
    if not (cert_path or verify):
        return None
    cert_path = cert_path or os.path.expanduser("~/.docker")
    context = ssl.create_default_context()
    if verify:
        context.load_verify_locations(os.path.join(cert_path, "ca.pem"))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert = os.path.join(cert_path, "cert.pem")
    if os.path.exists(cert):
        context.load_cert_chain(cert, os.path.join(cert_path, "key.pem"))
    return context


def _connection(host: str, timeout: float) -> http.client.HTTPConnection | None:
    """A connection to `host`, or None for a scheme only the SDK speaks.

    Raises EngineUnavailable at once when a unix socket does not exist.
    """
    if host.startswith("unix://"):
        path = host[len("unix://") :]
        try:
            if not stat.S_ISSOCK(os.stat(path).st_mode):
                raise EngineUnavailable(f"{path} is not a socket (DOCKER_HOST={host})")
        except FileNotFoundError:
            raise EngineUnavailable(f"no Docker engine: {path} does not exist") from None
        except PermissionError:
            raise EngineUnavailable(f"no permission to use {path}") from None
        return _UnixConnection(path, timeout)
    if host.startswith(("tcp://", "http://", "https://")):
        url = urllib.parse.urlsplit(host.replace("tcp://", "http://", 1))
        context = _tls_context()
        if context is not None or url.scheme == "https":
            return http.client.HTTPSConnection(
                url.hostname or "localhost", url.port or 2376, timeout=timeout, context=context
            )
        return http.client.HTTPConnection(
            url.hostname or "localhost", url.port or 2375, timeout=timeout
        )
    return None


def _request(path: str, timeout: float) -> tuple[int, bytes]:
    """GET `path` from the engine: (status, body); EngineUnavailable when it does not answer."""
    host = docker_host()
    conn = _connection(host, timeout)
    if conn is None:
        return _get_via_sdk(path, timeout)
    try:
        conn.request("GET", path, headers={"Host": "docker"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise EngineUnavailable(f"no Docker engine answers at {host}: {exc}") from None
    finally:
        conn.close()


def _get(path: str, timeout: float) -> bytes:
    status, body = _request(path, timeout)
    if status != 200:
        text = body.decode("utf-8", "replace").strip()
        raise EngineUnavailable(f"the Docker engine at {docker_host()} answered {status}: {text}")
    return body


def _get_via_sdk(path: str, timeout: float) -> tuple[int, bytes]:
    import docker  # slow import: only for schemes http.client cannot speak (ssh://)

    try:
        client = docker.APIClient(timeout=max(int(timeout), 1), **docker.utils.kwargs_from_env())
        resp = client.get(client.base_url + path)
        return resp.status_code, bytes(resp.content)
    except Exception as exc:  # the SDK raises many unrelated types for "not reachable"
        raise EngineUnavailable(f"no Docker engine answers at {docker_host()}: {exc}") from None


def probe(timeout: float = PING_TIMEOUT) -> str | None:
    """None when an engine answers /_ping; otherwise why not, in a sentence."""
    try:
        _get("/_ping", timeout)
    except EngineUnavailable as exc:
        return str(exc)
    return None


def engine_reachable(timeout: float = PING_TIMEOUT) -> bool:
    return probe(timeout) is None


def has_image(name: str, timeout: float = QUERY_TIMEOUT) -> bool:
    """Whether the engine has an image called `name` (a tag or an id)."""
    status, body = _request(f"/images/{urllib.parse.quote(name, safe='')}/json", timeout)
    if status not in (200, 404):
        text = body.decode("utf-8", "replace").strip()
        raise EngineUnavailable(f"the Docker engine at {docker_host()} answered {status}: {text}")
    return status == 200


def images_by_key(timeout: float = QUERY_TIMEOUT) -> dict[str, str]:
    """Every image scriptexec built, as stage key -> image id. One request.

    Raises EngineUnavailable when no engine answers, so a caller can tell "no image with this
    key" from "cannot know".
    """
    filters = json.dumps({"label": [KEY_LABEL]})
    body = _get("/images/json?filters=" + urllib.parse.quote(filters), timeout)
    images: list[dict[str, Any]] = json.loads(body)
    found: dict[str, tuple[int, str]] = {}
    for image in images:
        key = (image.get("Labels") or {}).get(KEY_LABEL)
        if not key:
            continue
        created = int(image.get("Created") or 0)
        # Two images with one key (a rebuild after `docker image rm` of a tag): the newest.
        if key not in found or created > found[key][0]:
            found[key] = (created, str(image["Id"]))
    return {key: image_id for key, (_, image_id) in found.items()}
