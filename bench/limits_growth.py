"""Growth of the in-memory limit state: the cost of one start's limit work vs numbers seen.

The service's abuse caps keep two window counters per number (hour and day) in the limit
storage; on `memory://` (the default) they live in-process for up to a day. This measures,
with the package's own classes (the SendBudget on the storage `memory://` gives the
service), what one /verify/start's limit work costs when N other numbers
already have live counters. It runs in-process (no HTTP): the HTTP benchmark cannot put
10^5 numbers into a running service within its time budget.

    .venv/bin/python bench/limits_growth.py [--sizes 0,10000,100000] [--starts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from otpservice.clock import SystemClock
from otpservice.limits.budget import BudgetRules, SendBudget
from otpservice.limits.delay import DelayPolicy
from otpservice.limits.storage import open_limit_storage

HUGE = 1_000_000_000
MEASURE_SECONDS = 1.5  # per size, after at least 5 starts


async def cost_per_start(live_numbers: int, starts: int) -> float:
    """Seconds of limit work per simulated start, with `live_numbers` other numbers counted."""
    storage = open_limit_storage("memory://")  # what `memory://` gives the service
    rules = BudgetRules(
        global_limit=HUGE,
        global_window=60,
        delay=DelayPolicy(1, 300, 120),
        otp_per_number_hour=HUGE,
        otp_per_number_day=HUGE,
        per_client_minute=HUGE,
    )
    budget = SendBudget(storage.budget, rules, SystemClock())
    for i in range(live_numbers):  # what a day of traffic leaves behind
        await budget.reserve(f"+39320{i:07d}", kind="otp", country="IT", client="127.0.0.1")
    await asyncio.sleep(0.05)
    began = time.perf_counter()
    done = 0
    for i in range(starts):
        if i >= 5 and time.perf_counter() - began > MEASURE_SECONDS:
            break  # enough: the cost per start is clear
        done += 1
        await budget.reserve(f"+39333{i:07d}", kind="otp", country="IT", client="127.0.0.1")
        await asyncio.sleep(0)  # a request awaits its database and provider calls here
    elapsed = time.perf_counter() - began
    await asyncio.sleep(0)
    return elapsed / done


async def run(sizes: list[int], starts: int, budget_s: float) -> list[tuple[int, float | None]]:
    results: list[tuple[int, float | None]] = []
    deadline = time.monotonic() + budget_s
    for size in sizes:
        if time.monotonic() > deadline:
            results.append((size, None))
            continue
        results.append((size, await cost_per_start(size, starts)))
    return results


def render(results: list[tuple[int, float | None]]) -> list[str]:
    lines = ["in-memory limit state (memory://): limit work of one /verify/start vs numbers already counted"]
    base = next((cost for size, cost in results if cost is not None), None)
    for size, cost in results:
        if cost is None:
            lines.append(f"  {size:>9,} numbers: skipped (time budget)")
            continue
        times = f"  ({cost / base:,.1f}x the first)" if base else ""
        lines.append(f"  {size:>9,} numbers: {cost * 1000:8.3f} ms per start{times}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--starts", type=int, default=100, help="simulated starts measured per size")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds; later sizes are skipped past it")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(not 0 <= s <= 1_000_000 for s in sizes) or not 1 <= args.starts <= 10_000:
        parser.error("sizes in [0, 10^6], starts in [1, 10^4]")
    for line in render(asyncio.run(run(sizes, args.starts, args.budget))):
        print(line)


if __name__ == "__main__":
    main()
