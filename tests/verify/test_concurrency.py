"""Simultaneous checks and starts, on SQLite and PostgreSQL: the database decides, once."""

import asyncio
from collections import Counter

from tests.conftest import AppFactory, read_outbox
from tests.verify.helpers import NUMBER, check, last_code, start, verification_rows, wrong_code

CONCURRENT = 50
ROOMY_IP_CAP = {"otp_max_requests_per_ip_minute": 1000}


async def test_concurrent_right_codes_approve_exactly_once(verify_app: AppFactory) -> None:
    async with verify_app(**ROOMY_IP_CAP) as client:
        started = (await start(client)).json()
        code = last_code(client)
        responses = await asyncio.gather(*(check(client, code) for _ in range(CONCURRENT)))
        outcomes = Counter((r.status_code, r.json().get("status") or r.json()["code"]) for r in responses)
        assert outcomes == {(200, "approved"): 1, (404, "verification_not_found"): CONCURRENT - 1}
        [row] = await verification_rows(client)
        assert (row["id"], row["status"], row["check_attempts"]) == (started["id"], "approved", 1)


async def test_concurrent_wrong_codes_spend_no_more_than_the_budget(verify_app: AppFactory) -> None:
    async with verify_app(**ROOMY_IP_CAP) as client:
        await start(client)
        guess = wrong_code(last_code(client))
        responses = await asyncio.gather(*(check(client, guess) for _ in range(CONCURRENT)))
        wrong = [r.json() for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 429]
        assert len(wrong) == 5 and len(refused) == CONCURRENT - 5
        assert all(body["valid"] is False for body in wrong)
        assert sorted(body["checkAttemptsLeft"] for body in wrong) == [0, 1, 2, 3, 4]
        assert {r.json()["code"] for r in refused} == {"max_attempts_reached"}
        [row] = await verification_rows(client)
        assert (row["status"], row["check_attempts"]) == ("max_attempts_reached", 5)


async def test_concurrent_checks_by_id_and_number_approve_once(verify_app: AppFactory) -> None:
    async with verify_app(**ROOMY_IP_CAP) as client:
        started = (await start(client)).json()
        code = last_code(client)
        requests = [
            check(client, code, id=started["id"]) if index % 2 else check(client, code) for index in range(CONCURRENT)
        ]
        statuses = Counter(r.status_code for r in await asyncio.gather(*requests))
        assert statuses == {200: 1, 404: CONCURRENT - 1}


async def test_concurrent_starts_make_one_verification(verify_app: AppFactory) -> None:
    async with verify_app(**ROOMY_IP_CAP) as client:
        responses = await asyncio.gather(*(start(client) for _ in range(10)))
        created = [r for r in responses if r.status_code == 201]
        others = {(r.status_code, r.json().get("code")) for r in responses if r.status_code != 201}
        assert len(created) == 1
        # The losers found the winner's verification and tried to re-send it, too early for the
        # delay; while they hold send slots (given back on refusal) a few see max_sends_reached.
        assert others <= {(429, "number_delayed"), (429, "max_sends_reached")}
        [row] = await verification_rows(client)
        assert (row["id"], row["status"], row["send_attempts"]) == (created[0].json()["id"], "pending", 1)
        assert (await check(client, last_code(client), to=NUMBER)).json()["status"] == "approved"


async def test_concurrent_resends_are_delayed_not_falsely_out_of_sends(verify_app: AppFactory) -> None:
    """Re-sends take the number's delay before a send slot: a burst on a pending verification
    gets number_delayed, never a max_sends_reached that would send callers away for the TTL."""
    async with verify_app() as client:
        assert (await start(client)).status_code == 201
        answers = await asyncio.gather(*(start(client) for _ in range(12)))
        codes = Counter(answer.json().get("code") for answer in answers)
        assert codes == {"number_delayed": 12}
        assert len((await read_outbox(client)).json()["messages"]) == 1  # one SMS only
