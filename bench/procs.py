"""Child processes of the benchmark: start, wait until ready, measure peak RSS, stop.

Every process is started in its own session (so its children go with it) and is stopped
by its own id at the end, on success or on error.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # psutil is optional: /proc/<pid>/status is enough on Linux
    psutil = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ProcessGroup:
    """The benchmark's children; stop_all() is idempotent and runs in reverse start order."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as handle:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = Child(name=name, popen=popen, log_path=log_path)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 20.0) -> int | None:
        """SIGINT (uvicorn's graceful stop; lets a profiler write its report), then SIGTERM, SIGKILL."""
        if child.alive():
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(child.pid, sig)  # the child's own group: its id is its pid
                except ProcessLookupError:
                    break
                try:
                    child.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if child in self.children:
            self.children.remove(child)
        return child.popen.poll()

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            try:
                self.stop(child, timeout=10.0)
            except Exception:  # keep stopping the others
                pass


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def http_post_json(url: str, payload: Any, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def wait_ready(child: Child, url: str, timeout: float = 60.0) -> None:
    """Poll `url` (loopback) until it answers anything; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.popen.returncode}:\n{child.log_tail()}")
        try:
            http_get(url, timeout=1.0)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} not ready after {timeout:.0f}s:\n{child.log_tail()}")


def _read_status_kb(pid: int, field_name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        if psutil is not None:
            try:
                times = psutil.Process(pid).cpu_times()
                return float(times.user + times.system)
            except psutil.Error:
                return None
        return None


def box_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (/proc/stat), idle and iowait excluded."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of the local PostgreSQL server's processes (0 without psutil)."""
    if psutil is None:
        return 0.0
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        name = process.info.get("name") or ""
        times = process.info.get("cpu_times")
        if times is not None and name.startswith(("postgres", "postmaster")):
            total += times.user + times.system
    return total


class PhaseMeter:
    """Over one phase: the serving process's peak RSS and CPU time, and the CPU that
    processes other than the benchmark's used (other work on the box skews a run).

    Peak RSS is the kernel's high-water mark (VmHWM), reset at the start of the phase
    through /proc/<pid>/clear_refs where allowed (else it is the process's lifetime peak);
    a psutil sampler (every 50 ms) backs it up where /proc is not readable.
    """

    def __init__(self, pid: int, helper_pids: list[int], with_postgres: bool) -> None:
        self._pid = pid
        self._helpers = helper_pids
        self._with_postgres = with_postgres
        self._sampled_kb = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scope = "phase"
        self.peak_mib = float("nan")
        self.cpu_s = float("nan")
        self.foreign_cpu_s = float("nan")
        self.wall_s = float("nan")
        self._own_extra = 0.0
        self._start: dict[str, float | None] = {}

    def _snapshot(self) -> dict[str, float | None]:
        snapshot: dict[str, float | None] = {
            "target": cpu_seconds(self._pid),
            "box": box_busy_seconds(),
            "wall": time.perf_counter(),
        }
        helpers = [cpu_seconds(pid) for pid in self._helpers]
        snapshot["helpers"] = None if None in helpers else sum(h for h in helpers if h is not None)
        snapshot["postgres"] = postgres_cpu_seconds() if self._with_postgres else 0.0
        return snapshot

    def add_own_cpu(self, seconds: float) -> None:
        """CPU of a benchmark process that is gone by the end (the load generator)."""
        self._own_extra += seconds

    def __enter__(self) -> PhaseMeter:
        try:
            with open(f"/proc/{self._pid}/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            self.scope = "lifetime"
        self._start = self._snapshot()
        if psutil is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        assert psutil is not None
        try:
            process = psutil.Process(self._pid)
            while not self._stop.wait(0.05):
                self._sampled_kb = max(self._sampled_kb, process.memory_info().rss // 1024)
        except psutil.Error:
            return

    def __exit__(self, *exc: object) -> None:
        end = self._snapshot()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        hwm = _read_status_kb(self._pid, "VmHWM")
        if hwm is None:
            self.scope = "sampled"
        self.peak_mib = max(hwm or 0, self._sampled_kb) / 1024

        def delta(key: str) -> float | None:
            first, last = self._start.get(key), end.get(key)
            return None if first is None or last is None else last - first

        self.wall_s = delta("wall") or float("nan")
        target = delta("target")
        self.cpu_s = float("nan") if target is None else target
        box, helpers, postgres = delta("box"), delta("helpers"), delta("postgres")
        if None not in (box, target, helpers, postgres):
            assert box is not None and target is not None and helpers is not None and postgres is not None
            self._box_minus_ours = box - target - helpers - postgres

    def finish(self) -> None:
        """Call once the load generator's own CPU has been added."""
        if hasattr(self, "_box_minus_ours"):
            self.foreign_cpu_s = max(0.0, self._box_minus_ours - self._own_extra)


def box_busy_cores(window: float = 2.0) -> float:
    """Cores busy on the whole box over `window` seconds (nan when /proc/stat is unreadable)."""
    first = box_busy_seconds()
    time.sleep(window)
    last = box_busy_seconds()
    if first is None or last is None:
        return float("nan")
    return (last - first) / window


def wait_until_quiet(limit_seconds: float, threshold_cores: float = 0.3) -> float:
    """Wait (at most `limit_seconds`) until the box is nearly idle; returns the last reading."""
    deadline = time.monotonic() + limit_seconds
    busy = box_busy_cores()
    while busy > threshold_cores and time.monotonic() < deadline:
        busy = box_busy_cores()
    return busy
