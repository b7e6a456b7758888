"""The command line. Each command parses its flags, calls one core function in
scriptexec.commands with keyword arguments, and renders the result; nothing else lives here.

Imports of the core are inside the commands, so `scriptexec --help` and a no-op build do
not pay for jsonschema, jinja2, docker or ollama.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scriptexec import __version__
from scriptexec.errors import ExitCode, ScriptexecError, SpecError
from scriptexec.ui import Console

F = TypeVar("F", bound=Callable[..., Any])
STAGES = ("analyze", "plan", "generate", "validate", "test", "package", "image")


class Env:
    """What the global options set up, handed to every command."""

    def __init__(self, root: Path, console: Console) -> None:
        self.root = root
        self.console = console

    def project(self, **options: Any) -> Any:
        from scriptexec.project import Options, Project

        cache_dir = options.pop("cache_dir", None)
        return Project(self.root, Path(cache_dir) if cache_dir else Path(), Options(**options))


def handle_errors(func: F) -> F:
    """The one place errors become exit codes: a message for users, a log for bugs."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        env: Env = ctx.obj
        try:
            code = func(*args, **kwargs)
        except SpecError as exc:
            for problem in exc.problems:
                env.console.error(problem.shown())
            n = len(exc.problems)
            env.console.error(f"{n} problem{'s' if n != 1 else ''} found")
            ctx.exit(int(exc.exit_code))
        except ScriptexecError as exc:
            env.console.error(env.console.style("error: ", "red") + str(exc))
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            env.console.error("interrupted")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except (click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:
            # click.echo of a whole document (schema, graph) into a closed pipe: not a bug.
            from scriptexec.ui import discard_output

            discard_output(sys.stdout)
            ctx.exit(int(ExitCode.OK))
        except Exception as exc:
            log = _crash_log(env.root)
            env.console.error(
                f"internal error: {type(exc).__name__}: {exc}\n"
                f"this is a bug in scriptexec; the traceback is in {log}"
            )
            ctx.exit(int(ExitCode.FAILURE))
        ctx.exit(int(code or 0))

    return wrapper  # type: ignore[return-value]


def _crash_log(root: Path) -> Path:
    import traceback

    log = root / ".scriptexec" / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"scriptexec {__version__} {' '.join(sys.argv)}\n")
            fh.write(traceback.format_exc() + "\n")
    except OSError:
        log = Path("(not written: the project directory is not writable)")
    return log


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scriptexec")
@click.option("-v", "--verbose", count=True, help="Say more (repeat for more).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--color/--no-color", default=None, help="Colour output (default: on a TTY, unless NO_COLOR)."
)
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in this directory.",
)
@click.pass_context
def cli(
    ctx: click.Context, verbose: int, quiet: bool, color: bool | None, project_dir: Path | None
) -> None:
    """Turn YAML task specs into tested, containerised Python programs, make-style."""
    root = (project_dir or Path.cwd()).resolve()
    ctx.obj = Env(root, Console(color=color, verbosity=-1 if quiet else verbose))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _paths(env: Env, paths: tuple[str, ...]) -> list[Path]:
    from scriptexec.spec.discover import discover

    return discover(list(paths), env.root)


@cli.command()
@click.argument("paths", nargs=-1)
@click.pass_obj
@handle_errors
def validate(env: Env, paths: tuple[str, ...]) -> int:
    """Check specs (files or directories; default specs/) and report every problem."""
    from scriptexec.commands.validate import validate_specs

    notes: list[str] = []
    problems, count = validate_specs(paths=_paths(env, paths), root=env.root, notes=notes)
    for p in problems:
        env.console.error(p.shown())
    if problems:
        files = len({p.file for p in problems})
        env.console.error(
            f"{_plural(len(problems), 'problem')} in {files} of {_plural(count, 'spec')}"
        )
        return int(ExitCode.USAGE)
    for note in notes:
        env.console.line(note)
    env.console.line(f"{count} spec{'s' if count != 1 else ''} valid")
    return 0


@cli.command()
@click.pass_obj
@handle_errors
def schema(env: Env) -> int:
    """Print the JSON Schema of specs (for editors and other tools)."""
    from scriptexec.resources import schema_path

    click.echo(schema_path("spec").read_text(encoding="utf-8"), nl=False)
    return 0


@cli.command()
@click.argument("name")
@click.pass_obj
@handle_errors
def init(env: Env, name: str) -> int:
    """Write a new spec scaffold specs/NAME.yaml (and sample data) to start from."""
    from scriptexec.commands.init import init_spec

    for path in init_spec(root=env.root, name=name):
        env.console.line(f"wrote {path}")
    return 0


def _build_options(func: F) -> F:
    options = [
        click.option(
            "--base-image",
            default=None,
            help="Build FROM this image instead of runtime.base_image (env SCRIPTEXEC_BASE_IMAGE).",
        ),
        click.option(
            "--build-network",
            default=None,
            type=click.Choice(["host", "bridge", "none"]),
            help="Network for the image build's RUN steps (host: pip reaches PyPI when the "
            "daemon has no bridge NAT).",
        ),
        click.option(
            "--cache-dir",
            default=None,
            type=click.Path(file_okay=False),
            help="Cache directory (env SCRIPTEXEC_CACHE_DIR; default .scriptexec/cache).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Build this many specs in parallel.",
)
@click.option("-k", "--keep-going", is_flag=True, help="Go on with other specs after a failure.")
@click.option(
    "-B",
    "--force",
    "force",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[STAGE]",
    help="Rebuild regardless of the cache: every stage, or the one named.",
)
@click.option("--until", type=click.Choice(STAGES), default=None, help="Stop after this stage.")
@click.option("-n", "--dry-run", is_flag=True, help="Print what would run and why; run nothing.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if anything is stale against scriptexec.lock; run nothing (no LLM, no Docker).",
)
@click.option(
    "--frozen",
    is_flag=True,
    help="Build only from scriptexec.lock and the cache; fail if an LLM would be needed.",
)
@click.option("--no-image", is_flag=True, help="Skip the Docker image stage.")
@click.option(
    "--require-image",
    is_flag=True,
    help="Fail (instead of skipping) when no Docker engine answers.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable events, one JSON object per line."
)
@_build_options
@click.pass_obj
@handle_errors
def build(
    env: Env,
    paths: tuple[str, ...],
    jobs: int,
    keep_going: bool,
    force: str | None,
    until: str | None,
    dry_run: bool,
    check: bool,
    frozen: bool,
    no_image: bool,
    require_image: bool,
    as_json: bool,
    base_image: str | None,
    build_network: str | None,
    cache_dir: str | None,
) -> int:
    """Build specs (files or directories; default every spec under specs/)."""
    from scriptexec.commands.build import run_build

    env.console.json_events = as_json
    if force is not None and force not in ("all", *STAGES):
        # `-B specs/x.yaml`: the optional value was a path, as with make's -B.
        paths, force = (force, *paths), "all"
    mode = "check" if check else "dry-run" if dry_run else "build"
    project = env.project(
        base_image=base_image,
        build_network=build_network,
        require_image=require_image,
        no_image=no_image,
        frozen=frozen,
        cache_dir=cache_dir,
    )
    return run_build(
        project=project,
        console=env.console,
        paths=_paths(env, paths),
        mode=mode,
        jobs=jobs,
        keep_going=keep_going,
        force=force,
        until=until,
        frozen=frozen,
        no_image=no_image,
    )


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_build_options
@click.pass_obj
@handle_errors
def status(
    env: Env,
    paths: tuple[str, ...],
    as_json: bool,
    base_image: str | None,
    build_network: str | None,
    cache_dir: str | None,
) -> int:
    """Say, for every stage of every spec, whether it is fresh or stale, and why."""
    from scriptexec.commands.status import show_status

    project = env.project(base_image=base_image, build_network=build_network, cache_dir=cache_dir)
    return show_status(
        project=project, console=env.console, paths=_paths(env, paths), as_json=as_json
    )


@cli.command()
@click.argument("path", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
@click.option(
    "--pipeline",
    is_flag=True,
    help="The specs (of PATH, default specs/) and which reads which one's results (from:).",
)
@click.pass_obj
@handle_errors
def graph(env: Env, path: str | None, fmt: str, pipeline: bool) -> int:
    """Print the stage graph (what each stage reads) as Mermaid or DOT."""
    from scriptexec.commands.graph import pipeline_graph, stage_graph

    if pipeline:
        paths = _paths(env, (path,) if path else ())
        click.echo(pipeline_graph(project=env.project(), paths=paths, fmt=fmt), nl=False)
        return 0
    spec = _paths(env, (path,))[0] if path else None
    click.echo(stage_graph(project=env.project(), spec_path=spec, fmt=fmt), nl=False)
    return 0


@cli.command()
@click.argument("paths", nargs=-1)
@click.pass_obj
@handle_errors
def clean(env: Env, paths: tuple[str, ...]) -> int:
    """Remove what builds wrote to build/<name>/ (results and .env you added stay)."""
    from scriptexec.commands.clean import clean_specs

    for line in clean_specs(project=env.project(), paths=_paths(env, paths) if paths else None):
        env.console.line(line)
    return 0


@cli.group()
def cache() -> None:
    """Manage the build cache."""


@cache.command("gc")
@click.option("--max-size", default=None, help="Shrink the cache under this size (e.g. 500M, 2G).")
@click.option(
    "--older-than", default=None, help="Drop entries unused for this long (e.g. 30d, 12h)."
)
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False))
@click.pass_obj
@handle_errors
def cache_gc(env: Env, max_size: str | None, older_than: str | None, cache_dir: str | None) -> int:
    """Remove cache entries; entries scriptexec.lock refers to are kept."""
    from scriptexec.commands.clean import gc_cache

    env.console.line(
        gc_cache(project=env.project(cache_dir=cache_dir), max_size=max_size, older_than=older_than)
    )
    return 0


@cli.command()
@click.argument("path")
@click.option("--web", is_flag=True, help="Serve the dashboard instead of the batch run.")
@click.option(
    "--local", is_flag=True, help="Run the program in a virtual environment instead of a container."
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Environment file (default build/<name>/.env).",
)
@click.pass_obj
@handle_errors
def run(env: Env, path: str, web: bool, local: bool, env_file: Path | None) -> int:
    """Run a built spec's program: in its container, or locally with --local."""
    from scriptexec.commands.run import run_spec

    return run_spec(
        project=env.project(),
        console=env.console,
        spec_path=_paths(env, (path,))[0],
        web=web,
        local=local,
        env_file=env_file,
    )


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--debounce",
    default=100,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Milliseconds to wait for a burst of saves to settle.",
)
@click.option(
    "--run", "run_program", is_flag=True, help="Restart the program after each successful rebuild."
)
@click.option("--local", is_flag=True, help="With --run: run locally instead of in a container.")
@click.option(
    "--image",
    "with_image",
    is_flag=True,
    help="Also rebuild the Docker image (off: watch is the quick edit loop).",
)
@_build_options
@click.pass_obj
@handle_errors
def watch(
    env: Env,
    paths: tuple[str, ...],
    debounce: int,
    run_program: bool,
    local: bool,
    with_image: bool,
    base_image: str | None,
    build_network: str | None,
    cache_dir: str | None,
) -> int:
    """Rebuild specs when they, their data, templates or prompts change."""
    from scriptexec.commands.watch import watch_specs

    project = env.project(base_image=base_image, build_network=build_network, cache_dir=cache_dir)
    return watch_specs(
        project=project,
        console=env.console,
        paths=list(paths),
        debounce_ms=debounce,
        run_program=run_program,
        local=local,
        with_image=with_image,
    )


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C before a command installed its own handling still exits 130, quietly.
    try:
        cli.main(args=argv, prog_name="scriptexec")
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
