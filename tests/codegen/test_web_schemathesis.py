"""A running generated program against its own OpenAPI document, checked by schemathesis:
no server errors, responses and status codes as documented, 405 with `Allow` for methods
a path does not support (ST204), and the rest of schemathesis's checks.

Run through schemathesis's engine (what `schemathesis run` does) rather than its pytest
plugin: the plugin's fixture-based loader, needed to test a server a fixture starts, does
not work with this pytest (it reads a `_nodeid` that pytest 9 no longer has).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from .helpers import DSCR_CSV, Server, model, render

# Checks that must have run, so that the test cannot pass by running none of them.
REQUIRED_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("schemathesis")
    program = render(model("dscr"), root / "dscr", {"data/properties.csv": DSCR_CSV})
    server = Server(program)
    yield server
    server.stop()


@pytest.mark.slow  # about 7 s: some 400 requests
def test_the_api_conforms_to_its_openapi_document(server: Server) -> None:
    config = schemathesis.Config.from_dict(
        {
            # bounded and repeatable: a few examples per operation, a fixed seed
            "seed": 20240601,
            "generation": {"max-examples": 15, "deterministic": True},
            # the API keeps no state between calls: nothing for stateful testing to find
            "phases": {"stateful": {"enabled": False}},
            "request-timeout": 10,
        }
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    failures: list[str] = []
    ran: set[str] = set()
    finished = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    ran.add(check.name)
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{event.recorder.label} [{event.phase.value}] {check.name}:"
                            f" {failure.title}: {failure.message.splitlines()[0]}"
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.append(f"schemathesis error: {event!r}")
        elif isinstance(event, events.EngineFinished):
            finished = event
    assert finished is not None and finished.stop_reason.value == "completed", finished
    assert not failures, "\n".join(sorted(set(failures)))
    assert ran >= REQUIRED_CHECKS, f"checks that did not run: {REQUIRED_CHECKS - ran}"
