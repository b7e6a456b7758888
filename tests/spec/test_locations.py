"""An input's `location` cannot take a file from outside the project into a build.

A relative location is read from the spec's own directory and must resolve, symlinks and
all, to a regular file inside the project; only `outside_project: true` on the input lets a
build copy a file from elsewhere. An absolute location is a path on the machine that runs
the program and is not copied. Anything else is a spec error at validate time, so a build
stops with exit 2 before writing anything.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = "specs/dscr.yaml"
LOCATION = "location: data/properties.csv"


def with_location(project: Path, location: str, extra: str = "") -> tuple[int, int]:
    """Point dscr's input at `location`; return the (line, column) of the value as written."""
    path = project / SPEC
    text = path.read_text()
    assert LOCATION in text
    path.write_text(text.replace(LOCATION, f"location: {location}{extra}", 1))
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip().startswith(f"location: {location}"):
            return number, line.index(location) + 1
    raise AssertionError("location line not found")


def location_problem(output: str) -> str:
    """The one problem reported for inputs.properties.location."""
    found = [line for line in output.splitlines() if ": inputs.properties.location: " in line]
    assert len(found) == 1, output
    return found[0]


def nothing_written(project: Path) -> None:
    assert not (project / "build").exists()
    assert not (project / "scriptexec.lock").exists()
    cache = Path(os.environ["SCRIPTEXEC_CACHE_DIR"])
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private file in a directory beside (not inside) the project."""
    secret = tmp_path_factory.mktemp("outside") / "secret.csv"
    secret.write_text(
        "property_id,name,gross_revenue,operating_expenses,annual_debt_service\nS1,Secret,1,1,1\n"
    )
    secret.chmod(0o600)
    return secret


def test_climbing_to_etc_shadow_is_a_spec_error(project: Path, cli) -> None:
    location = "../../../../../../../../etc/shadow"
    line, col = with_location(project, location)
    out = cli("validate", SPEC, cwd=project, expect=2).output
    problem = location_problem(out)
    assert problem.startswith(f"{SPEC}:{line}:{col}: inputs.properties.location: ")
    assert "outside the project" in problem and "/etc/shadow" in problem
    out = cli("build", SPEC, "--no-image", cwd=project, expect=2).output
    assert "outside the project" in location_problem(out)
    nothing_written(project)


def test_a_relative_path_to_a_file_beside_the_project_is_refused(
    project: Path, cli, outside: Path
) -> None:
    location = os.path.relpath(outside, project / "specs")
    with_location(project, location)
    problem = location_problem(cli("build", SPEC, "--no-image", cwd=project, expect=2).output)
    assert f"resolves to {outside}, outside the project" in problem
    assert "outside_project: true" in problem  # the way out is named
    nothing_written(project)


def test_a_symlink_out_of_the_project_is_refused(project: Path, cli, outside: Path) -> None:
    data = project / "specs/data/properties.csv"
    data.unlink()
    data.symlink_to(outside)
    line, col = with_location(project, "data/properties.csv")
    problem = location_problem(cli("build", SPEC, "--no-image", cwd=project, expect=2).output)
    assert problem.startswith(f"{SPEC}:{line}:{col}: inputs.properties.location: ")
    assert f"resolves to {outside}, outside the project" in problem
    nothing_written(project)


def test_a_symlinked_directory_out_of_the_project_is_refused(
    project: Path, cli, outside: Path
) -> None:
    (project / "specs/linked").symlink_to(outside.parent, target_is_directory=True)
    with_location(project, "linked/secret.csv")
    problem = location_problem(cli("validate", SPEC, cwd=project, expect=2).output)
    assert f"resolves to {outside}, outside the project" in problem


def test_a_symlink_inside_the_project_is_fine(project: Path, cli) -> None:
    shared = project / "shared"
    shared.mkdir()
    data = project / "specs/data/properties.csv"
    (shared / "p.csv").write_bytes(data.read_bytes())
    data.unlink()
    data.symlink_to(Path("../../shared/p.csv"))
    cli("validate", SPEC, cwd=project)


def test_a_missing_file_is_a_spec_error(project: Path, cli) -> None:
    line, col = with_location(project, "data/nope.csv")
    out = cli("validate", SPEC, cwd=project, expect=2).output
    problem = location_problem(out)
    assert problem.startswith(f"{SPEC}:{line}:{col}: inputs.properties.location: ")
    # Relative to the spec's own directory, shown relative to the project.
    assert "'data/nope.csv' does not exist (looked for specs/data/nope.csv)" in problem
    cli("build", SPEC, "--no-image", cwd=project, expect=2)
    nothing_written(project)


def test_a_directory_or_fifo_is_not_a_data_file(project: Path, cli) -> None:
    (project / "specs/data/dir.csv").mkdir()
    with_location(project, "data/dir.csv")
    assert "is not a regular file" in location_problem(
        cli("validate", SPEC, cwd=project, expect=2).output
    )
    os.mkfifo(project / "specs/data/pipe.csv")
    with_location_again = (project / SPEC).read_text().replace("data/dir.csv", "data/pipe.csv")
    (project / SPEC).write_text(with_location_again)
    assert "is not a regular file" in location_problem(
        cli("validate", SPEC, cwd=project, expect=2).output
    )


def test_an_absolute_location_is_a_run_time_path_and_not_copied(project: Path, cli) -> None:
    with_location(project, "/etc/shadow")
    cli("validate", SPEC, cwd=project)
    cli("build", SPEC, "--no-image", cwd=project)
    assert not (project / "build/dscr/data").exists()
    assert b"shadow" not in (project / "build/dscr/Dockerfile").read_bytes()


def test_outside_project_true_copies_and_keeps_the_files_permissions(
    project: Path, cli, outside: Path
) -> None:
    location = os.path.relpath(outside, project / "specs")
    with_location(project, location, "\n    outside_project: true")
    cli("validate", SPEC, cwd=project)
    cli("build", SPEC, "--no-image", cwd=project)
    copy = project / "build/dscr/data/secret.csv"
    assert copy.read_bytes() == outside.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    blobs = [p for p in Path(os.environ["SCRIPTEXEC_CACHE_DIR"]).rglob("*") if p.is_file()]
    copies = [p for p in blobs if p.read_bytes() == outside.read_bytes()]
    assert copies and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in copies)


def test_outside_project_true_still_needs_the_file(project: Path, cli, outside: Path) -> None:
    with_location(project, str(outside.parent / "gone.csv"), "\n    outside_project: true")
    assert "does not exist" in location_problem(cli("validate", SPEC, cwd=project, expect=2).output)


def test_outside_project_must_be_a_boolean(project: Path, cli) -> None:
    with_location(project, "data/properties.csv", "\n    outside_project: yes please")
    out = cli("validate", SPEC, cwd=project, expect=2).output
    assert re.search(r"inputs\.properties\.outside_project: expected true or false", out), out


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_copies_never_widen_the_sources_permissions(project: Path, cli, mode: int) -> None:
    data = project / "specs/data/properties.csv"
    data.chmod(mode)
    cli("build", SPEC, "--no-image", cwd=project)
    copy = project / "build/dscr/data/properties.csv"
    assert stat.S_IMODE(copy.stat().st_mode) == mode & 0o644


def test_shipped_specs_are_valid_where_they_are(cli) -> None:
    cli("validate", cwd=REPO)


def test_the_package_stage_checks_again_when_it_reads(project: Path, outside: Path) -> None:
    # Valid when loaded; then the sample data becomes a link out of the project.
    from scriptexec.errors import BuildError
    from scriptexec.project import Project
    from scriptexec.spec.model import load_spec
    from scriptexec.stages.package import PackageStage

    spec = load_spec(project / SPEC, SPEC, root=project)
    data = project / "specs/data/properties.csv"
    data.unlink()
    data.symlink_to(outside)
    with pytest.raises(BuildError, match="outside the project"):
        PackageStage().inputs(spec, Project(project))
