"""Rendering program models into the files of a generated program."""


def fixture_env(input_name: str) -> str:
    """The variable a generated program reads a JSON file of rows from, instead of the
    input's real source (offline runs and the test stage's checks)."""
    return f"{input_name.upper()}_FIXTURE"
