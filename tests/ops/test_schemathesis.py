"""Property-based run of the OpenAPI document against the app, in process (schemathesis 4.x).

Every documented operation gets its documented examples plus up to 30 derandomized positive
and 30 negative cases; no response may be a 5xx, and each must have a documented status,
content type, headers and body. (schemathesis' own pytest integration, `from_fixture`, breaks
on pytest 9.2, hence the explicit hypothesis loop.)
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python.asgi import shutdown_lifespans

from otpservice.app import create_app
from tests.conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
RUN = settings(max_examples=30, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    # Conformance, not refusals: limits high, the per-number delay negligible.
    app_settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/schemathesis.db",
        rate_limit_max_requests=100_000,
        otp_max_requests_per_ip_minute=100_000,
        exponential_delay_base=0.001,
        exponential_delay_max=0.001,
    )
    try:
        # Starts the app's lifespan on schemathesis' own event loop thread.
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings))
    finally:
        shutdown_lifespans()


def _check(strategy: st.SearchStrategy[schemathesis.Case], seen: set[int]) -> None:
    @RUN
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        seen.add(case.call_and_validate(checks=CHECKS).status_code)

    run()


def test_every_operation_conforms_to_the_document(api_schema: schemathesis.BaseSchema) -> None:
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        seen = statuses.setdefault(operation.label, set())
        strategies = [
            *api_schema.get_strategies_from_examples(operation),
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        for strategy in strategies:
            try:
                _check(strategy, seen)
            except Unsatisfiable:
                pass  # a negative case of an operation without inputs: nothing to break
            except (Exception, BaseExceptionGroup) as exc:  # collect: one failure hides no other
                failures.setdefault(operation.label, f"{type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    # The run reached both the success path and the refusals of /send.
    assert {200, 400} <= statuses["POST /send"], statuses
    assert statuses["GET /-/healthz"] == {200}, statuses
    if "POST /verify/start" in statuses:
        assert 201 in statuses["POST /verify/start"], statuses
