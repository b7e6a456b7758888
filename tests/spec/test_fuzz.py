"""Random YAML and random mutations of the shipped specs never crash the loader:
every outcome is a Spec or a SpecError, and the CLI exits 0 or 2, never with a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scriptexec.errors import SpecError
from scriptexec.spec.model import load_spec_bytes

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [p.read_bytes() for p in sorted((REPO / "specs").glob("*.yaml"))]

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
yaml_docs = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=12), children, max_size=5),
    ),
    max_leaves=25,
)


def load(raw: bytes) -> None:
    try:
        load_spec_bytes(Path("/nonexistent/fuzz.yaml"), "fuzz.yaml", raw)
    except SpecError as exc:
        assert exc.problems, "a SpecError must say what is wrong"
        for p in exc.problems:
            assert p.file == "fuzz.yaml" and p.line >= 1 and p.col >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    load(raw)


@settings(max_examples=200, deadline=None)
@given(yaml_docs)
def test_random_yaml_documents(doc: object) -> None:
    import yaml

    load(yaml.safe_dump(doc).encode())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SHIPPED),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40), st.binary(max_size=12)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_shipped_specs(original: bytes, edits: list[tuple[float, int, bytes]]) -> None:
    data = bytearray(original)
    for where, cut, insert in edits:
        at = int(where * len(data))
        data[at : at + cut] = insert
    load(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SHIPPED), st.data())
def test_line_level_mutations(original: bytes, data: st.DataObject) -> None:
    lines = original.decode().splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 1))
    choice = data.draw(st.sampled_from(["drop", "dup", "indent", "dedent", "swap"]))
    if choice == "drop":
        del lines[i]
    elif choice == "dup":
        lines.insert(i, lines[i])
    elif choice == "indent":
        lines[i] = "  " + lines[i]
    elif choice == "dedent":
        lines[i] = lines[i].lstrip()
    else:
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    load("".join(lines).encode())
