"""The image stage: `docker build` of the generated program with its Dockerfile.

Its key reads only what goes into the image: every file the generate stage made, and the
package stage's Dockerfile, .dockerignore and sample data. docker-compose.yml, deploy.sh
and README.md are not read, so editing runtime.memory changes the compose file but builds
no image; a formula edit changes app.py and rebuilds from the dependency layer on.

The image is labelled with the full stage key, so the engine can tell with one cheap query
(scriptexec.container.engine.images_by_key, behind `present`) whether it still has it. The
image lives on the engine, not in the cache: the stage's only output is its metadata, and
the build log goes to the progress display (and into the error when a build fails).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scriptexec.container import image_repo
from scriptexec.container.engine import (
    HOW_TO_START,
    KEY_LABEL,
    SPEC_LABEL,
    EngineUnavailable,
    bridge_cannot_reach_out,
    docker_host,
    images_by_key,
    probe,
)
from scriptexec.errors import BuildError
from scriptexec.stages.base import StageContext, StageResult
from scriptexec.stages.package import data_files

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec

# The docker build context is exactly these upstream files (fnmatch patterns).
CONTEXT_READS: dict[str, tuple[str, ...]] = {
    "generate": ("*",),
    "package": ("Dockerfile", ".dockerignore", "data/*"),
}
_FROM = re.compile(r"^\s*FROM\s+(\S+)", re.IGNORECASE | re.MULTILINE)


class ImageStage:
    name = "image"
    version = 1  # bump when the build changes for the same context (labels, tags, options)
    reads = CONTEXT_READS
    publish_dir: str | None = None

    def inputs(self, spec: Spec, project: Project) -> dict[str, Any]:
        # The sample data reaches the image through the package stage's data/ outputs; its
        # sources are named here as well, so `status` can say which file changed. The build
        # network is not an input: it changes how the image is built, not what is in it.
        return {
            f"file:{project.relative(data.source)}": project.file_digest(data.source)
            for data in data_files(spec, project.root)
        }

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def present(self, key: str) -> bool:
        """Whether the engine has an image built for `key` (EngineUnavailable if no engine)."""
        return key in images_by_key()

    def run(self, ctx: StageContext) -> StageResult:
        reason = probe()
        if reason is not None:
            if ctx.project.options.require_image:
                raise BuildError(f"image: {reason}; --require-image needs one: {HOW_TO_START}")
            raise EngineUnavailable(f"{reason}; {HOW_TO_START}")
        files = context_files(ctx.upstream)
        if "Dockerfile" not in files:
            raise BuildError("image: the package stage made no Dockerfile")
        # Run outside the engine (tests, tools) the stage has no key: the build context's
        # content then stands in for it, being what the engine's key covers.
        key = ctx.key or context_digest(files)
        repo = image_repo(ctx.spec.name)
        tags = [f"{repo}:{key[:12]}", f"{repo}:latest"]
        existing = images_by_key().get(key)
        if existing is not None:
            ctx.progress(f"image {tags[0]} is already on the engine")
            _retag(existing, tags)
            return _result(existing, tags)

        from scriptexec.container.build import build_image  # imports the docker SDK

        context_dir = ctx.workdir / "context"
        write_tree(context_dir, files)
        base = _FROM.search(files["Dockerfile"].decode("utf-8", "replace"))
        outcome = build_image(
            context_dir,
            tags=tags,
            labels={KEY_LABEL: key, SPEC_LABEL: ctx.spec.name},
            network=build_network(ctx.project, files),
            base_image=base.group(1) if base else None,
            progress=ctx.progress,
            cancel=ctx.cancel,
        )
        return _result(outcome.image_id, tags)


def installs_requirements(files: dict[str, bytes]) -> bool:
    """Whether the build's pip step installs anything (a batch program needs nothing)."""
    text = files.get("requirements.txt", b"").decode("utf-8", "replace")
    return any(line.split("#", 1)[0].strip() for line in text.splitlines())


def build_network(project: Project, files: dict[str, bytes]) -> str | None:
    """--build-network if given; else the host network where the engine is known to give
    bridge builds no way out and pip must reach its index; else the engine's default."""
    chosen = project.options.build_network
    if chosen is not None or not installs_requirements(files):
        return chosen
    if bridge_cannot_reach_out():
        # Without this pip retries for a minute and fails; the flag is the known fix.
        project.warn(
            f"the engine at {docker_host()} gives bridge builds no outbound network"
            " (scripts/docker-engine.sh runs it with --iptables=false); building with"
            " --build-network host so pip reaches its index"
        )
        return "host"
    return None


def context_files(upstream: Any) -> dict[str, bytes]:
    """The upstream files that make up the build context, by relative path."""
    files: dict[str, bytes] = {}
    for stage, patterns in CONTEXT_READS.items():
        result = upstream.get(stage)
        if result is None:
            raise BuildError(f"image: the {stage} stage's outputs are missing")
        for path, content in sorted(result.files.items()):
            if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
                files[path] = content  # package's Dockerfile wins over a generated one
    return files


def context_digest(files: dict[str, bytes]) -> str:
    listing = {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `root` with fixed modes: a build's cache must not depend on umask."""
    for rel, content in files.items():
        path = root / rel
        if not path.resolve().is_relative_to(root.resolve()):
            raise BuildError(f"image: refusing to write {rel!r} outside the build context")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o644)


def _retag(image_id: str, tags: list[str]) -> None:
    from scriptexec.container.build import api_client

    client = api_client()
    try:
        for tag in tags:
            repo, _, name = tag.rpartition(":")
            client.tag(image_id, repo, name)
    finally:
        client.close()


def _result(image_id: str, tags: list[str]) -> StageResult:
    # Recorded in scriptexec.lock: only what does not depend on how this run went.
    return StageResult(files={}, meta={"image": image_id, "tags": tags})
