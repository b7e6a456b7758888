"""The package stage: Dockerfile, .dockerignore, docker-compose.yml, deploy.sh and README.md
for a generated program, plus copies of the spec's sample data under data/.

Everything rendered comes from `_values`, which is also what `inputs` declares, so the
stage key covers exactly what the files depend on and `status` can name the spec path that
changed ("runtime.memory"). The program's own files are not read: the Dockerfile copies
whatever the generate stage made.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from scriptexec.config import CONFIG_FILENAME
from scriptexec.container import APP_UID, container_env, image_repo
from scriptexec.errors import BuildError
from scriptexec.spec.locations import file_location, is_copied, packaged_location, resolve
from scriptexec.stages.base import StageContext, StageResult

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec

# Output file -> template, relative to templates/.
TEMPLATES = {
    "Dockerfile": "package/Dockerfile.j2",
    ".dockerignore": "package/dockerignore.j2",
    "docker-compose.yml": "package/docker-compose.yml.j2",
    "deploy.sh": "package/deploy.sh.j2",
    "README.md": "package/README.md.j2",
}
DATA_MODE = 0o644  # what build/ files get; a copy of a tighter source keeps the tighter mode


@dataclass(frozen=True)
class DataFile:
    """A sample input file shipped with the program."""

    input: str
    source: Path  # the real path (symlinks resolved): what is read
    dest: str  # relative to the program, under data/


def data_files(spec: Spec, root: Path) -> list[DataFile]:
    """Inputs whose file the build copies, and where they go under data/.

    Relative locations, and files the input opts in with `outside_project: true` (see
    scriptexec.spec.locations). A location already under data/ keeps its path, so the
    program's default location works unchanged; anything else (sample.csv, ../shared/x.csv)
    goes to data/<file name>. The spec was checked when it was loaded; this checks again
    (a symlink may have moved since) and refuses a file outside the `root` project.
    """
    out: list[DataFile] = []
    for name, inp in sorted(spec.canonical["inputs"].items()):
        location = file_location(inp)
        outside = bool(inp.get("outside_project"))
        if location is None or not is_copied(location, outside):
            continue
        source = resolve(location, spec.base_dir)
        if not outside and not source.is_relative_to(os.path.realpath(root)):
            raise BuildError(
                f"{spec.display}:{spec.line_of('inputs', name, 'location')}: "
                f"inputs.{name}.location: {location!r} resolves to {source}, outside the project"
            )
        out.append(DataFile(name, source, str(packaged_location(inp))))
    return out


def _read_data(path: Path) -> tuple[bytes, int]:
    """A data file's bytes and permission bits. O_NOFOLLOW: the path was resolved, so a
    symlink here appeared since; O_NONBLOCK: opening a FIFO must not hang the build."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BuildError(f"{path}: not a regular file; not packaged")
        return fh.read(), stat.S_IMODE(st.st_mode)


def data_mode(path: Path) -> str | None:
    """The mode a copy gets when the source is private (0600 stays 0600); None: the usual."""
    try:
        mode = DATA_MODE & stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    return None if mode == DATA_MODE else f"{mode:04o}"


def _values(spec: Spec, project: Project) -> dict[str, Any]:
    """The spec values and settings the package files are rendered from, by source name."""
    c = spec.canonical
    runtime = c["runtime"]
    web = c["interface"]["web"]
    values: dict[str, Any] = {
        "spec.name": c["name"],
        "spec.title": c["title"],
        "spec.description": c["description"],
        "spec.outputs": c["outputs"],
        "spec.runtime.python": runtime["python"],
        "spec.runtime.memory": runtime["memory"],
        "spec.runtime.cpus": runtime["cpus"],
        "spec.runtime.pids": runtime["pids"],
        "spec.runtime.network": runtime["network"],
        "spec.interface.web.port": web["port"] if web else None,
    }
    # scriptexec.toml or an override replaces the spec's value: while one is set, editing
    # the spec's base_image changes nothing, so it is not an input. Their input names differ
    # so that status can say where a new base image came from.
    if project.options.base_image and project.options.base_image_source == CONFIG_FILENAME:
        values["config:base_image"] = project.options.base_image
    elif project.options.base_image:
        values["setting:base_image"] = project.options.base_image
    else:
        values["spec.runtime.base_image"] = runtime["base_image"]
    for name, inp in sorted(c["inputs"].items()):
        for key in ("format", "location", "env"):
            values[f"spec.inputs.{name}.{key}"] = inp[key]
    return values


class PackageStage:
    name = "package"
    version = 1  # bump when the rendering changes for the same templates and spec values
    reads: dict[str, tuple[str, ...]] = {}
    publish_dir: str | None = ""

    def inputs(self, spec: Spec, project: Project) -> dict[str, Any]:
        found = _values(spec, project)
        for template in TEMPLATES.values():
            found[f"template:{template}"] = project.template_digest(template)
        for data in data_files(spec, project.root):
            found[f"file:{project.relative(data.source)}"] = project.file_digest(data.source)
            mode = data_mode(data.source)
            if mode is not None:  # only when set: other specs' keys stay as they were
                found[f"mode:{project.relative(data.source)}"] = mode
        return found

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def run(self, ctx: StageContext) -> StageResult:
        spec, project = ctx.spec, ctx.project
        files: dict[str, bytes] = {}
        missing: list[str] = []
        owners: dict[str, str] = {}  # packaged path -> input
        packaged: dict[str, str] = {}  # input -> packaged path
        modes: dict[str, str] = {}  # packaged path -> mode, where tighter than DATA_MODE
        for data in data_files(spec, project.root):
            if data.dest in owners:
                raise BuildError(
                    f"{spec.name}: inputs {owners[data.dest]!r} and {data.input!r} would both"
                    f" be packaged as {data.dest}; give their files different names"
                )
            owners[data.dest] = data.input
            try:
                files[data.dest], mode = _read_data(data.source)
                packaged[data.input] = data.dest
                if DATA_MODE & mode != DATA_MODE:
                    modes[data.dest] = f"{DATA_MODE & mode:04o}"
            except FileNotFoundError:
                # Not an error here: the location may be meant for the run-time machine.
                missing.append(project.relative(data.source))
                ctx.progress(f"sample data {project.relative(data.source)} not found; not packaged")
            except OSError as exc:  # ELOOP: a symlink swapped in since the path was resolved
                raise BuildError(
                    f"{project.relative(data.source)}: cannot read {data.input!r}'s data: "
                    f"{exc.strerror}"
                ) from exc
        context = _template_context(_values(spec, project), packaged)
        env = _jinja_env()
        for output, template in TEMPLATES.items():
            source = project.template(template).read_text(encoding="utf-8")
            try:
                text = env.from_string(source).render(context)
            except jinja2.TemplateError as exc:
                raise BuildError(f"{project.relative(project.template(template))}: {exc}") from exc
            files[output] = text.encode("utf-8")
        meta: dict[str, Any] = {"data_missing": missing} if missing else {}
        if modes:
            meta["modes"] = modes  # the engine publishes and caches these files no wider
        return StageResult(files=files, meta=meta)


def _template_context(values: dict[str, Any], packaged: dict[str, str]) -> dict[str, Any]:
    """What templates see: built only from `values`, so nothing unhashed leaks in."""
    name = values["spec.name"]
    port = values["spec.interface.web.port"]
    inputs = []
    for key, fmt in values.items():
        if key.startswith("spec.inputs.") and key.endswith(".format"):
            input_name = key[len("spec.inputs.") : -len(".format")]
            prefix = f"spec.inputs.{input_name}."
            inputs.append(
                {
                    "name": input_name,
                    "format": fmt,
                    "location": values[prefix + "location"],
                    "env": values[prefix + "env"],
                    "packaged": packaged.get(input_name),
                }
            )
    return {
        "name": name,
        "title": values["spec.title"],
        "description": values["spec.description"],
        "outputs": values["spec.outputs"],
        "python": values["spec.runtime.python"],
        "base_image": values.get("setting:base_image")
        or values.get("config:base_image")
        or values["spec.runtime.base_image"],
        "memory": values["spec.runtime.memory"],
        "cpus": values["spec.runtime.cpus"],
        "pids": values["spec.runtime.pids"],
        "network": values["spec.runtime.network"],
        "web": port is not None,
        "port": port,
        "inputs": inputs,
        "has_postgres": any(i["format"] == "postgres" for i in inputs),
        "uid": APP_UID,
        "image": f"{image_repo(name)}:latest",
        "container_env": container_env(port),
    }


def _jinja_env() -> jinja2.Environment:
    # Not HTML: no autoescape. Values are quoted per target language with explicit filters:
    # `q` makes a double-quoted string valid in YAML and in Dockerfile instructions,
    # `sh` a shell word.
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["q"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    env.filters["sh"] = lambda value: shlex.quote(str(value))
    return env
