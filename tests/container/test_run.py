"""What `scriptexec run` shows of a container's output."""

from __future__ import annotations

from pathlib import Path


def test_container_paths_in_output_become_host_paths(tmp_path: Path) -> None:
    from scriptexec.container.run import host_paths

    program = tmp_path / "build" / "dscr"
    shown = host_paths(program, lambda p: str(p.relative_to(tmp_path)))
    assert shown("wrote /data/results/results.csv and /data/exports/x.csv") == (
        "wrote build/dscr/results/results.csv and build/dscr/exports/x.csv"
    )
    assert shown("logs in /data/logs") == "logs in build/dscr/logs"
    assert shown("/data/resultsX and /database stay") == "/data/resultsX and /database stay"
