"""Building an image through the docker SDK, with the build output streamed line by line.

The low-level APIClient is used because it yields the daemon's build messages as they come,
which a TTY progress display shows while pip runs. The SDK is imported here and only here
(and in run.py): it is slow to import, and a no-op build must not pay for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriptexec.container.engine import EngineUnavailable, docker_host
from scriptexec.errors import BuildError, Interrupted

if TYPE_CHECKING:
    import docker

# A quiet build step (pip compiling a wheel) may say nothing for minutes.
BUILD_TIMEOUT = 3600


@dataclass
class BuildOutcome:
    image_id: str
    tags: list[str]
    log: str


def api_client(timeout: int = 60) -> docker.APIClient:
    """An SDK client for DOCKER_HOST (with its TLS settings), API version negotiated."""
    import docker

    try:
        return docker.APIClient(timeout=timeout, **docker.utils.kwargs_from_env())
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"no Docker engine answers at {docker_host()}: {exc}") from None


def build_image(
    context_dir: Path,
    *,
    tags: list[str],
    labels: dict[str, str],
    network: str | None,
    base_image: str | None,
    progress: Callable[[str], None],
    cancel: threading.Event,
) -> BuildOutcome:
    """`docker build` of `context_dir` (its .dockerignore applies), tagged with every tag."""
    import docker

    client = api_client(timeout=BUILD_TIMEOUT)
    lines: list[str] = []
    image_id = ""
    error = ""
    try:
        stream: Iterator[dict[str, Any]] = client.build(
            path=str(context_dir),
            tag=tags[0],
            labels=labels,
            network_mode=network,
            rm=True,
            forcerm=True,  # no intermediate containers left behind, even after a failure
            pull=False,
            decode=True,
        )
        for chunk in stream:
            if cancel.is_set():
                # Closing the stream drops the connection; the daemon then stops the build.
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
                raise Interrupted(f"image build of {tags[0]} cancelled")
            if "stream" in chunk:
                for line in str(chunk["stream"]).splitlines():
                    if line.strip():
                        lines.append(line)
                        progress(line.strip())
            if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
            if "error" in chunk:
                error = str(chunk["error"]).strip()
                lines.append(f"ERROR: {error}")
        if error:
            missing = _missing_base(client, base_image, error)
            raise BuildError(missing or _failure(tags[0], error, lines, base_image, network))
        if not image_id:
            image_id = str(client.inspect_image(tags[0])["Id"])
        for tag in tags[1:]:
            repo, _, name = tag.rpartition(":")
            client.tag(image_id, repo, name)
    except docker.errors.APIError as exc:
        missing = _missing_base(client, base_image, str(exc))
        raise BuildError(
            missing or _failure(tags[0], str(exc), lines, base_image, network)
        ) from None
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"lost the Docker engine at {docker_host()}: {exc}") from None
    finally:
        client.close()
    return BuildOutcome(image_id=image_id, tags=list(tags), log="\n".join(lines) + "\n")


def _missing_base(client: docker.APIClient, base_image: str | None, error: str) -> str | None:
    """One line naming the base image and the fix, when the build failed for want of it.

    Asked of the engine after the failure (a registry, where there is one, may still have
    supplied the image), so a build that has its base pays nothing for this.
    """
    import docker

    if not base_image:
        return None
    try:
        client.inspect_image(base_image)
    except docker.errors.ImageNotFound:
        # The pull error's last clause is its cause ("... lookup registry-1.docker.io:
        # no such host"); the rest is URLs.
        cause = (error.splitlines() or ["no registry answered"])[0].rsplit(": ", 1)[-1]
        return (
            f"base image {base_image} is not on the engine and cannot be pulled ({cause});"
            " fix: `make base-image` (builds and records a local one), or set [image]"
            " base_image in scriptexec.toml to an image the engine has"
        )
    except docker.errors.DockerException:
        return None  # the engine cannot say; the full failure below still shows the error
    return None


def _failure(
    tag: str, error: str, lines: list[str], base_image: str | None, network: str | None
) -> str:
    tail = "\n".join(lines[-30:])
    text = f"docker build of {tag} failed: {error}\n{tail}"
    if "pip install" in tail and network != "host":
        text += (
            "\nhint: if pip could not reach the package index, the engine may have no outbound"
            " network for builds (dockerd --iptables=false); try --build-network host"
        )
    return text


def remove_images(repo: str) -> None:
    """Remove every tag of `repo` (tests and `clean`); missing images are fine."""
    import docker

    client = api_client()
    try:
        for image in client.images(name=repo):
            try:
                client.remove_image(image["Id"], force=True)
            except docker.errors.NotFound:
                continue
    finally:
        client.close()
