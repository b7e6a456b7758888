"""Pipelines through the CLI: a spec that reads another's results (`from:`) is built
after it, goes stale when what it reads changes (and only then), and status and graph
show the edge. The shipped pair: portfolio_rents reads rent_roll."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import edit, ran_stages

DOWN = "specs/portfolio_rents.yaml"
UP = "specs/rent_roll.yaml"
ALL_STAGES = ["analyze", "plan", "generate", "validate", "test", "package"]

# A pair of our own whose downstream declares no fields: it reads every result column.
A_SPEC = """\
version: 1
name: a
inputs:
  sales:
    format: csv
    location: data/sales.csv
    fields: {id: string, qty: integer, price: number}
compute:
  amount: qty * price
  label: to_text(qty)
outputs: [results.csv, summary.json]
checks:
  - name: amount
    given: {sales: [{id: X, qty: 2, price: 1.5}]}
    expect: {rows: [{id: X, amount: 3}]}   # 2 * 1.5
"""
B_SPEC = """\
version: 1
name: b
inputs:
  s:
    from: a
compute:
  twice: amount * 2
outputs: [results.csv, summary.json]
checks:
  - name: twice
    given: {s: [{id: X, qty: 2, price: 1.5, amount: 3}]}
    expect: {rows: [{id: X, twice: 6}]}   # 3 * 2
"""


@pytest.fixture
def pair(tree) -> Path:
    root = tree(
        {
            "specs": {
                "a.yaml": A_SPEC,
                "b.yaml": B_SPEC,
                "data": {"sales.csv": "id,qty,price\nX,2,1.5\n"},
            }
        }
    )
    return root


def order_of(output: str) -> list[str]:
    """The specs in the order their lines first appear in a build's output."""
    return list(dict.fromkeys(re.findall(r"^(\w+): ", output, flags=re.M)))


def test_building_a_downstream_builds_its_upstream_first(project: Path, cli) -> None:
    out = cli("-v", "build", DOWN, "--no-image", cwd=project).output
    assert order_of(out) == ["rent_roll", "portfolio_rents"]
    assert ran_stages(out, "rent_roll") == ALL_STAGES
    assert ran_stages(out, "portfolio_rents") == ALL_STAGES
    # Nothing to do, and both said so, upstream first.
    again = cli("build", DOWN, "--no-image", cwd=project).output
    assert again == "rent_roll: up to date\nportfolio_rents: up to date\n"


def test_named_in_any_order_the_upstream_comes_first(project: Path, cli) -> None:
    out = cli("-v", "build", DOWN, UP, "--no-image", cwd=project).output
    assert order_of(out) == ["rent_roll", "portfolio_rents"]


def test_a_no_op_build_of_a_pipeline_reads_no_yaml(project: Path, cli, monkeypatch) -> None:
    cli("build", DOWN, "--no-image", cwd=project)
    import scriptexec.spec.upstream as upstream
    import scriptexec.spec.yamlload as yamlload

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a no-op build parsed YAML")

    monkeypatch.setattr(yamlload, "load_yaml", refuse)
    monkeypatch.setattr(upstream, "outline", refuse)
    assert "portfolio_rents: up to date" in cli("build", DOWN, "--no-image", cwd=project).output


def test_upstream_edits_the_downstream_does_not_read_rebuild_nothing_of_it(
    project: Path, cli
) -> None:
    cli("build", DOWN, "--no-image", cwd=project)
    spec = project / UP

    def rebuild() -> str:
        return cli("-v", "build", DOWN, "--no-image", cwd=project).output

    edit(spec, "# A rent roll summarised", "# A rent roll, summarised")  # a comment
    out = rebuild()
    assert ran_stages(out, "rent_roll") == [] and ran_stages(out, "portfolio_rents") == []
    # A formula it reads, with the same type: the upstream rebuilds, the downstream not.
    edit(
        spec,
        "rent_in_place: (monthly_rent if occupied else 0) * 12",
        "rent_in_place: 12 * (monthly_rent if occupied else 0)",
    )
    out = rebuild()
    assert ran_stages(out, "rent_roll") == ["plan", "generate", "validate", "test"]
    assert ran_stages(out, "portfolio_rents") == []
    # A new column it does not read (its fields are a subset): still nothing.
    edit(
        spec,
        "  estimated_noi: rent_in_place",
        "  sqft_rent: rent_in_place / sqft\n  estimated_noi: rent_in_place",
    )
    out = rebuild()
    assert "generate" in ran_stages(out, "rent_roll")
    assert ran_stages(out, "portfolio_rents") == []
    assert rebuild().count("up to date") == 2


def test_what_the_downstream_reads_changing_makes_it_stale(pair: Path, cli) -> None:
    cli("build", "specs/b.yaml", "--no-image", cwd=pair)
    # `label` turns from text into a number: b reads every column of a's results.
    edit(pair / "specs" / "a.yaml", "label: to_text(qty)", "label: qty * 1.5")
    status = cli("status", "specs/b.yaml", cwd=pair).output
    b = status[status.index("b (specs/b.yaml)") :].splitlines()
    assert b[1] == "  reads: a (specs/a.yaml)"
    assert b[2] == "  analyze: fresh"  # it reads where the input is, not what it holds
    assert b[3] == "  plan: stale: upstream a changed (specs/a.yaml)"
    assert b[4] == "  generate: stale: upstream a changed (specs/a.yaml)"
    assert b[7] == "  package: fresh"
    out = cli("-v", "build", "specs/b.yaml", "--no-image", cwd=pair).output
    assert ran_stages(out, "a") == ["plan", "generate", "validate", "test"]
    assert ran_stages(out, "b") == ["plan", "generate", "validate", "test"]
    assert "b: generate ran" in out and "upstream a changed (specs/a.yaml)" in out
    # A new column b reads too.
    edit(
        pair / "specs" / "a.yaml",
        "  amount: qty * price",
        "  amount: qty * price\n  tax: amount / 10",
    )
    out = cli("-v", "build", "specs/b.yaml", "--no-image", cwd=pair).output
    assert "b: generate ran" in out


def test_a_type_change_the_declared_fields_refuse_is_a_spec_error(pair: Path, cli) -> None:
    edit(pair / "specs" / "b.yaml", "    from: a\n", "    from: a\n    fields: {label: string}\n")
    edit(pair / "specs" / "b.yaml", "twice: amount * 2", "twice: length(label) * 2")
    edit(pair / "specs" / "b.yaml", "{id: X, qty: 2, price: 1.5, amount: 3}", "{label: '2'}")
    edit(pair / "specs" / "b.yaml", "{id: X, twice: 6}", "{label: '2', twice: 2}")  # 1 * 2
    cli("build", "specs/b.yaml", "--no-image", cwd=pair)
    edit(pair / "specs" / "a.yaml", "label: to_text(qty)", "label: qty * 1.5")
    out = cli("build", "specs/b.yaml", "--no-image", cwd=pair, expect=2).output
    assert "a: generate ran" in out  # the upstream is fine: it builds first
    assert out.splitlines()[-1] == (
        "specs/b.yaml:6:21: inputs.s.fields.label: 'label' is number in the results of spec"
        " 'a', not string"
    )


def test_status_json_and_graph_show_the_edge(project: Path, cli) -> None:
    cli("build", DOWN, "--no-image", cwd=project)
    status = cli("status", DOWN, cwd=project).output
    assert (
        "portfolio_rents (specs/portfolio_rents.yaml)\n  reads: rent_roll (specs/rent_roll.yaml)\n"
        in status
    )
    data = json.loads(cli("status", "--json", DOWN, cwd=project).output)
    assert [(d["name"], d["upstream"]) for d in data] == [
        ("rent_roll", {}),
        ("portfolio_rents", {"rent_roll": "specs/rent_roll.yaml"}),
    ]
    mermaid = cli("graph", DOWN, cwd=project).output.splitlines()
    assert '  spec_rent_roll[("spec rent_roll")]' in mermaid
    assert '  spec_rent_roll ==>|"results.csv"| generate' in mermaid
    assert '  spec_rent_roll ==>|"results.csv"| analyze' in mermaid
    assert not any(line.endswith("| validate") and "spec_" in line for line in mermaid)
    assert any(
        line.startswith("%% generate reads:") and "upstream:rent_roll" in line for line in mermaid
    )
    dot = cli("graph", DOWN, "--format", "dot", cwd=project).output.splitlines()
    assert '  spec_rent_roll [shape=cylinder, label="spec rent_roll"];' in dot
    assert '  spec_rent_roll -> generate [label="results.csv", style=bold];' in dot
    pipeline = cli("graph", "--pipeline", cwd=project).output.splitlines()
    assert pipeline[0] == "graph LR"
    assert '  spec_rent_roll -->|"results.csv"| spec_portfolio_rents' in pipeline
    assert pipeline.index('  spec_rent_roll["rent_roll"]') < pipeline.index(
        '  spec_portfolio_rents["portfolio_rents"]'
    )
    dot = cli("graph", "--pipeline", DOWN, "--format", "dot", cwd=project).output.splitlines()
    assert dot == [
        "digraph pipeline {",
        "  rankdir=LR;",
        '  spec_rent_roll [shape=box, label="rent_roll"];',
        '  spec_portfolio_rents [shape=box, label="portfolio_rents"];',
        '  spec_rent_roll -> spec_portfolio_rents [label="results.csv"];',
        "}",
    ]


def test_a_cycle_is_a_spec_error_exit_2(tree, cli) -> None:
    spec = "version: 1\nname: {me}\ninputs:\n  x:\n    from: {other}\ncompute:\n  one: 1\n"
    root = tree(
        {
            "specs": {
                "a.yaml": spec.format(me="a", other="b"),
                "b.yaml": spec.format(me="b", other="a"),
            }
        }
    )
    out = cli("build", "specs/a.yaml", "--no-image", cwd=root, expect=2).output
    assert out.splitlines() == [
        "specs/a.yaml:5:11: inputs.x.from: the pipeline has a cycle: a -> b -> a",
    ]
    assert not (root / "build").exists()


def test_an_unknown_upstream_is_a_spec_error_exit_2(project: Path, cli) -> None:
    edit(project / DOWN, "from: rent_roll ", "from: rent_rol ")
    out = cli("build", DOWN, "--no-image", cwd=project, expect=2).output
    assert out.splitlines() == [
        "specs/portfolio_rents.yaml:15:11: inputs.units.from: unknown spec 'rent_rol';"
        " did you mean 'rent_roll'?"
    ]


def test_keep_going_does_not_build_what_a_failed_upstream_feeds(project: Path, cli) -> None:
    # rent_roll's first check now expects a wrong rent: its test stage fails.
    edit(project / UP, "{unit_id: U1, rent_in_place: 12000,", "{unit_id: U1, rent_in_place: 12001,")
    out = cli("build", "-k", DOWN, "--no-image", cwd=project, expect=1).output
    assert "rent_roll: test FAILED" in out
    assert (
        "portfolio_rents: error: not built: it reads from rent_roll, which failed"
        in out.splitlines()
    )
    assert not (project / "build" / "portfolio_rents").exists()


def test_parallel_builds_wait_for_their_upstream(project: Path, cli) -> None:
    out = cli(
        "build", "-j", "2", "--json", DOWN, UP, "specs/dscr.yaml", "--no-image", cwd=project
    ).output
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    stages = [
        (e["spec"], e["stage"]) for e in events if e["event"] == "stage" and e["state"] == "ran"
    ]
    last_upstream = max(i for i, (spec, _) in enumerate(stages) if spec == "rent_roll")
    first_downstream = min(i for i, (spec, _) in enumerate(stages) if spec == "portfolio_rents")
    assert last_upstream < first_downstream
    assert {s for s, _ in stages} == {"rent_roll", "portfolio_rents", "dscr"}


def test_a_container_run_mounts_the_upstream_results(project: Path) -> None:
    from scriptexec.container.run import upstream_mounts
    from scriptexec.spec.model import load_spec

    spec = load_spec(project / DOWN, DOWN, root=project)
    build = project / "build"
    assert upstream_mounts(build, spec, {}) == ({}, {})  # rent_roll has no results yet
    (build / "rent_roll" / "results").mkdir(parents=True)
    binds, env = upstream_mounts(build, spec, {})
    assert binds == {
        str(build / "rent_roll" / "results"): {"bind": "/data/upstream/rent_roll", "mode": "ro"}
    }
    assert env == {"UNITS_LOCATION": "/data/upstream/rent_roll/results.csv"}
    # The .env's own choice wins.
    assert upstream_mounts(build, spec, {"UNITS_LOCATION": "/data/x.csv"}) == ({}, {})
