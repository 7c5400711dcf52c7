"""The benchmark's one entry command (issue 5, SPEC section 6).

    .venv/bin/python bench/run.py            # or ./bench/run
    .venv/bin/python bench/run.py --help

Starts, all on 127.0.0.1: the fake Twilio (bench/fake_provider.py), per database backend
(SQLite file in a temp dir; PostgreSQL database otp_bench when 127.0.0.1:5432 answers) the
service twice (`otpservice serve`, uvicorn 1 worker: PROVIDER_HTTP_TRANSPORT=aiohttp, the
one measured everywhere, and =httpx, for /send only) and the floor app
(bench/floor_app.py); and a load-generator process (bench/loadgen.py) per phase. Prints the
configuration, then one table of req/s, p50/p99, non-2xx count and peak RSS per phase, then
the ratios: service / floor, pre-filled table / near-empty table, aiohttp / httpx; last,
the cost of the in-memory limit state as numbers accumulate (bench/limits_growth.py), and the
operator console's overview render time with 10^6 verifications (bench/console_overview.py).

Every process it starts is stopped at the end, on error too. With --profile DIR, instead
profiles the service (pyinstrument) under /send and /verify/start load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from database import (  # noqa: E402
    PG_BENCH_DB,
    Backend,
    add_floor_check_rows,
    count_verifications,
    delete_floor_check_rows,
    drop_postgres,
    migrate,
    pg_reachable,
    postgres_backend,
    prefill_verifications,
    sqlite_backend,
)
from procs import (  # noqa: E402
    Child,
    PhaseMeter,
    ProcessGroup,
    box_busy_cores,
    free_port,
    http_get,
    http_post_json,
    wait_ready,
    wait_until_quiet,
)
from report import Phase, Skipped, error_details, find, phase_table, ratio_lines, size_tag  # noqa: E402

PYTHON = sys.executable
OTPSERVICE_BIN = str(Path(PYTHON).parent / "otpservice")
ACCOUNT_SID = "AC" + "0" * 31 + "1"  # dummy: the fake provider accepts anything
AUTH_TOKEN = "bench-dummy-token"
SENDER = "OTPBench"
CODE_LENGTH = 6
HUGE = 1_000_000_000

# Each load phase gets its own block of 10^6 numbers: prefix (+39 + a mobile range) + 7 digits.
LOAD_PREFIXES = ("+39333", "+39334", "+39338", "+39339", "+39347", "+39348")
FLOOR_CHECK_PREFIX = "+39335"
PREFILL_PREFIX = "+39320"


@dataclass
class Options:
    duration: float
    concurrency: int
    max_requests: int
    warmup: int
    sizes: list[int]
    backends: list[str]
    floor_check_rows: int
    profile_dir: Path | None
    save: Path | None
    keep_temp: bool
    extra_env: dict[str, str]
    wait_quiet: float
    rounds: int
    limits_sizes: str
    console_rows: int = 0


class NumberBlocks:
    """Hands out disjoint blocks of 10^6 valid mobile numbers, one per phase."""

    def __init__(self) -> None:
        self._next = 0

    def peek_selector(self) -> str:
        """The selector of the block the next take() will hand out."""
        return f"{LOAD_PREFIXES[self._next // 10]}{self._next % 10}"

    def take(self) -> tuple[str, int, str]:
        """(prefix, first index, prefix that selects exactly this block's numbers)."""
        prefix = LOAD_PREFIXES[self._next // 10]
        digit = self._next % 10
        self._next += 1
        if self._next > len(LOAD_PREFIXES) * 10:
            raise RuntimeError("out of number blocks")
        return prefix, digit * 1_000_000, f"{prefix}{digit}"


@dataclass
class Bench:
    options: Options
    group: ProcessGroup
    temp: Path
    fake_url: str
    fake_pid: int
    with_postgres: bool = False
    blocks: NumberBlocks = field(default_factory=NumberBlocks)
    phases: list[Phase] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.printed.append(line)

    def note(self, line: str) -> None:
        """Progress, on stderr (not part of the report)."""
        print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


# --- configuration -------------------------------------------------------------------------------


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: nothing from the caller's shell leaks into the service's settings."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    return env


def service_settings(
    backend: Backend, port: int, fake_url: str, transport: str, extra: dict[str, str]
) -> dict[str, str]:
    settings = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": backend.url,
        "SERVICE_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_BASE_URL": fake_url,
        "SMS_DEFAULT_SENDER": SENDER,
        "PROVIDER_HTTP_TRANSPORT": transport,
        "RATE_LIMIT_MAX_REQUESTS": str(HUGE),
        "RATE_LIMIT_TIME_WINDOW": "1 minute",
        "OTP_MAX_SENDS_PER_NUMBER_HOUR": str(HUGE),
        "OTP_MAX_SENDS_PER_NUMBER_DAY": str(HUGE),
        "OTP_MAX_REQUESTS_PER_IP_MINUTE": str(HUGE),
        # The provider rate above which sends are parked in the outbox (202): raised, so that
        # every send calls the (fake) provider at once, as the floor does.
        "SMS_RATE_LIMIT": str(HUGE),
        "OTP_SECRET_KEY": "bench-secret-" + "0123456789abcdef" * 2,
        "OTP_CODE_LENGTH": str(CODE_LENGTH),
        "LOG_LEVEL": "warning",
    }
    settings.update(extra)
    return settings


def shown(settings: dict[str, str]) -> dict[str, str]:
    return {
        k: ("***" if any(s in k for s in ("SECRET", "TOKEN", "KEY")) and "MAX" not in k else v)
        for k, v in settings.items()
    }


def versions() -> str:
    names = (
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "httpx",
        "httpx-aiohttp",
        "aiohttp",
        "pydantic",
        "uvloop",
        "httptools",
    )
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def print_configuration(bench: Bench, settings: dict[str, str], busy_before: float) -> None:
    opts = bench.options
    say = bench.say
    say("== otpservice benchmark ==")
    say(
        f"date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}  host: {platform.node()}  "
        f"nproc: {os.cpu_count()}  python: {platform.python_version()}  {platform.platform()}"
    )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    say(f"box before start: {busy_before:.2f} cores busy (other work), load average {load}")
    say(f"versions: {versions()}")
    say(f"command: {' '.join([Path(PYTHON).name, *sys.argv])}")
    say(
        f"load: {opts.concurrency} concurrent connections (aiohttp, 1 process); each phase {opts.rounds} round(s), "
        f"interleaved with what it is compared to, each round bounded by {opts.duration:g} s and "
        f"{opts.max_requests:,} requests; a {opts.warmup}-request warm-up per process first"
    )
    say(
        f"backends: {', '.join(opts.backends)}; growth sizes (rows in verifications): "
        f"{', '.join(f'{s:,}' for s in opts.sizes)}; floor check rows: at most {opts.floor_check_rows:,} per round"
    )
    say("numbers: one distinct valid mobile number per request (+39 333/334/338/339/347/348 + 7 digits)")
    say(
        "service: `otpservice serve` (uvicorn, 1 worker), cwd = a temp dir, environment set by the bench "
        "(nothing inherited):"
    )
    say(
        "  "
        + " ".join(
            f"{k}={v}"
            for k, v in shown(settings).items()
            if k not in ("HOST", "PORT", "DATABASE_URL", "TWILIO_BASE_URL")
        )
    )
    say("  effective configuration (`otpservice check-config`; DATABASE_URL and PORT set per process):")
    for line in effective_configuration(bench, settings):
        say("  " + line)
    say(
        "floor: bench/floor_app.py, same uvicorn settings, same engine (otpservice.db.engine.make_engine), "
        "httpx + AiohttpTransport"
    )
    say("")


def effective_configuration(bench: Bench, settings: dict[str, str]) -> list[str]:
    """Every setting as the service reads it (defaults included), three to a line."""
    result = subprocess.run(
        [OTPSERVICE_BIN, "check-config"],
        env={**base_env(bench.temp), **settings},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"otpservice check-config refused the bench configuration: {result.stderr.strip()}")
    items = [
        line for line in result.stdout.splitlines() if "=" in line and not line.startswith(("PORT=", "DATABASE_URL="))
    ]
    width = max(len(item) for item in items) + 2 if items else 0
    return ["".join(item.ljust(width) for item in items[i : i + 3]).rstrip() for i in range(0, len(items), 3)]


# --- phases --------------------------------------------------------------------------------------


def run_load(
    bench: Bench,
    target: Child,
    url: str,
    kind: str,
    *,
    prefix: str = LOAD_PREFIXES[0],
    start: int = 0,
    codes_file: Path | None = None,
    max_requests: int | None = None,
    duration: float | None = None,
) -> tuple[dict[str, Any], list[float], PhaseMeter]:
    """One load-generator process against `url`: its results, every latency (ms), and the
    target's peak RSS and CPU over the phase."""
    opts = bench.options
    out = bench.temp / f"load-{secrets.token_hex(4)}.json"
    latencies_file = out.with_suffix(".latencies.json")
    argv = [
        PYTHON,
        str(BENCH_DIR / "loadgen.py"),
        "--url",
        url,
        "--kind",
        kind,
        "--concurrency",
        str(opts.concurrency),
        "--duration",
        str(duration or opts.duration),
        "--max-requests",
        str(max_requests or opts.max_requests),
        "--number-prefix",
        prefix,
        "--number-start",
        str(start),
        "--sender",
        SENDER,
    ]
    if codes_file is not None:
        argv += ["--codes-file", str(codes_file)]
    env = base_env(bench.temp)
    with PhaseMeter(target.pid, [bench.fake_pid], bench.with_postgres) as meter:
        child = bench.group.start(
            f"loadgen-{out.stem}", [*argv, "--out", str(out), "--latencies-out", str(latencies_file)], env
        )
        limit = (duration or opts.duration) + 120
        try:
            returncode = child.popen.wait(limit)
        finally:
            bench.group.stop(child)
    if returncode != 0 or not out.exists():
        raise RuntimeError(f"load generator failed ({returncode}):\n{child.log_tail()}")
    if not target.alive():
        raise RuntimeError(f"{target.name} died during the load:\n{target.log_tail()}")
    data = json.loads(out.read_text())
    latencies = [float(v) for v in json.loads(latencies_file.read_text())]
    meter.add_own_cpu(float(data["loadgen_cpu_s"]))
    meter.finish()
    return data, latencies, meter


def phase_of(bench: Bench, backend: Backend, label: str, process: str) -> Phase:
    """The phase (backend, label), made on first use: rounds add to it."""
    for phase in bench.phases:
        if phase.backend == backend.name and phase.label == label:
            return phase
    phase = Phase(backend=backend.name, label=label, process=process)
    bench.phases.append(phase)
    return phase


def measure(
    bench: Bench,
    backend: Backend,
    label: str,
    target: Child,
    url: str,
    kind: str,
    *,
    codes_file: Path | None = None,
    table_rows: int | None = None,
) -> dict[str, Any]:
    """One round of a phase; returns the load generator's results of this round."""
    prefix, start, _ = bench.blocks.take()
    bench.note(f"{backend.name}: {label} ({target.name}) ...")
    data, latencies, meter = run_load(bench, target, url, kind, prefix=prefix, start=start, codes_file=codes_file)
    phase_of(bench, backend, label, target.name.rsplit("-", 1)[0]).add_round(data, latencies, meter, table_rows)
    bench.note(
        f"  {data['rps']:,.0f} req/s, p50 {data['p50_ms']:.1f} ms, p99 {data['p99_ms']:.1f} ms, "
        f"{data['errors']} non-2xx of {data['completed']}; service CPU {meter.cpu_s:.1f} s, "
        f"others {meter.foreign_cpu_s / meter.wall_s if meter.wall_s > 0 else float('nan'):.2f} cores"
    )
    return data


def start_then_check(bench: Bench, backend: Backend, service: Child, base_url: str, tag: str) -> None:
    """/verify/start on fresh numbers, then /verify/check with the codes the fake provider received."""
    suffix = f" @{tag}" if tag else ""
    label = f"/verify/start{suffix}"
    rows = count_verifications(backend)
    selector = bench.blocks.peek_selector()
    data = measure(bench, backend, label, service, base_url + "/verify/start", "start", table_rows=rows)
    codes = received_codes(bench, selector)
    started = sum(n for status, n in data["statuses"].items() if status in ("200", "201"))
    if len(codes) < 0.9 * started:
        bench.warnings.append(
            f"{backend.name} {label}: {started} starts answered 200/201 but only {len(codes)} "
            "codes reached the fake provider (queued sends?): the check ran on those"
        )
    if not codes:
        bench.skipped.append(Skipped(backend.name, f"/verify/check{suffix}", "no code reached the fake provider"))
        return
    codes_file = bench.temp / f"codes-{secrets.token_hex(4)}.json"
    codes_file.write_text(json.dumps(codes))
    measure(
        bench,
        backend,
        f"/verify/check{suffix}",
        service,
        base_url + "/verify/check",
        "check",
        codes_file=codes_file,
        table_rows=count_verifications(backend),
    )


CODE_PATTERN = re.compile(rf"(?<!\d)(\d{{{CODE_LENGTH}}})(?!\d)")


def received_codes(bench: Bench, selector: str) -> list[dict[str, str]]:
    status, raw = http_get(f"{bench.fake_url}/_received?prefix={urllib.parse.quote(selector)}", timeout=30)
    if status != 200:
        raise RuntimeError(f"fake provider /_received answered {status}")
    codes = []
    for to, body in json.loads(raw)["messages"].items():
        match = CODE_PATTERN.search(body)
        if match:
            codes.append({"to": to, "code": match.group(1)})
    return codes


def route_exists(url: str) -> bool:
    """A route that exists answers a bad body with 4xx other than 404/405 (SPEC: 400)."""
    status, body = http_post_json(url, {})
    if status in (404, 405):
        try:
            return json.loads(body).get("code") not in ("not_found", "method_not_allowed")
        except ValueError:
            return False
    return True


def warm_up(bench: Bench, target: Child, url: str, kind: str) -> int:
    """A few hundred requests, not measured (imports, caches, pools); returns how many completed."""
    prefix, start, _ = bench.blocks.take()
    data, _, _ = run_load(
        bench, target, url, kind, prefix=prefix, start=start, max_requests=bench.options.warmup, duration=20
    )
    if int(data["errors"]):
        bench.note(f"warm-up of {url}: {data['errors']} non-2xx, e.g. {data['first_error_body']}")
    return int(data["completed"])


def start_service(bench: Bench, backend: Backend, transport: str, name: str) -> tuple[Child, str]:
    port = free_port()
    settings = service_settings(backend, port, bench.fake_url, transport, bench.options.extra_env)
    workdir = bench.temp / name
    workdir.mkdir(exist_ok=True)
    child = bench.group.start(name, [OTPSERVICE_BIN, "serve"], {**base_env(workdir), **settings}, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    wait_ready(child, url + "/-/healthz")
    return child, url


def floor_args(bench: Bench, backend: Backend) -> list[str]:
    """The floor's command-line arguments (its port apart): same database, provider and transport."""
    return [
        "--database-url",
        backend.url,
        "--provider-base-url",
        bench.fake_url,
        "--account-sid",
        ACCOUNT_SID,
        "--auth-token",
        AUTH_TOKEN,
        "--sender",
        SENDER,
        "--transport",
        "aiohttp",
    ]


def start_floor(bench: Bench, backend: Backend) -> tuple[Child, str]:
    port = free_port()
    argv = [PYTHON, str(BENCH_DIR / "floor_app.py"), "--port", str(port), *floor_args(bench, backend)]
    workdir = bench.temp / f"floor-{backend.name}"
    workdir.mkdir(exist_ok=True)
    child = bench.group.start(f"floor-{backend.name}", argv, base_env(workdir), cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    wait_ready(child, url + "/")
    return child, url


def run_backend(bench: Bench, backend: Backend) -> None:
    opts = bench.options
    migrate(backend, OTPSERVICE_BIN, base_env(bench.temp))
    service, service_url = start_service(bench, backend, "aiohttp", f"service-{backend.name}")
    service_httpx, service_httpx_url = start_service(bench, backend, "httpx", f"service[httpx]-{backend.name}")
    floor, floor_url = start_floor(bench, backend)
    verify = route_exists(service_url + "/verify/start") and route_exists(service_url + "/verify/check")
    bench.note(f"{backend.name}: processes up (verify routes {'present' if verify else 'absent'}); warming up")

    warm_up(bench, service, service_url + "/send", "send")
    warm_up(bench, service_httpx, service_httpx_url + "/send", "send")
    warm_up(bench, floor, floor_url + "/floor/send", "send")

    # Rounds interleave what is compared (service, floor, service, floor, ...), so that a
    # change in the box's load over the run does not fall on one side only.
    for _ in range(opts.rounds):
        measure(bench, backend, "/send", service, service_url + "/send", "send")
        measure(bench, backend, "floor send", floor, floor_url + "/floor/send", "send")
        measure(bench, backend, "/send [httpx]", service_httpx, service_httpx_url + "/send", "send")
    bench.group.stop(service_httpx)

    if not verify:
        for route in ("/verify/start", "/verify/check"):
            bench.skipped.append(Skipped(backend.name, route, "route not in the service yet"))
    # Each table size gets a fresh service process, warmed up alike: the in-memory limit state
    # grows with every number started (see limits_growth.py), and must not pass for table growth.
    if verify:
        service, service_url = restart_service(bench, backend, service)
    floor_send = find(bench.phases, backend.name, "floor send")
    # Enough pending rows for one round of the floor's checks (a check is cheaper than a send);
    # deleted after each round, so that the growth sizes below mean what they say.
    floor_rows = min(opts.floor_check_rows, int((floor_send.rps if floor_send else 1000) * opts.duration * 4) + 1000)
    for _ in range(opts.rounds):
        if verify:
            start_then_check(bench, backend, service, service_url, "")
        numbers = add_floor_check_rows(backend, floor_rows, FLOOR_CHECK_PREFIX)
        floor_codes = bench.temp / f"floor-codes-{secrets.token_hex(4)}.json"
        floor_codes.write_text(json.dumps([{"to": n, "code": "000000"} for n in numbers]))
        measure(
            bench,
            backend,
            "floor check",
            floor,
            floor_url + "/floor/check",
            "check",
            codes_file=floor_codes,
            table_rows=count_verifications(backend),
        )
        delete_floor_check_rows(backend)

    if verify:
        next_index = 0
        for size in opts.sizes:
            bench.note(f"{backend.name}: pre-filling verifications to {size:,} rows ...")
            added, seconds = prefill_verifications(backend, size, next_index, PREFILL_PREFIX)
            next_index += added
            bench.note(f"  added {added:,} rows in {seconds:.1f} s")
            service, service_url = restart_service(bench, backend, service)
            for _ in range(opts.rounds):
                start_then_check(bench, backend, service, service_url, size_tag(size))
    for child in (service, floor):
        bench.group.stop(child)


def limits_growth(bench: Bench) -> list[str]:
    """bench/limits_growth.py in its own process (bounded by its --budget)."""
    bench.note(f"in-memory limit growth ({bench.options.limits_sizes} numbers) ...")
    out = bench.temp / "limits-growth.txt"
    argv = [PYTHON, str(BENCH_DIR / "limits_growth.py"), "--sizes", bench.options.limits_sizes, "--budget", "30"]
    child = bench.group.start("limits-growth", argv, base_env(bench.temp))
    try:
        returncode = child.popen.wait(120)
    finally:
        bench.group.stop(child)
    text = child.log_path.read_text(errors="replace").splitlines()
    if returncode != 0:
        return [f"limits_growth.py failed ({returncode}): " + " / ".join(text[-3:])]
    out.write_text("\n".join(text))
    return text


def console_overview(bench: Bench) -> list[str]:
    """bench/console_overview.py in its own process: the console's overview with N verifications."""
    rows = bench.options.console_rows
    bench.note(f"console overview with {rows:,} verifications ...")
    argv = [PYTHON, str(BENCH_DIR / "console_overview.py"), "--rows", str(rows), "--keep", str(bench.temp)]
    child = bench.group.start("console-overview", argv, base_env(bench.temp))
    try:
        returncode = child.popen.wait(600)
    finally:
        bench.group.stop(child)
    text = [line for line in child.log_path.read_text(errors="replace").splitlines() if not line.startswith("{")]
    if returncode != 0:
        return [f"console_overview.py failed ({returncode}): " + " / ".join(text[-3:])]
    return ["console overview (SPEC 12, target < 300 ms):", *text]


def restart_service(bench: Bench, backend: Backend, service: Child) -> tuple[Child, str]:
    """A fresh service process (fresh in-memory limits), warmed up on /verify/start."""
    name = service.name
    bench.group.stop(service)
    service, url = start_service(bench, backend, "aiohttp", name)
    warm_up(bench, service, url + "/verify/start", "start")
    return service, url


# --- profile mode --------------------------------------------------------------------------------


def profile(bench: Bench, out_dir: Path) -> None:
    """The service under pyinstrument, once per route (/send, then /verify/start), and the
    floor's send for comparison; SQLite (PostgreSQL with `--backends postgresql`). Writes
    DIR/<name>.summary.txt (bench/profile_summary.py), .tree.txt and .flat.txt (pyinstrument's
    own text renderings)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    backend = postgres_backend() if bench.options.backends == ["postgresql"] else sqlite_backend(bench.temp)
    migrate(backend, OTPSERVICE_BIN, base_env(bench.temp))
    targets = (
        ("send", ["-m", "otpservice", "serve"], "/send", "send", "/-/healthz"),
        ("verify-start", ["-m", "otpservice", "serve"], "/verify/start", "start", "/-/healthz"),
        ("floor-send", [str(BENCH_DIR / "floor_app.py"), *floor_args(bench, backend)], "/floor/send", "send", "/"),
    )
    for name, program, route, kind, ready in targets:
        port = free_port()
        settings = service_settings(backend, port, bench.fake_url, "aiohttp", bench.options.extra_env)
        session = bench.temp / f"{name}.pyisession"
        argv = [PYTHON, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session), "-i", "0.0005", *program]
        if name.startswith("floor"):
            argv += ["--port", str(port)]
        workdir = bench.temp / f"profile-{name}"
        workdir.mkdir(exist_ok=True)
        child = bench.group.start(f"profile-{name}", argv, {**base_env(workdir), **settings}, cwd=workdir)
        url = f"http://127.0.0.1:{port}"
        wait_ready(child, url + ready)
        if not route_exists(url + route):
            bench.group.stop(child)
            bench.say(f"{route}: route absent, not profiled")
            continue
        served = 1 + warm_up(bench, child, url + route, kind)
        data = measure(bench, backend, route + " (profiled)", child, url + route, kind)
        served += int(data["completed"])
        bench.group.stop(child)
        renders = (
            ("tree.txt", ["-r", "text", "--no-color", "--unicode"]),
            ("flat.txt", ["-r", "text", "--no-color", "--unicode", "-p", "flat=true"]),
        )
        for suffix, options in renders:
            rendered = out_dir / f"{name}.{suffix}"
            result = subprocess.run(
                [PYTHON, "-m", "pyinstrument", "--load", str(session), *options, "-o", str(rendered)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                bench.say(f"rendering {rendered} failed: {result.stderr[-500:]}")
        summary = subprocess.run(
            [PYTHON, str(BENCH_DIR / "profile_summary.py"), str(session), "--requests", str(served)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        text = summary.stdout.replace(str(session), f"{name} ({route}, {data['rps']:,.0f} req/s under the profiler)")
        (out_dir / f"{name}.summary.txt").write_text(text)
        bench.say(text)
        bench.say("")


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measured round of a phase (default 4)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds per phase, interleaved with what it is compared to (default 2)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per phase (default 200000)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per process and route (default 200)")
    parser.add_argument(
        "--sizes",
        default="10000,1000000",
        help="growth: rows in verifications, comma-separated (default 10000,1000000; '' = none)",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated; postgresql is skipped when 127.0.0.1:5432 does not answer",
    )
    parser.add_argument(
        "--floor-check-rows",
        type=int,
        default=40_000,
        help="at most this many pending verifications made for the floor's check "
        "(default 40000; fewer when the floor's send rate says fewer will do)",
    )
    parser.add_argument(
        "--limits-sizes",
        default="0,10000,100000",
        help="numbers already counted, for the in-memory limit growth check (limits_growth.py); "
        "'' = skip (default 0,10000,100000)",
    )
    parser.add_argument(
        "--console-rows",
        type=int,
        default=1_000_000,
        help="verifications for the console overview check (console_overview.py); 0 = skip",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="instead of the benchmark: profile /send and /verify/start with pyinstrument into DIR",
    )
    parser.add_argument("--save", type=Path, help="also write the printed report to this file")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp dir (logs, SQLite file)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait, at most this long, until the box is nearly idle (default 0: no wait)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra service environment variable (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 10:
        parser.error("rounds in [1, 10]")
    if not 0 < args.duration <= 120 or not 1 <= args.concurrency <= 1000 or not 0 < args.max_requests <= 1_000_000:
        parser.error("duration in (0, 120], concurrency in [1, 1000], max-requests in (0, 10^6]")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(not 0 < s <= 10_000_000 for s in sizes):
        parser.error("sizes must be in (0, 10^7]")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"sqlite", "postgresql"}:
        parser.error("backends: sqlite and/or postgresql")
    extra = dict(item.split("=", 1) for item in args.env)
    return Options(
        duration=args.duration,
        concurrency=args.concurrency,
        max_requests=args.max_requests,
        warmup=args.warmup,
        sizes=sizes,
        backends=backends,
        floor_check_rows=args.floor_check_rows,
        profile_dir=args.profile,
        save=args.save,
        keep_temp=args.keep_temp,
        extra_env=extra,
        wait_quiet=args.wait_quiet,
        rounds=args.rounds,
        limits_sizes=args.limits_sizes,
        console_rows=args.console_rows,
    )


def print_results(bench: Bench, seconds: float, limits_lines: list[str]) -> None:
    say = bench.say
    say(f"== results ({len(bench.phases)} phases, {seconds:.0f} s in all) ==")
    for line in phase_table(bench.phases, bench.skipped):
        say(line)
    say("")
    say("req/s, p50, p99, n, non-2xx: over all rounds of the phase; non-2xx counts transport failures too")
    say("peak RSS: the serving process's kernel high-water mark (VmHWM), reset at each round's start")
    say("rows: rows in `verifications` when the phase began")
    say("CPU: CPU time of the serving process (all threads) per request, and its share of one core")
    say(
        "others: cores used meanwhile by processes that are not the benchmark's (nor PostgreSQL's);"
        " '*' = over 0.25: that phase shared the box with other work"
    )
    say("")
    measured = [b for b in bench.options.backends if any(p.backend == b for p in bench.phases)]
    for line in ratio_lines(bench.phases, measured, bench.options.sizes):
        say(line)
    if limits_lines:
        say("")
        for line in limits_lines:
            say(line)
    details = error_details(bench.phases)
    if details:
        say("")
        say("notes on statuses:")
        for line in details:
            say(line)
    if bench.warnings:
        say("")
        say("warnings:")
        for line in bench.warnings:
            say("  " + line)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.profile_dir is None and "postgresql" in options.backends and not pg_reachable():
        options.backends.remove("postgresql")
        print("PostgreSQL not reachable at 127.0.0.1:5432: SQLite only", file=sys.stderr)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    temp = Path(tempfile.mkdtemp(prefix="otpbench-"))
    group = ProcessGroup(log_dir=temp)
    created_pg = False
    began = time.monotonic()
    if options.wait_quiet > 0:
        print(f"waiting (at most {options.wait_quiet:g} s) for the box to be nearly idle ...", file=sys.stderr)
    busy_before = wait_until_quiet(options.wait_quiet) if options.wait_quiet > 0 else box_busy_cores(1.0)
    try:
        fake_port = free_port()
        fake = group.start(
            "fake-provider", [PYTHON, str(BENCH_DIR / "fake_provider.py"), "--port", str(fake_port)], base_env(temp)
        )
        fake_url = f"http://127.0.0.1:{fake_port}"
        wait_ready(fake, fake_url + "/_stats")
        bench = Bench(options=options, group=group, temp=temp, fake_url=fake_url, fake_pid=fake.pid)
        if options.profile_dir is not None:
            created_pg = options.backends == ["postgresql"]
            profile(bench, options.profile_dir.resolve())
            return 0
        # PORT is set per process later; 3000 stands in (PORT=0 is refused at start-up).
        print_configuration(
            bench, service_settings(sqlite_backend(temp), 3000, fake_url, "aiohttp", options.extra_env), busy_before
        )
        for name in options.backends:
            if name == "sqlite":
                directory = temp / "sqlite"
                directory.mkdir()
                backend = sqlite_backend(directory)
            else:
                try:
                    backend = postgres_backend()
                except Exception as exc:  # reachable but unusable: say so, go on without it
                    bench.warnings.append(f"postgresql skipped: could not create {PG_BENCH_DB}: {exc}")
                    continue
                created_pg = True
            bench.with_postgres = name == "postgresql"
            run_backend(bench, backend)
            if name == "postgresql":
                drop_postgres()
                created_pg = False
        limits_lines = limits_growth(bench) if options.limits_sizes.strip() else []
        if options.console_rows > 0:
            limits_lines += ["", *console_overview(bench)]
        print_results(bench, time.monotonic() - began, limits_lines)
        if options.save is not None:
            options.save.write_text("\n".join(bench.printed) + "\n")
        return 0
    finally:
        group.stop_all()
        if created_pg:
            try:
                drop_postgres()
            except Exception as exc:  # report, but do not hide the original error
                print(f"could not drop the bench database: {exc}", file=sys.stderr)
        if options.keep_temp:
            print(f"temp dir kept: {temp}", file=sys.stderr)
        else:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
