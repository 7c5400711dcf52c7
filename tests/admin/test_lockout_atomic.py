"""Admin lockout is atomic (SPEC 19): of wrong admin keys from one address arriving at once,
the tenth is the last one judged; every other one is refused without being judged. A real
service process, its limit storage in memory and on Redis."""

import asyncio
from pathlib import Path

import httpx

from otpservice.api.admin_lockout import MAX_FAILURES
from tests.admin.servers import service_env
from tests.admin.traffic import ADMIN_KEY
from tests.process import serve

WRONG_KEYS_AT_ONCE = 200
CONNECTIONS = 50  # in flight at once (more only measures how fast this machine opens sockets)


async def wrong_keys_at_once(base_url: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.get("/admin/fraud/breakers", headers={"Authorization": f"Bearer wrong-{index}"})
                for index in range(WRONG_KEYS_AT_ONCE)
            )
        )


def test_of_200_wrong_admin_keys_at_once_ten_are_judged(tmp_path: Path, limit_storage: dict[str, str]) -> None:
    env = {**service_env(tmp_path), **{name.upper(): value for name, value in limit_storage.items()}}
    with serve(env, tmp_path / "service.log") as (base_url, _):
        answers = asyncio.run(wrong_keys_at_once(base_url))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses.count(401) == MAX_FAILURES, statuses
        assert statuses.count(429) == WRONG_KEYS_AT_ONCE - MAX_FAILURES, statuses
        assert all(answer.json()["code"] == "ip_rate_limited" for answer in answers if answer.status_code == 429)
        right = httpx.get(base_url + "/admin/fraud/breakers", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert right.status_code == 429  # the address is locked out, whatever key it sends now
