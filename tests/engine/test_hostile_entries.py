"""Names read back from the cache, scriptexec.lock and a build's manifest are never obeyed
blindly: one that would reach outside its folder is a corrupt entry (a warning, a cache
miss, an ignored manifest line), never a write or a delete. Damaged cache layouts are
repaired once. And the console says why a stage re-ran, and what a build restored."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import edit, ran_stages

SPEC = "specs/dscr.yaml"


def cache_dir() -> Path:
    return Path(os.environ["SCRIPTEXEC_CACHE_DIR"])


def stage_key(project: Path, stage: str) -> str:
    lock = yaml.safe_load((project / "scriptexec.lock").read_text())
    return str(lock["specs"]["dscr"]["stages"][stage]["key"])


def record_path(project: Path, stage: str) -> Path:
    key = stage_key(project, stage)
    return cache_dir() / "stages" / key[:2] / f"{key}.json"


def rewrite_record(project: Path, stage: str, change) -> None:
    path = record_path(project, stage)
    body = json.loads(path.read_text())
    change(body["files"])
    path.write_text(json.dumps(body))


def manifest(project: Path) -> Path:
    return project / "build" / "dscr" / "_scriptexec" / "manifest.json"


def add_to_manifest(project: Path, *names: str) -> None:
    data = json.loads(manifest(project).read_text())
    data.update({n: "0" * 64 for n in names})
    manifest(project).write_text(json.dumps(data))


def build_v(cli, project: Path, *args: str, expect: int = 0) -> str:
    return cli("-v", "build", SPEC, "--no-image", *args, cwd=project, expect=expect).output


# -- B: names from cache records ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../escaped.txt", "{project}/abs-escaped.txt", "data/../../../escaped.txt", "a\0b", ""],
    ids=["dotdot", "absolute", "dotdot-inside", "nul", "empty"],
)
def test_a_record_naming_a_file_outside_the_build_is_a_miss(
    dscr_project: Path, cli, name: str
) -> None:
    name = name.format(project=dscr_project)

    def add(files: dict[str, str]) -> None:
        files[name] = files["app.py"]

    rewrite_record(dscr_project, "generate", add)
    shutil.rmtree(dscr_project / "build")
    out = build_v(cli, dscr_project)
    assert "is corrupt" in out and "Traceback" not in out
    assert not (dscr_project / "escaped.txt").exists()
    assert not (dscr_project / "abs-escaped.txt").exists()
    assert "dscr: generate ran" in out
    assert (dscr_project / "build/dscr/app.py").is_file()


def test_a_blob_digest_that_is_a_path_deletes_nothing(dscr_project: Path, cli) -> None:
    victim = dscr_project / "victim.txt"
    victim.write_text("keep me")
    # The blob of digest d lives at blobs/d[:2]/d: a "digest" of ../.. climbs out.
    digest = os.path.relpath(victim, cache_dir())
    assert digest.startswith("..")

    def point(files: dict[str, str]) -> None:
        files["app.py"] = digest

    rewrite_record(dscr_project, "generate", point)
    shutil.rmtree(dscr_project / "build")
    out = build_v(cli, dscr_project)
    assert victim.read_text() == "keep me"
    assert "is corrupt" in out
    assert "dscr: generate ran" in out


# -- B: names from the manifest ----------------------------------------------------------


@pytest.fixture
def victims(dscr_project: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Files outside build/dscr/ that a hostile manifest lists."""
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "precious.txt"
    inside_project = dscr_project / "precious.txt"
    for path in (elsewhere, inside_project):
        path.write_text("precious")
    add_to_manifest(
        dscr_project, "../../precious.txt", str(elsewhere), "data/../../../precious.txt"
    )
    return [elsewhere, inside_project]


def test_clean_ignores_manifest_entries_outside_the_build(
    dscr_project: Path, cli, victims: list[Path]
) -> None:
    out = cli("clean", SPEC, cwd=dscr_project).output
    assert all(v.read_text() == "precious" for v in victims)
    assert "warning" in out and "manifest" in out
    assert not (dscr_project / "build/dscr/app.py").exists()  # the real entries are cleaned


def test_a_rebuild_ignores_manifest_entries_outside_the_build(
    dscr_project: Path, cli, victims: list[Path]
) -> None:
    edit(dscr_project / SPEC, "memory: 256m", "memory: 300m")  # package re-runs, publish too
    out = build_v(cli, dscr_project)
    assert all(v.read_text() == "precious" for v in victims)
    assert "manifest" in out and "warning" in out


def test_a_symlinked_directory_inside_build_is_not_followed(
    dscr_project: Path, cli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "properties.csv").write_text("precious")
    data = dscr_project / "build/dscr/data"
    shutil.rmtree(data)
    data.symlink_to(elsewhere, target_is_directory=True)
    # A rebuild does not write the sample data through the link...
    edit(dscr_project / SPEC, "memory: 256m", "memory: 300m")
    out = cli("build", SPEC, "--no-image", cwd=dscr_project, expect=1).output
    assert "symlink" in out and "data/properties.csv" in out
    assert (elsewhere / "properties.csv").read_text() == "precious"
    # ...and clean does not delete through it.
    out = cli("clean", SPEC, cwd=dscr_project).output
    assert (elsewhere / "properties.csv").read_text() == "precious"
    assert "warning" in out


# -- B: names from the lock --------------------------------------------------------------


def test_a_lock_entry_with_unsafe_names_is_ignored(dscr_project: Path, cli) -> None:
    lock = dscr_project / "scriptexec.lock"
    data = yaml.safe_load(lock.read_text())
    data["specs"]["dscr"]["stages"]["generate"]["outputs"]["../../x"] = "0" * 64
    data["specs"]["dscr"]["stages"]["plan"]["key"] = "../../../etc/passwd"
    lock.write_text(yaml.safe_dump(data))
    out = build_v(cli, dscr_project)
    assert "scriptexec.lock" in out and "corrupt" in out
    assert ran_stages(out) == []  # both come back from the cache under their real keys
    assert "../../x" not in lock.read_text()


# -- C: a damaged cache layout is repaired once ------------------------------------------


def repaired_once(cli, project: Path, what: str) -> None:
    shutil.rmtree(project / "build")
    first = build_v(cli, project)
    assert "Traceback" not in first and "internal error" not in first
    assert what in first and "corrupt" in first
    shutil.rmtree(project / "build")
    second = build_v(cli, project)
    assert "warning" not in second
    assert ran_stages(second) == []


def test_stages_folder_replaced_by_a_file(dscr_project: Path, cli) -> None:
    shutil.rmtree(cache_dir() / "stages")
    (cache_dir() / "stages").write_text("not a folder")
    repaired_once(cli, dscr_project, "stages")


def test_a_record_replaced_by_a_folder(dscr_project: Path, cli) -> None:
    path = record_path(dscr_project, "generate")
    path.unlink()
    (path / "sub").mkdir(parents=True)
    repaired_once(cli, dscr_project, path.name)


def test_a_blob_replaced_by_a_folder(dscr_project: Path, cli) -> None:
    digest = json.loads(record_path(dscr_project, "generate").read_text())["files"]["app.py"]
    blob = cache_dir() / "blobs" / digest[:2] / digest
    blob.unlink()
    blob.mkdir()
    repaired_once(cli, dscr_project, digest)


# -- E: why a stage re-ran ---------------------------------------------------------------


def test_a_corrupt_entry_is_the_reason_not_forced(dscr_project: Path, cli) -> None:
    record_path(dscr_project, "generate").write_text("{not json")
    shutil.rmtree(dscr_project / "build")
    out = build_v(cli, dscr_project)
    assert ran_stages(out) == ["generate"]
    line = next(x for x in out.splitlines() if x.startswith("dscr: generate ran"))
    assert line.endswith(": cache entry was corrupt"), line
    assert "forced" not in out
    forced = build_v(cli, dscr_project, "-B", "generate")
    line = next(x for x in forced.splitlines() if x.startswith("dscr: generate ran"))
    assert line.endswith(": forced"), line


def test_an_entry_missing_from_the_cache_is_not_forced(dscr_project: Path, cli) -> None:
    shutil.rmtree(cache_dir())
    shutil.rmtree(dscr_project / "build")
    out = build_v(cli, dscr_project)
    assert len(ran_stages(out)) == 6
    assert "forced" not in out
    assert "dscr: analyze ran" in out and "not in the local cache" in out


# -- F: a build that only restores says so -----------------------------------------------


def test_a_build_after_clean_says_what_it_restored(dscr_project: Path, cli) -> None:
    cli("clean", SPEC, cwd=dscr_project)
    out = cli("build", SPEC, "--no-image", cwd=dscr_project).output
    assert out.splitlines() == ["dscr: restored 6 stages from the cache"]
    assert (dscr_project / "build/dscr/app.py").is_file()


def test_a_build_without_the_lock_says_what_it_restored(dscr_project: Path, cli) -> None:
    (dscr_project / "scriptexec.lock").unlink()
    out = cli("build", SPEC, "--no-image", cwd=dscr_project).output
    assert out.splitlines() == ["dscr: restored 6 stages from the cache"]
    (dscr_project / "scriptexec.lock").unlink()
    assert cli("-q", "build", SPEC, "--no-image", cwd=dscr_project).output == ""


def test_restored_is_an_event_in_json_mode(dscr_project: Path, cli) -> None:
    cli("clean", SPEC, cwd=dscr_project)
    out = cli("build", SPEC, "--no-image", "--json", cwd=dscr_project).output
    events = [json.loads(line) for line in out.splitlines()]
    assert {"event": "spec", "spec": "dscr", "state": "restored", "stages": 6} in events


def test_a_build_folder_that_is_a_symlink_is_not_written_through(
    dscr_project: Path, cli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "README.md").write_text("precious")
    shutil.rmtree(dscr_project / "build/dscr")
    (dscr_project / "build/dscr").symlink_to(elsewhere, target_is_directory=True)
    out = cli("build", SPEC, "--no-image", cwd=dscr_project, expect=1).output
    assert "is a symlink" in out
    assert [p.name for p in elsewhere.iterdir()] == ["README.md"]
    assert (elsewhere / "README.md").read_text() == "precious"
    out = cli("clean", SPEC, cwd=dscr_project).output
    assert "is a symlink" in out and (elsewhere / "README.md").exists()
