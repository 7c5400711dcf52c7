"""The console's pages over the in-process app: counts that match API traffic, search, actions."""

import re

from otpservice.clock import FakeClock
from tests.admin.traffic import ADMIN_KEY, login, make_traffic, number
from tests.conftest import AppFactory, read_outbox

PLAN = {"GB": (4, 3), "US": (2, 0), "DE": (1, 1)}


def _row(html: str, country: str) -> dict[str, str]:
    found = re.search(rf'<tr data-country="{country}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {country}"
    cells = re.findall(r'<td class="num (\w+)">([^<]*)</td>', found.group(1))
    return dict(cells)


async def test_overview_counts_match_the_traffic_made_through_the_api(app_client: AppFactory, clock: FakeClock) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY, otp_max_requests_per_ip_minute=1000) as client:
        await make_traffic(client, PLAN)
        await login(client)
        page = (await client.get("/admin?period=1h")).text
        assert _row(page, "GB") == {"started": "4", "sent": "4", "approved": "3", "conversion": "75.0 %"}
        assert _row(page, "US") == {"started": "2", "sent": "2", "approved": "0", "conversion": "0.0 %"}
        assert _row(page, "DE") == {"started": "1", "sent": "1", "approved": "1", "conversion": "100.0 %"}
        assert re.search(r'id="total-started">7<', page) and re.search(r'id="total-approved">4<', page)
        assert re.search(r'<tr data-provider="console">.*?<td class="num sent">7</td>', page, re.S)
        assert page.count("<svg") == 2 and 'class="bar-approved"' in page
        # Nothing is loaded from another host: no script, no external URL, a strict CSP.
        response = await client.get("/admin")
        assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)
        assert "default-src 'none'" in response.headers["content-security-policy"]

        clock.advance(2 * 3600)
        assert "data-country" not in (await client.get("/admin?period=1h")).text
        assert _row((await client.get("/admin?period=24h")).text, "GB")["started"] == "4"


async def test_the_overview_lags_the_api_by_at_most_five_seconds(app_client: AppFactory, clock: FakeClock) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        await login(client)
        assert "data-country" not in (await client.get("/admin?period=1h")).text
        await client.post("/verify/start", json={"to": number("GB", 1)})
        clock.advance(5)
        assert _row((await client.get("/admin?period=1h")).text, "GB")["started"] == "1"


async def test_search_finds_verifications_and_messages_and_masks_numbers(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        to = number("GB", 7)
        started = (await client.post("/verify/start", json={"to": to})).json()
        outbox = (await read_outbox(client)).json()["messages"]
        await login(client)

        by_number = await client.get("/admin/search", params={"q": to})
        assert started["id"] in by_number.text and to not in by_number.text
        assert "+44******3407" in by_number.text
        by_id = await client.get("/admin/search", params={"q": started["id"]})
        assert by_id.status_code == 303 and by_id.headers["location"] == f"/admin/verifications/{started['id']}"
        by_provider_sid = await client.get("/admin/search", params={"q": outbox[0]["sid"]})
        assert by_provider_sid.status_code == 303 and by_provider_sid.headers["location"].startswith("/admin/messages/")
        message_page = await client.get(by_provider_sid.headers["location"])
        assert outbox[0]["sid"] in message_page.text and started["id"] in message_page.text
        assert to not in message_page.text
        nothing = await client.get("/admin/search", params={"q": "nothing-like-this"})
        assert "Nothing matches" in nothing.text


async def test_verification_page_shows_timeline_and_delivery_history(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        traffic = await make_traffic(client, {"GB": (1, 1)})
        await login(client)
        verification_id = traffic.ids[number("GB", 0)]
        page = (await client.get(f"/admin/verifications/{verification_id}")).text
        table = re.search(r'<table id="timeline">(.*?)</table>', page, re.S)
        assert table
        events = re.findall(r"<tr><td>[^<]*</td><td>([a-z_ 0-9]+)</td>", table.group(1))
        assert events[:2] == ["created", "send 1"] and "checks" in events and events[-1] == "approved"
        assert "1 of 5 attempts used" in page and 'id="status">approved<' in page
        assert re.search(r'<table class="history">.*?<td>sent</td>', page, re.S)
        assert number("GB", 0) not in page and 'id="cancel"' not in page
        assert (await client.get("/admin/verifications/VE" + "0" * 32)).status_code == 404


async def test_cancel_from_the_console_reuses_the_service(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        started = (await client.post("/verify/start", json={"to": number("US", 3)})).json()
        token = await login(client)
        canceled = await client.post(f"/admin/verifications/{started['id']}/cancel", data={"csrf": token})
        assert canceled.status_code == 303 and canceled.headers["location"].endswith("notice=canceled")
        assert (await client.get(f"/verify/{started['id']}")).json()["status"] == "canceled"
        again = await client.post(f"/admin/verifications/{started['id']}/cancel", data={"csrf": token})
        assert again.headers["location"].endswith("notice=not-pending")


async def test_breaker_actions_from_the_forms(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        token = await login(client)
        breakers = client.app.state.services.extras["breakers"]  # type: ignore[attr-defined]
        await breakers.act("prefix", "+4474001", "block", None, "pumping from this range")  # the fraud breaker's
        overview = (await client.get("/admin")).text
        assert 'data-key="prefix:+4474001"' in overview and "pumping from this range" in overview

        reset = await client.post(
            "/admin/breakers",
            data={"csrf": token, "scope": "prefix", "key": "+4474001", "action": "reset", "back": "overview"},
        )
        assert reset.status_code == 303 and reset.headers["location"] == "/admin?notice=reset"
        assert "No breaker is open" in (await client.get("/admin")).text

        await client.post(
            "/admin/breakers",
            data={"csrf": token, "scope": "country", "key": "IN", "action": "allow", "note": "launch week"},
        )
        listed = (await client.get("/admin/breakers")).text
        assert 'data-key="country:IN"' in listed and "launch week" in listed

        for bad in (
            {"scope": "prefix", "key": "4479"},
            {"scope": "country", "key": "GBR"},
            {"scope": "planet", "key": "GB"},
            {"scope": "country", "key": "GB", "ttl": "-5"},
        ):
            refused = await client.post("/admin/breakers", data={"csrf": token, "action": "block", **bad})
            assert refused.status_code == 400
        assert 'data-key="country:GB"' not in (await client.get("/admin/breakers")).text


async def test_the_overview_shows_each_budgets_use(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY, sms_budget_hour=4, sms_budget_countries="IT:10") as client:
        await login(client)
        assert (
            await client.post("/send", json={"receiver": "+393331234567", "body": "hi", "sender": "ACME"})
        ).status_code == 200
        overview = (await client.get("/admin")).text
    assert 'data-budget="global:*:hour"' in overview and 'data-budget="country:IT:day"' in overview
    hour = overview.split('data-budget="global:*:hour"')[1].split("</tr>")[0]
    assert '<td class="num used">1</td><td class="num limit">4</td>' in hour


async def test_the_overview_says_when_no_budget_is_set(app_client: AppFactory) -> None:
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        await login(client)
        assert 'id="no-budgets"' in (await client.get("/admin")).text


async def test_the_console_reads_its_history_at_start_up(app_client: AppFactory) -> None:
    """The first overview an operator opens is served from hours read in the background."""
    async with app_client(admin_api_keys=ADMIN_KEY) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        await services.extras["console_warm_up"]
        overview = services.extras["console"].overview
        assert len(overview._countries._hours) >= 24 * 6 and len(overview._providers._hours) >= 24 * 6
        assert not overview._cache  # no figure cached: the first page shows the latest traffic


async def test_no_console_work_without_admin_keys(app_client: AppFactory) -> None:
    async with app_client() as client:
        assert "console_warm_up" not in client.app.state.services.extras  # type: ignore[attr-defined]
