"""The breaker over HTTP, on SQLite and PostgreSQL: 429 destination_suspended, the operator routes,
the decision log line and the metrics."""

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from otpservice.clock import FakeClock
from otpservice.observability.logging import JsonFormatter
from tests.conftest import make_settings, running_app
from tests.fraud.helpers import RANGE, in_range, sent_in_store
from tests.verify.helpers import last_code, sent_bodies

ADMIN = {"Authorization": "Bearer admin-key-0123456789"}
OPEN_LIMITS = {
    "otp_max_requests_per_ip_minute": 100_000,
    "rate_limit_max_requests": 100_000,
    "admin_api_keys": "admin-key-0123456789",
}


@asynccontextmanager
async def app(url: str, clock: FakeClock, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(url, **{**OPEN_LIMITS, **overrides}), clock=clock) as client:
        yield client


async def start(client: httpx.AsyncClient, to: str) -> httpx.Response:
    return await client.post("/verify/start", json={"to": to})


async def approve(client: httpx.AsyncClient, to: str) -> None:
    started = await start(client, to)
    assert started.status_code == 201, started.text
    checked = await client.post("/verify/check", json={"id": started.json()["id"], "code": last_code(client)})
    assert checked.json()["status"] == "approved"


async def test_an_attacked_range_is_refused_after_the_sample_and_healthy_traffic_never(
    migrated_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with app(migrated_url, clock, fraud_guard="enforce") as client:
        for index in range(20):
            assert (await start(client, in_range(index))).status_code == 201
            await approve(client, f"+39347123{index:04d}")
            clock.advance(5)
        sent_before = len(sent_bodies(client))
        with caplog.at_level(logging.INFO, logger="otpservice.fraud"):
            refused = await start(client, in_range(20))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "900"
        assert refused.json() == {
            "statusCode": 429,
            "error": "Too Many Requests",
            "code": "destination_suspended",
            "message": refused.json()["message"],
            "scope": "prefix",
            "key": RANGE,
        }
        assert len(sent_bodies(client)) == sent_before  # nothing sent
        await approve(client, "+393471239999")  # healthy traffic of the same country goes on
        line = json.loads(
            JsonFormatter().format(
                next(record for record in caplog.records if getattr(record, "decision", None) == "refuse")
            )
        )
        assert {
            name: line[name]
            for name in ("scope", "key", "decision", "mode", "settled", "approved", "ratio", "threshold", "window")
        } == {
            "scope": "prefix",
            "key": RANGE,
            "decision": "refuse",
            "mode": "enforce",
            "settled": 20,
            "approved": 0,
            "ratio": 0.0,
            "threshold": 0.2,
            "window": 3600,
        }
        metrics = (await client.get("/metrics")).text
        assert 'otpservice_fraud_refusals_total{country="IT",decision="refuse",scope="prefix"}' in metrics
        assert 'otpservice_fraud_breakers_open{scope="prefix"} 1.0' in metrics
        assert "+39" not in metrics and RANGE.lstrip("+") not in metrics

        reset = await client.post(f"/admin/fraud/breakers/prefix/{RANGE}", json={"action": "reset"}, headers=ADMIN)
        assert reset.status_code == 200 and reset.json()["state"] == "closed"
        # Nothing was charged to the refused number: its first send is not delayed.
        assert (await start(client, in_range(20))).status_code == 201


async def test_shadow_refuses_nothing_but_an_operator_block(migrated_url: str, clock: FakeClock) -> None:
    async with app(migrated_url, clock) as client:
        for index in range(25):
            assert (await start(client, in_range(index))).status_code == 201
        assert (await start(client, in_range(30))).status_code == 201
        listed = (await client.get("/admin/fraud/breakers", headers=ADMIN)).json()["breakers"]
        assert [(item["scope"], item["key"], item["state"]) for item in listed] == [("prefix", RANGE, "open")]
        blocked = await client.post(
            "/admin/fraud/breakers/country/gb",
            headers=ADMIN,
            json={"action": "block", "ttl": 120, "note": "pumping from GB"},
        )
        assert blocked.status_code == 200
        assert blocked.json() | {"retryAt": None, "openedAt": None} == {
            "scope": "country",
            "key": "GB",
            "state": "blocked",
            "settled": 0,
            "approved": 0,
            "ratio": None,
            "threshold": 0.2,
            "openedAt": None,
            "retryAt": None,
            "reason": "pumping from GB",
        }
        refused = await start(client, "+447400123456")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "120"
        assert (refused.json()["scope"], refused.json()["key"]) == ("country", "GB")
        clock.advance(121)
        assert (await start(client, "+447400123456")).status_code == 201


async def test_admin_routes_are_404_without_admin_keys_even_with_api_keys(sqlite_url: str, clock: FakeClock) -> None:
    async with running_app(make_settings(sqlite_url, api_keys="api-key-0123456789"), clock=clock) as client:
        for path in ("/admin", "/admin/fraud/breakers"):
            response = await client.get(path, headers={"Authorization": "Bearer api-key-0123456789"})
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        post = await client.post(f"/admin/fraud/breakers/prefix/{RANGE}", json={"action": "block"})
        assert post.status_code == 404


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer api-key-0123456789"}, {"Authorization": "Basic admin-key-0123456789"}]
)
async def test_admin_routes_take_admin_keys_only(sqlite_url: str, clock: FakeClock, headers: dict[str, str]) -> None:
    settings = make_settings(sqlite_url, api_keys="api-key-0123456789", admin_api_keys="admin-key-0123456789")
    async with running_app(settings, clock=clock) as client:
        response = await client.get("/admin/fraud/breakers", headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "unauthorized"
        assert (await client.get("/admin/fraud/breakers", headers=ADMIN)).json() == {"breakers": []}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/fraud/breakers/prefix/3933", {"action": "block"}),
        ("/admin/fraud/breakers/country/ITA", {"action": "block"}),
        ("/admin/fraud/breakers/network/22201", {"action": "block"}),
        ("/admin/fraud/breakers/prefix/+3933", {"action": "open"}),
        ("/admin/fraud/breakers/prefix/+3933", {"action": "block", "ttl": -5}),
        ("/admin/fraud/breakers/prefix/+3933", {"action": "block", "ttl": "60"}),
        ("/admin/fraud/breakers/prefix/+3933", {"action": "block", "extra": 1}),
    ],
)
async def test_bad_overrides_are_400(sqlite_url: str, clock: FakeClock, path: str, body: dict[str, Any]) -> None:
    async with app(sqlite_url, clock) as client:
        response = await client.post(path, json=body, headers=ADMIN)
        assert response.status_code == 400 and response.json()["code"] == "invalid_request"
        assert (await client.get("/admin/fraud/breakers", headers=ADMIN)).json() == {"breakers": []}


async def test_enforce_with_unreadable_breaker_state_is_503_and_sends_nothing(
    sqlite_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app(sqlite_url, clock, fraud_guard="enforce") as client:
        services = client.app.state.services  # type: ignore[attr-defined]

        async def unreadable(*_: Any) -> None:
            raise ConnectionError("database gone")

        monkeypatch.setattr(services.fraud_guard._store, "active", unreadable)
        clock.advance(10)
        response = await start(client, in_range(1))
        assert response.status_code == 503 and response.json()["code"] == "limits_unavailable"
        assert sent_bodies(client) == []


async def test_a_queued_first_sms_counts_once_the_outbox_sends_it(sqlite_url: str, clock: FakeClock) -> None:
    import asyncio

    async with app(sqlite_url, clock, sms_queue_enabled=True, sms_rate_limit=1) as client:
        statuses = [(await start(client, in_range(index))).status_code for index in range(3)]
        assert statuses == [201, 201, 201]
        store = client.app.state.services.fraud_guard._store  # type: ignore[attr-defined]
        for _ in range(100):  # the worker hands the queued ones to the provider, one per second
            if len(sent_bodies(client)) == 3:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        await client.app.state.services.fraud_guard.counts.flush()  # type: ignore[attr-defined]
        assert await sent_in_store(store, "prefix", RANGE) == 3


async def test_breakers_and_counts_outlive_a_restart(migrated_url: str, clock: FakeClock) -> None:
    async with app(migrated_url, clock, fraud_guard="enforce") as client:
        for index in range(12):
            assert (await start(client, in_range(index))).status_code == 201
    async with app(migrated_url, clock, fraud_guard="enforce") as client:  # counts flushed at the stop
        for index in range(12, 20):
            assert (await start(client, in_range(index))).status_code == 201
        assert (await start(client, in_range(20))).status_code == 429
    async with app(migrated_url, clock, fraud_guard="enforce") as client:
        refused = await start(client, in_range(21))
        assert refused.status_code == 429 and refused.json()["key"] == RANGE
