"""The load generator: a separate process, many concurrent keep-alive connections (aiohttp).

Bounded by a request count AND a duration: it stops at whichever comes first. Only
127.0.0.1 / localhost targets are accepted. Writes one JSON object (the phase's
results) to --out, or stdout.

Payload kinds:
    send   {"sender", "receiver": <number i>, "body"}
    start  {"to": <number i>}
    check  {"to", "code"} from --codes-file (a JSON list of {"to", "code"}), one each
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SEND_BODY = "Your benchmark message: nothing to see here."


def number(prefix: str, index: int) -> str:
    """+39333 followed by 7 digits: valid Italian mobile numbers, one per request."""
    return f"{prefix}{index:07d}"


def payload_factory(
    kind: str, prefix: str, start: int, codes: list[dict[str, str]], sender: str
) -> tuple[Callable[[int], dict[str, Any]], int | None]:
    """A function from request index to JSON body, and the number of distinct payloads (if bounded)."""
    if kind == "send":
        return (lambda i: {"sender": sender, "receiver": number(prefix, start + i), "body": SEND_BODY}), None
    if kind == "start":
        return (lambda i: {"to": number(prefix, start + i)}), None
    if kind == "check":
        return (lambda i: {"to": codes[i]["to"], "code": codes[i]["code"]}), len(codes)
    raise ValueError(f"unknown payload kind {kind!r}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport errors (no status)
    valid_true: int = 0
    first_error_body: str | None = None


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    make: Callable[[int], dict[str, Any]],
    counter: list[int],
    limit: int,
    deadline: float,
    tally: Tally,
    inspect_valid: bool,
) -> None:
    while True:
        index = counter[0]
        if index >= limit or time.perf_counter() >= deadline:
            return
        counter[0] += 1
        body = json.dumps(make(index))
        began = time.perf_counter()
        try:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            tally.failures[type(exc).__name__] += 1
            continue
        tally.latencies.append(time.perf_counter() - began)
        tally.statuses[status] += 1
        if status >= 300 and tally.first_error_body is None:
            tally.first_error_body = raw[:300].decode("utf-8", "replace")
        if inspect_valid and status < 300 and b'"valid":true' in raw.replace(b" ", b""):
            tally.valid_true += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    codes: list[dict[str, str]] = []
    if args.codes_file:
        with open(args.codes_file) as handle:
            codes = json.load(handle)
    make, distinct = payload_factory(args.kind, args.number_prefix, args.number_start, codes, args.sender)
    limit = args.max_requests if distinct is None else min(args.max_requests, distinct)
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        counter = [0]
        began = time.perf_counter()
        deadline = began + args.duration
        await asyncio.gather(
            *(
                worker(session, args.url, make, counter, limit, deadline, tally, args.kind == "check")
                for _ in range(args.concurrency)
            )
        )
        elapsed = time.perf_counter() - began
    latencies = sorted(tally.latencies)
    completed = len(latencies)
    if args.latencies_out:
        with open(args.latencies_out, "w") as handle:
            json.dump([round(value * 1000, 3) for value in tally.latencies], handle)
    errors = sum(count for status, count in tally.statuses.items() if not 200 <= status < 300)
    return {
        "url": args.url,
        "kind": args.kind,
        "concurrency": args.concurrency,
        "planned": limit,
        "completed": completed,
        "transport_failures": sum(tally.failures.values()),
        "failure_kinds": dict(tally.failures),
        "errors": errors + sum(tally.failures.values()),
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "first_error_body": tally.first_error_body,
        "valid_true": tally.valid_true,
        "elapsed_s": elapsed,
        "rps": completed / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "loadgen_cpu_s": _own_cpu_seconds(),
    }


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="bounded HTTP load generator (loopback only)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--kind", choices=["send", "start", "check"], required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-requests", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds; hard stop")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--number-prefix", default="+39333")
    parser.add_argument("--number-start", type=int, default=0)
    parser.add_argument("--codes-file")
    parser.add_argument("--sender", default="OTPBench")
    parser.add_argument("--out", help="write the JSON result here (default: stdout)")
    parser.add_argument("--latencies-out", help="also write every latency (ms, JSON list) here")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        parser.error(f"refusing to send load to {host!r}: loopback only")
    if not 0 < args.duration <= 600 or not 0 < args.max_requests <= 10_000_000:
        parser.error("duration must be in (0, 600] s and max-requests in (0, 10^7]")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle)
    else:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
