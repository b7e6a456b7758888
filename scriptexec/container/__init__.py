"""Containers: the Docker engine probe, image builds and running a built program.

What a program's container looks like is defined here once, for the package templates
(Dockerfile, docker-compose.yml, deploy.sh) and for `scriptexec run`, so they cannot drift.
This module must stay cheap to import: no docker SDK.
"""

from __future__ import annotations

# The image's non-root user. A fixed, unusual id: it owns nothing on a typical host.
APP_UID = 10001

# Host directory (beside the program) -> where the program writes in the container.
DATA_MOUNTS = {
    "results": "/data/results",
    "logs": "/data/logs",
    "exports": "/data/exports",
}

TMPFS_OPTIONS = "rw,noexec,nosuid,size=64m"

# Where `scriptexec run` mounts, read-only, the results of the specs a program reads
# from (`from:`): UPSTREAM_MOUNT/<spec name>/results.csv.
UPSTREAM_MOUNT = "/data/upstream"


def image_repo(spec_name: str) -> str:
    return f"scriptexec/{spec_name}"


def container_env(port: int | None) -> dict[str, str]:
    """Settings forced inside the container, winning over .env.

    .env is written for running the program directly (`python app.py run`), where relative
    output directories and a loopback HOST make sense; in the container the root is
    read-only and the dashboard must listen on every interface to be published.
    """
    return {
        "OUTPUT_DIR": DATA_MOUNTS["results"],
        "LOG_DIR": DATA_MOUNTS["logs"],
        "EXPORTS_DIR": DATA_MOUNTS["exports"],
        "HOST": "0.0.0.0",  # published only through a port mapping
        "PORT": str(port or 8080),
    }
