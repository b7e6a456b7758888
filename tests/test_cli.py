"""The command line's conventions: version, exit codes, colour, schema, init."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scriptexec.errors import ExitCode

REPO = Path(__file__).resolve().parent.parent


def test_version(cli) -> None:
    from scriptexec import __version__

    assert cli("--version").output.strip() == f"scriptexec, version {__version__}"


def test_exit_codes_are_documented_once() -> None:
    readme = (REPO / "README.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in readme, f"exit code {int(code)} missing from the README table"


def test_validate_shipped_specs(cli) -> None:
    result = cli("validate", "specs", cwd=REPO)
    assert result.output.splitlines() == [
        "specs/tenant_risk.yaml: 2 prose steps need an LLM to build (ollama qwen2.5-coder:7b)",
        "9 specs valid",
    ]


def test_prose_steps_with_no_llm_provider_are_a_spec_error(project: Path, cli) -> None:
    spec = project / "specs" / "tenant_risk.yaml"
    text = spec.read_text()
    old = 'generator: {provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42}'
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    spec.write_text(text.replace(old, "generator: {provider: none}"))
    result = cli("validate", "specs/tenant_risk.yaml", cwd=project, expect=2)
    assert result.output.splitlines()[0] == (
        f"specs/tenant_risk.yaml:{line}:23: generator.provider: provider none, but 2 prose"
        " steps need an LLM to write their code; set generator.provider to ollama or openai,"
        " or state the logic as compute formulas"
    )
    cli("build", "-n", "specs/tenant_risk.yaml", cwd=project, expect=2)


def test_validate_defaults_to_specs_dir(project: Path, cli) -> None:
    assert "9 specs valid" in cli("validate", cwd=project).output


def test_validate_reports_all_specs_and_exits_2(project: Path, cli) -> None:
    (project / "specs" / "broken.yaml").write_text("version: 1\nname: broken\ninputs: {}\n")
    (project / "specs" / "also.yml").write_text("name: [\n")
    result = cli("validate", cwd=project, expect=2)
    assert "specs/broken.yaml:3:9: inputs: must not be empty" in result.output
    assert "specs/also.yml:" in result.output
    assert result.output.splitlines()[-1] == "2 problems in 2 of 11 specs"


def test_two_specs_with_one_name(project: Path, cli) -> None:
    text = (project / "specs" / "dscr.yaml").read_text()
    (project / "specs" / "copy.yaml").write_text(text)
    result = cli("validate", cwd=project, expect=2)
    assert "name: name 'dscr' is also used by specs/" in result.output


def test_missing_path_is_a_usage_error(tmp_path: Path, cli) -> None:
    result = cli("validate", "nope.yaml", cwd=tmp_path, expect=2)
    assert result.output.strip() == "error: nope.yaml: no such file or directory"


def test_unknown_flag_is_a_usage_error(cli) -> None:
    assert "No such option" in cli("build", "--frobnicate", expect=2).output


def test_schema_prints_json_schema(cli) -> None:
    schema = json.loads(cli("schema").output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == json.loads((REPO / "schemas" / "spec.schema.json").read_text())


def test_schema_documents_every_property() -> None:
    schema = json.loads((REPO / "schemas" / "spec.schema.json").read_text())

    def walk(node: object, where: str) -> None:
        if not isinstance(node, dict):
            return
        for name, prop in node.get("properties", {}).items():
            for key in ("title", "description", "examples"):
                assert key in prop, f"{where}.{name} has no {key}"
            walk(prop, f"{where}.{name}")
        for key in ("additionalProperties", "items"):
            walk(node.get(key), where)
        for alt in node.get("anyOf", []):
            walk(alt, where)

    walk(schema, "$")


def test_init_writes_a_spec_that_validates(tmp_path: Path, cli) -> None:
    out = cli("init", "sales-report", cwd=tmp_path).output
    spec = tmp_path / "specs" / "sales-report.yaml"
    assert f"wrote {spec}" in out
    first = spec.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/spec.schema.json"
    assert (tmp_path / "schemas" / "spec.schema.json").is_file()
    cli("validate", cwd=tmp_path)
    again = cli("init", "sales-report", cwd=tmp_path, expect=2)
    assert "already exists" in again.output
    assert "not a valid spec name" in cli("init", "Bad Name", cwd=tmp_path, expect=2).output


def test_no_traceback_and_crash_log_for_bugs(tmp_path: Path, cli, monkeypatch) -> None:
    import scriptexec.commands.validate as validate

    def boom(**kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(validate, "validate_specs", boom)
    (tmp_path / "specs").mkdir()
    result = cli("validate", cwd=tmp_path, expect=1)
    assert "internal error: RuntimeError: kaboom" in result.output
    assert "Traceback" not in result.output
    assert "RuntimeError: kaboom" in (tmp_path / ".scriptexec" / "crash.log").read_text()


def test_color_follows_flags_and_no_color(project: Path, cli, monkeypatch) -> None:
    (project / "specs" / "bad.yaml").write_text("version: 1\n")
    monkeypatch.delenv("NO_COLOR")
    plain = cli("--no-color", "build", "specs/bad.yaml", cwd=project, expect=2).output
    assert "\033[" not in plain
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in cli("build", "specs/bad.yaml", cwd=project, expect=2).output


def test_importing_the_cli_stays_cheap() -> None:
    code = (
        "import sys, scriptexec.cli, scriptexec.commands.build, scriptexec.engine.engine\n"
        "heavy = {'jsonschema', 'jinja2', 'docker', 'ollama', 'watchdog'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shell_completion_script(cli, monkeypatch) -> None:
    from click.testing import CliRunner

    from scriptexec.cli import cli as group

    result = CliRunner().invoke(
        group, [], prog_name="scriptexec", env={"_SCRIPTEXEC_COMPLETE": "bash_source"}
    )
    assert "_scriptexec_completion" in result.output


def edit_spec(project: Path, name: str, old: str, new: str, marker: str) -> int:
    """Replace `old` (once) in specs/<name>.yaml with `new`; the line `marker` ends up on."""
    spec = project / "specs" / f"{name}.yaml"
    text = spec.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    spec.write_text(text)
    return text.splitlines().index(marker) + 1


def test_a_summary_value_inside_an_aggregate_says_why_it_is_refused(project: Path, cli) -> None:
    line = edit_spec(
        project,
        "dscr",
        "\nsummary:\n",
        "\nsummary:\n  grand: sum(noi)\n  weird: sum(noi / grand)\n",
        "  weird: sum(noi / grand)",
    )
    result = cli("validate", "specs/dscr.yaml", cwd=project, expect=2)
    # Not "unknown name 'grand'; did you mean 'grand'?": the name exists, in the other scope.
    assert result.output.splitlines()[0] == (
        f"specs/dscr.yaml:{line}:20: summary.weird: 'grand' is a summary value, not a row"
        " field, so it cannot be used inside an aggregate; use it outside, e.g."
        " sum(x) / grand instead of sum(x / grand)"
    )


@pytest.mark.parametrize(
    "written, col",
    [
        ("dscr: noi / annual_debt_service *", 35),  # the '*' is the 35th character
        ('dscr: "noi / annual_debt_service *"', 36),  # one further: the opening quote
    ],
)
def test_an_unfinished_formula_points_at_its_own_line(
    project: Path, cli, written: str, col: int
) -> None:
    formula = "\n  dscr: noi / annual_debt_service\n"
    line = edit_spec(project, "dscr", formula, f"\n  {written}\n", f"  {written}")
    result = cli("validate", "specs/dscr.yaml", cwd=project, expect=2)
    assert result.output.splitlines()[0] == (
        f"specs/dscr.yaml:{line}:{col}: compute.dscr: invalid syntax:"
        " the formula ends unfinished after '*'"
    )


def test_a_group_value_named_like_a_summary_value_is_never_picked_silently(
    project: Path, cli
) -> None:
    assert "\n  skus: count()\n" in (project / "specs" / "inventory.yaml").read_text()
    line = edit_spec(
        project,
        "inventory",
        "\n    skus: count()\n",  # the group's skus, beside the overall one above
        "\n    skus: count()\n    share_pct: skus / 10 * 100\n",
        "    share_pct: skus / 10 * 100",
    )
    result = cli("validate", "specs/inventory.yaml", cwd=project, expect=2)
    assert result.output.splitlines()[0] == (
        f"specs/inventory.yaml:{line}:5: groups.summary.share_pct: 'skus' here means this"
        " group's own value (groups.summary.skus), but summary.skus has the same name;"
        " rename one of them, so that a group value never silently stands for the overall one"
    )
