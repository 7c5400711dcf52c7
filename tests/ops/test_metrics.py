"""GET /metrics, and the counters the requests move; GET /-/ready."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from otpservice.api import ops
from otpservice.db.engine import make_engine
from tests.conftest import AppFactory
from tests.ops.helpers import closed_port, metric_value, send_payload


async def test_metrics_count_a_send_and_its_request(app_client: AppFactory) -> None:
    async with app_client() as client:
        before = (await client.get("/metrics")).text
        assert (await client.post("/send", json=send_payload())).status_code == 200
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    sent = {"provider": "console", "outcome": "sent"}
    assert (
        metric_value(after, "otpservice_messages_total", **sent)
        == metric_value(before, "otpservice_messages_total", **sent) + 1
    )
    request = {"method": "POST", "route": "/send", "status": "200"}
    name = "otpservice_request_duration_seconds_count"
    assert metric_value(after, name, **request) == metric_value(before, name, **request) + 1
    assert "# TYPE otpservice_request_duration_seconds histogram" in after


async def test_refusals_are_counted_by_code(app_client: AppFactory) -> None:
    async with app_client(rate_limit_max_requests=2) as client:
        before = (await client.get("/metrics")).text
        assert (await client.post("/send", json=send_payload())).status_code == 200
        delayed = await client.post("/send", json=send_payload())  # refused: takes no global slot
        assert (await client.post("/send", json=send_payload("+393331234568"))).status_code == 200
        limited = await client.post("/send", json=send_payload("+393331234569"))
        after = (await client.get("/metrics")).text
    assert delayed.json()["code"] == "number_delayed" and limited.json()["code"] == "rate_limited"
    for code in ("number_delayed", "rate_limited"):
        assert (
            metric_value(after, "otpservice_limit_refusals_total", reason=code)
            == metric_value(before, "otpservice_limit_refusals_total", reason=code) + 1
        )


async def test_unmatched_routes_share_one_label(app_client: AppFactory) -> None:
    async with app_client() as client:
        await client.get("/no/such/route/1234")
        text = (await client.get("/metrics")).text
    assert "/no/such/route" not in text
    assert metric_value(text, "otpservice_request_duration_seconds_count", route="<unmatched>", status="404") >= 1


async def test_ready_when_the_database_answers(app_client: AppFactory) -> None:
    async with app_client() as client:
        response = await client.get("/-/ready")
        assert response.status_code == 200 and response.json() == {"status": "ready", "provider": "ok"}


async def test_ready_is_503_when_the_database_refuses_connections(app_client: AppFactory) -> None:
    async with app_client() as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        healthy = services.engine
        services.engine = make_engine(f"postgresql+asyncpg://otp@127.0.0.1:{closed_port()}/otp")
        try:
            response = await client.get("/-/ready")
            alive = await client.get("/-/healthz")
        finally:
            await services.engine.dispose()
            services.engine = healthy
        assert response.status_code == 503
        assert response.json() == {
            "statusCode": 503,
            "error": "Service Unavailable",
            "message": "database unreachable (DATABASE_URL)",
            "code": "not_ready",
        }
        assert alive.status_code == 200  # liveness has no dependency
        assert (await client.get("/-/ready")).status_code == 200


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never answers: a database that hangs."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_ready_answers_in_time_when_the_database_hangs(
    app_client: AppFactory, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops, "READY_TIMEOUT_SECONDS", 0.3)
    async with app_client() as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        healthy = services.engine
        services.engine = make_engine(f"postgresql+asyncpg://otp@127.0.0.1:{silent_server}/otp")
        started = time.monotonic()
        try:
            response = await client.get("/-/ready")
        finally:
            await services.engine.dispose()
            services.engine = healthy
        assert response.status_code == 503
        assert time.monotonic() - started < 3
