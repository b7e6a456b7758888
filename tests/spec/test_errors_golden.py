"""Golden tests: the exact messages `scriptexec validate` prints for a corpus of broken
specs. Regenerate after a deliberate wording change with SCRIPTEXEC_UPDATE_GOLDEN=1 and
review the diff."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_validate_messages_match_golden(case: Path, tmp_path: Path, cli) -> None:
    shutil.copy(case, tmp_path / case.name)
    shutil.copytree(CORPUS / "data", tmp_path / "data")  # the sample data cases point at
    result = cli("validate", case.name, cwd=tmp_path, expect=2)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[-1].endswith("in 1 of 1 spec")
    problems = "\n".join(lines[:-1]) + "\n"
    for line in lines[:-1]:
        # file:line:col: key.path: message, or under a formula's: the formula and a caret
        assert line.startswith((f"{case.name}:", "    ")), line
    golden = case.with_suffix(".expected")
    if os.environ.get("SCRIPTEXEC_UPDATE_GOLDEN"):
        golden.write_text(problems)
    assert problems == golden.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([case.name, "data"]), (
        "validate wrote"
    )
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["items.csv"], "validate wrote"
