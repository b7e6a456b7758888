"""Integer arithmetic makes integers (issue 15: years came out as 2022.0 in CSV)."""

from __future__ import annotations

from pathlib import Path

from codegen.helpers import render, run
from codegen.sql_support import spec_model


def test_computed_years_are_written_as_integers(tmp_path: Path) -> None:
    (tmp_path / "spec").mkdir()
    model = spec_model(
        tmp_path / "spec",
        fields={"start_year": "integer", "term_years": "integer"},
        compute={
            "end_year": "start_year + term_years",
            "halfway": "start_year + term_years / 2",
            "decade": "start_year // 10 * 10",
        },
        summary={"last_end": "max(end_year)"},
    )
    types = {c["name"]: c["type"] for c in model["compute"]}
    assert types == {"end_year": "integer", "halfway": "number", "decade": "integer"}
    program = render(model, tmp_path / "program", {"data.csv": "start_year,term_years\n2019,5\n"})
    result = run(program, "run", env={"DATA_LOCATION": str(program / "data.csv")})
    assert result.code == 0, result
    # 2019 + 5 = 2024; 2019 + 2.5 = 2021.5; 2019 // 10 * 10 = 2010
    csv = (program / "results" / "results.csv").read_text(encoding="utf-8").splitlines()
    assert csv == [
        "start_year,term_years,end_year,halfway,decade,error",
        "2019,5,2024,2021.5,2010,",
    ]
    assert "  last_end  2,024" in result.out.splitlines()  # (the console groups digits)
