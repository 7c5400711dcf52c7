"""The breaker's cost per start: /verify/start throughput with FRAUD_GUARD=enforce vs off,
with 10^4 and 10^6 rows in `verifications` and as many in the breaker's `fraud_tallies`.

Everything runs on 127.0.0.1: the fake Twilio (bench/fake_provider.py), `otpservice serve`
(1 worker, limits raised as in bench/run.py) and the load generator (bench/loadgen.py).
Per size, the service runs off / enforce three times, interleaved (each a fresh process, a
short warm-up, then a timed phase); the ratio compares the medians of each mode. Short by
design (under 3 minutes on SQLite): a look at the trend, not a replacement for ./bench/run.

    .venv/bin/python bench/fraud_overhead.py [--backend sqlite|postgresql] [--duration 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from database import Backend, drop_postgres, migrate, postgres_backend, prefill_verifications, sqlite_backend  # noqa: E402
from procs import ProcessGroup, cpu_seconds, free_port, wait_ready  # noqa: E402

PYTHON = sys.executable
OTPSERVICE_BIN = str(Path(PYTHON).parent / "otpservice")
HUGE = 1_000_000_000
LOAD_PREFIX = "+39333"  # the load's numbers: +39333 + 7 digits, a fresh block per phase
# fraud_tallies pre-fill: another replica's rows, ranges +3932xxxxxx, one row a minute over the
# last hour each (one window), 70% approved: no trip. A process reads them once, summed.
_SQLITE_COUNTS = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ? - 1)
INSERT INTO fraud_tallies (scope, key, bucket, replica, sent, approved, early, written_at)
SELECT 'prefix', printf('+3932%06d', i / 60), CAST(strftime('%s','now') AS INTEGER) - 1 - (i % 60) * 60,
       'prefill', 10, 7, 0, CAST(strftime('%s','now') AS INTEGER) - 1 - (i % 60) * 60
FROM seq
"""
_PG_COUNTS = """
INSERT INTO fraud_tallies (scope, key, bucket, replica, sent, approved, early, written_at)
SELECT 'prefix', '+3932' || lpad((i / 60)::text, 6, '0'),
       floor(extract(epoch from now()))::bigint - 1 - (i % 60) * 60, 'prefill', 10, 7, 0,
       floor(extract(epoch from now())) - 1 - (i % 60) * 60
FROM generate_series(0, $1::bigint - 1) AS i
"""


def prefill_counts(backend: Backend, rows: int) -> None:
    if backend.sqlite_path is not None:
        with sqlite3.connect(backend.sqlite_path, timeout=30) as connection:
            connection.execute("DELETE FROM fraud_tallies")
            connection.execute(_SQLITE_COUNTS, (rows,))
        return

    async def insert() -> None:
        import asyncpg

        connection = await asyncpg.connect(backend.pg_dsn)
        try:
            await connection.execute("DELETE FROM fraud_tallies")
            await connection.execute(_PG_COUNTS, rows)
            await connection.execute("ANALYZE fraud_tallies")
        finally:
            await connection.close()

    asyncio.run(insert())


def settings(backend: Backend, port: int, fake_url: str, mode: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": backend.url,
        "SERVICE_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
        "TWILIO_AUTH_TOKEN": "bench-dummy-token",
        "TWILIO_BASE_URL": fake_url,
        "SMS_DEFAULT_SENDER": "OTPBench",
        "RATE_LIMIT_MAX_REQUESTS": str(HUGE),
        "OTP_MAX_SENDS_PER_NUMBER_HOUR": str(HUGE),
        "OTP_MAX_SENDS_PER_NUMBER_DAY": str(HUGE),
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": str(HUGE),
        "SMS_RATE_LIMIT": str(HUGE),
        "OTP_SECRET_KEY": "bench-secret-" + "0123456789abcdef" * 2,
        "LOG_LEVEL": "warning",
        "FRAUD_GUARD": mode,
        # The load's numbers run in sequence, 10^4 to a range, never approved: an attack to the
        # breaker, which would trip and refuse it. A sample it never reaches keeps every start
        # counted and judged (the cost measured here) and sent.
        "FRAUD_MIN_SETTLED": str(HUGE),
    }


def phase(
    group: ProcessGroup, temp: Path, backend: Backend, fake_url: str, mode: str, block: int, args: argparse.Namespace
) -> dict[str, object]:
    port = free_port()
    workdir = temp / f"{mode}-{block}"
    workdir.mkdir()
    service = group.start(
        f"otpservice-{mode}-{block}",
        [OTPSERVICE_BIN, "serve"],
        {"HOME": str(workdir), **settings(backend, port, fake_url, mode)},
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(service, url + "/-/healthz")
        results = []
        # Numbers are the prefix + 7 digits: each phase takes its own block of 500 000.
        # Warm-up, then measured. The warm-up also covers a new process's first read of the breaker's
        # counts (the whole window, summed: a start-up cost, not a per-start one).
        for offset, duration in ((0, 4.0), (250_000, args.duration)):
            out = temp / f"load-{mode}-{block}-{offset}.json"
            cpu_before = cpu_seconds(service.pid) or 0.0
            load = group.start(
                f"loadgen-{mode}-{block}-{offset}",
                [
                    PYTHON,
                    str(BENCH_DIR / "loadgen.py"),
                    "--url",
                    url + "/verify/start",
                    "--kind",
                    "start",
                    "--concurrency",
                    str(args.concurrency),
                    "--duration",
                    str(duration),
                    "--max-requests",
                    "1000000",
                    "--number-prefix",
                    LOAD_PREFIX,
                    "--number-start",
                    str(block * 500_000 + offset),
                    "--out",
                    str(out),
                ],
                {"PATH": "/usr/bin:/bin", "HOME": str(temp)},
            )
            load.popen.wait(duration + 60)
            results.append(json.loads(out.read_text()))
            # The service's own CPU per start: steadier than req/s while other work shares the box.
            used = (cpu_seconds(service.pid) or 0.0) - cpu_before
            results[-1]["cpu_ms"] = used * 1000 / max(int(results[-1]["completed"]), 1)
            if int(results[-1]["errors"]):
                raise RuntimeError(f"{mode}: non-2xx answers, e.g. {results[-1]['first_error_body']}")
        return results[-1]
    finally:
        group.stop(service)


def breaker_cost_us(backend: Backend, starts: int = 2000) -> float:
    """The breaker's own work per start (decide + count its sent SMS), in process, on the
    backend's tables as they are: microseconds per start, cache refreshes and flushes included."""
    sys.path.insert(0, str(BENCH_DIR.parent))
    from otpservice.clock import SystemClock, to_datetime
    from otpservice.core.phone import parse_e164
    from otpservice.db.engine import make_engine, make_sessionmaker
    from otpservice.db.fraud import FraudStore
    from otpservice.db.models import Verification
    from otpservice.fraud.guard import FraudGuard
    from otpservice.fraud_setup import fraud_rules
    from otpservice.settings import Settings

    async def measure() -> float:
        engine = make_engine(backend.url)
        try:
            clock = SystemClock()
            settings = Settings(
                database_url=backend.url, fraud_guard="enforce", fraud_min_settled=HUGE, console_provider_allowed=True
            )
            rules = fraud_rules(settings)
            guard = FraudGuard(FraudStore(make_sessionmaker(engine), engine.dialect.name), rules, clock)
            numbers = [f"{LOAD_PREFIX}{9_000_000 + index:07d}" for index in range(starts)]
            for number in numbers:
                parse_e164(number)  # the request has parsed it already (cached)
            await guard.before_start(numbers[0])  # the first read of the window: a start-up cost
            began = time.perf_counter()
            for number in numbers:
                await guard.before_start(number)
                now = to_datetime(clock.now())
                await guard.sent(Verification(id="VE", to=number, key_id="bench", created_at=now))
            elapsed = time.perf_counter() - began
            await guard.counts.flush()
            return elapsed / starts * 1e6
        finally:
            await engine.dispose()

    return asyncio.run(measure())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per measured phase")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 7), help="off/enforce pairs per size")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args(argv)
    temp = Path(tempfile.mkdtemp(prefix="otpfraud-"))
    group = ProcessGroup(log_dir=temp)
    began = time.monotonic()
    try:
        fake_port = free_port()
        fake = group.start(
            "fake-provider",
            [PYTHON, str(BENCH_DIR / "fake_provider.py"), "--port", str(fake_port)],
            {"PATH": "/usr/bin:/bin", "HOME": str(temp)},
        )
        fake_url = f"http://127.0.0.1:{fake_port}"
        wait_ready(fake, fake_url + "/_stats")
        backend = sqlite_backend(temp) if args.backend == "sqlite" else postgres_backend()
        migrate(
            backend,
            OTPSERVICE_BIN,
            {"PATH": "/usr/bin:/bin", "HOME": str(temp), "OTP_SECRET_KEY": "bench-secret-" + "0123456789abcdef" * 2},
        )
        print(
            f"backend={backend.name} concurrency={args.concurrency} phase={args.duration:g}s "
            f"(warm-up 4 s), provider=fake Twilio, limits raised, OTP_TTL=600, FRAUD_* defaults "
            "but FRAUD_MIN_SETTLED=10^9 (the load never trips)"
        )
        print(f"{'rows':>9} {'mode':>8} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8} {'non-2xx':>8}")
        block, first_index = 0, 0
        for size in (int(part) for part in args.sizes.split(",")):
            added, _ = prefill_verifications(backend, size, first_index)
            first_index += added
            prefill_counts(backend, size)
            rps: dict[str, list[float]] = {"off": [], "enforce": []}
            cpu: dict[str, list[float]] = {"off": [], "enforce": []}
            for mode in ("off", "enforce") * args.rounds:
                block += 1
                result = phase(group, temp, backend, fake_url, mode, block, args)
                rps[mode].append(float(result["rps"]))  # type: ignore[arg-type]
                cpu[mode].append(float(result["cpu_ms"]))  # type: ignore[arg-type]
                print(
                    f"{size:>9} {mode:>8} {float(result['rps']):>8.0f} {float(result['p50_ms']):>8.1f} "  # type: ignore[arg-type]
                    f"{float(result['p99_ms']):>8.1f} {float(result['cpu_ms']):>8.2f} {int(result['errors']):>8}",
                    flush=True,
                )  # type: ignore[arg-type]
            ratio = statistics.median(rps["enforce"]) / statistics.median(rps["off"])
            cpu_ratio = statistics.median(cpu["enforce"]) / statistics.median(cpu["off"])
            print(
                f"{size:>9} enforce/off (medians of {args.rounds}): throughput {ratio:.3f}, service CPU per start "
                f"{cpu_ratio:.3f}; the breaker's own work "
                f"in process: {breaker_cost_us(backend):.0f} us per start"
            )
        print(f"total {time.monotonic() - began:.0f} s")
        return 0
    finally:
        group.stop_all()
        if args.backend == "postgresql":
            drop_postgres()
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
