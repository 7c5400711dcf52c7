"""Results of the phases, and the tables the benchmark prints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from procs import PhaseMeter

FLOOR_TARGET = 0.6
GROWTH_TARGET = 0.8  # "within 20%" of the empty table


@dataclass
class Phase:
    """One measured thing (an endpoint under one condition), summed over its rounds."""

    backend: str
    label: str  # e.g. "/send", "/verify/start @1e4", "floor send"
    process: str  # which process served it
    rounds: int = 0
    completed: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    rss_scope: str = "phase"
    cpu_s: float = 0.0
    wall_s: float = 0.0
    foreign_cpu_s: float = 0.0
    valid_true: int | None = None
    table_rows: int | None = None  # rows in `verifications` when the (first round of the) phase began
    first_error_body: str | None = None

    def add_round(
        self, data: dict[str, Any], latencies_ms: list[float], meter: PhaseMeter, table_rows: int | None
    ) -> None:
        self.rounds += 1
        self.completed += int(data["completed"])
        self.errors += int(data["errors"])
        self.elapsed_s += float(data["elapsed_s"])
        self.latencies_ms.extend(latencies_ms)
        for status, count in data["statuses"].items():
            self.statuses[status] = self.statuses.get(status, 0) + int(count)
        self.peak_rss_mib = max(self.peak_rss_mib, meter.peak_mib)
        self.rss_scope = meter.scope
        self.cpu_s += meter.cpu_s
        self.wall_s += meter.wall_s
        self.foreign_cpu_s += meter.foreign_cpu_s
        if data["kind"] == "check":
            self.valid_true = (self.valid_true or 0) + int(data["valid_true"])
        if self.table_rows is None:
            self.table_rows = table_rows
        self.first_error_body = self.first_error_body or data.get("first_error_body")

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(0.50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(0.99)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s * 1000 / self.completed if self.completed else float("nan")

    @property
    def cpu_share(self) -> float:
        """Of one core, over the load's elapsed time."""
        return self.cpu_s / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def foreign_cores(self) -> float:
        """Cores used meanwhile by processes that are not the benchmark's."""
        return self.foreign_cpu_s / self.wall_s if self.wall_s > 0 else float("nan")


@dataclass
class Skipped:
    backend: str
    label: str
    reason: str


def _num(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _ratio_line(name: str, numerator: Phase | None, denominator: Phase | None, target: float, comparison: str) -> str:
    """Throughput ratio (the measure with a target), and beside it the CPU-per-request ratio
    (denominator's CPU/req over numerator's): steadier when the box is shared."""
    if numerator is None or denominator is None or denominator.rps <= 0:
        return f"  {name:<40} n/a"
    ratio = numerator.rps / denominator.rps
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    cpu_ratio = denominator.cpu_ms_per_request / numerator.cpu_ms_per_request
    return (
        f"  {name:<40} {ratio:5.2f}  ({numerator.rps:,.0f} / {denominator.rps:,.0f} req/s; target "
        f"{comparison} {target:.2f}: {verdict:<12})  CPU/req ratio {_num(cpu_ratio, 2)} "
        f"({_num(denominator.cpu_ms_per_request, 2)} / {_num(numerator.cpu_ms_per_request, 2)} ms)"
    )


FOREIGN_WARNING = 0.25


def _foreign(cores: float) -> str:
    if math.isnan(cores):
        return "n/a"
    return f"{cores:.2f}" + ("*" if cores > FOREIGN_WARNING else " ")


def phase_table(phases: list[Phase], skipped: list[Skipped]) -> list[str]:
    header = (
        f"{'backend':<10} {'endpoint':<22} {'served by':<15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'n':>7} {'non-2xx':>7} {'peak RSS MiB':>12} {'CPU ms/req':>10} {'CPU':>5} {'others':>7} {'rows':>9}"
    )
    lines = [header, "-" * len(header)]
    for phase in phases:
        rows = "" if phase.table_rows is None else f"{phase.table_rows:,}"
        lines.append(
            f"{phase.backend:<10} {phase.label:<22} {phase.process:<15} {_num(phase.rps, 0):>8} "
            f"{_num(phase.p50_ms):>8} {_num(phase.p99_ms):>8} {phase.completed:>7} {phase.errors:>7} "
            f"{phase.peak_rss_mib:>12.1f} {_num(phase.cpu_ms_per_request, 2):>10} "
            f"{_num(phase.cpu_share * 100, 0) + '%':>5} {_foreign(phase.foreign_cores):>7} {rows:>9}"
        )
    for skip in skipped:
        lines.append(f"{skip.backend:<10} {skip.label:<22} skipped: {skip.reason}")
    return lines


def find(phases: list[Phase], backend: str, label: str) -> Phase | None:
    return next((p for p in phases if p.backend == backend and p.label == label), None)


def ratio_lines(phases: list[Phase], backends: list[str], sizes: list[int]) -> list[str]:
    lines: list[str] = []
    for backend in backends:
        floor_send = find(phases, backend, "floor send")
        floor_check = find(phases, backend, "floor check")
        send = find(phases, backend, "/send")
        lines.append(f"{backend}: throughput / floor (same run)")
        lines.append(_ratio_line("/send vs floor send", send, floor_send, FLOOR_TARGET, ">="))
        lines.append(
            _ratio_line(
                "/verify/start vs floor send", find(phases, backend, "/verify/start"), floor_send, FLOOR_TARGET, ">="
            )
        )
        lines.append(
            _ratio_line(
                "/verify/check vs floor check", find(phases, backend, "/verify/check"), floor_check, FLOOR_TARGET, ">="
            )
        )
        lines.append(f"{backend}: growth, throughput with `verifications` pre-filled / near-empty table")
        for size in sizes:
            tag = size_tag(size)
            for route in ("/verify/start", "/verify/check"):
                lines.append(
                    _ratio_line(
                        f"{route} @{tag} vs @empty",
                        find(phases, backend, f"{route} @{tag}"),
                        find(phases, backend, route),
                        GROWTH_TARGET,
                        ">=",
                    )
                )
        lines.append(f"{backend}: provider HTTP client on /send")
        aiohttp = send
        httpx = find(phases, backend, "/send [httpx]")
        lines.append(_ratio_line("aiohttp transport vs httpx's own pool", aiohttp, httpx, 1.0, ">="))
    return lines


def size_tag(size: int) -> str:
    exponent = round(math.log10(size)) if size > 0 else 0
    return f"1e{exponent}" if size > 0 and 10**exponent == size else f"{size:,}"


def error_details(phases: list[Phase]) -> list[str]:
    lines = []
    for phase in phases:
        queued = phase.statuses.get("202", 0)
        if queued:
            lines.append(
                f"  {phase.backend} {phase.label}: {queued} answered 202 (queued in the outbox: no "
                f"provider call in the request)"
            )
        if phase.errors:
            lines.append(
                f"  {phase.backend} {phase.label}: statuses {phase.statuses}; first error body: "
                f"{phase.first_error_body}"
            )
        if phase.valid_true is not None and phase.valid_true != phase.completed - phase.errors:
            lines.append(
                f"  {phase.backend} {phase.label}: only {phase.valid_true} of {phase.completed} checks "
                f"answered valid=true"
            )
    return lines
