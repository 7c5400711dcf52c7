"""Summarise a pyinstrument session of the service under load: where the busy time goes.

    .venv/bin/python bench/profile_summary.py bench/profiles/send.pyisession [--top 25]

The service's main thread is sampled on wall-clock time, so the event loop's own frame
(uvloop: socket I/O and waiting) is reported apart, and start-up (imports, migrations) is
left out. What remains ("busy") is the Python work per request, shown three ways:
  - self time by component (otpservice module, library, or stdlib module),
  - inclusive time by component, counted where the component is entered from another,
  - inclusive time by otpservice function (recursion counted once).
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from pyinstrument.frame import Frame
from pyinstrument.session import Session

STARTUP_FUNCTIONS = {"startup_checks", "prepare_database", "upgrade_to_head"}
_SITE = re.compile(r"site-packages/([^/]+)")
_STDLIB = re.compile(r"python3\.\d+/(?:([^/]+)/|([^/]+)\.py)")


def component(frame: Frame) -> str:
    path = frame.file_path or ""
    if path.endswith("bench/floor_app.py"):
        return "floor_app"
    if "/otpservice/" in path:
        return "otpservice/" + path.split("/otpservice/", 1)[1].removesuffix(".py")
    match = _SITE.search(path)
    if match:
        name = match.group(1).removesuffix(".py")
        return name.split(".")[0] if not name.startswith("_") else name
    if path.startswith(("<frozen", "<built-in")):
        return "builtins"
    if path.startswith("<sqlalchemy"):
        return "sqlalchemy"  # its generated wrappers
    if path.startswith("<"):
        return path
    match = _STDLIB.search(path)
    if match:
        return "stdlib:" + (match.group(1) or match.group(2))
    return path or "?"


@dataclass
class Totals:
    total: float = 0.0
    idle: float = 0.0
    startup: float = 0.0
    self_by_component: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    inclusive_by_component: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    inclusive_by_function: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def busy(self) -> float:
        return self.total - self.idle - self.startup


def own_time(frame: Frame) -> float:
    """The frame's time less its real children's (its '[self]' leaf is its own)."""
    return max(0.0, frame.time - sum(child.time for child in frame.children if not child.is_synthetic))


def qualified(frame: Frame) -> str:
    return f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function


def is_service_main(frame: Frame) -> bool:
    """The profiled program's own top module (the service's or the floor's)."""
    path = frame.file_path or ""
    return frame.function == "<module>" and path.endswith(("otpservice/__main__.py", "bench/floor_app.py"))


def walk(
    frame: Frame,
    totals: Totals,
    parent_component: str | None,
    functions_on_path: frozenset[str],
    components_on_path: frozenset[str],
    in_service: bool,
) -> None:
    """`in_service`: below otpservice/__main__.py, where a `<module>` frame is an import."""
    if frame.function in STARTUP_FUNCTIONS or (frame.function == "<module>" and in_service):
        totals.startup += frame.time
        return
    if frame.is_synthetic:
        return  # counted in its parent's own time
    in_service = in_service or is_service_main(frame)
    name = component(frame)
    if qualified(frame) == "Runner.run" or (frame.function == "run_until_complete" and "uvloop" in name):
        totals.idle += own_time(frame)
    else:
        totals.self_by_component[name] += own_time(frame)
    if name != parent_component and name not in components_on_path:
        totals.inclusive_by_component[name] += frame.time
        components_on_path = components_on_path | {name}
    if name.startswith("otpservice/") or name == "floor_app":
        key = f"{qualified(frame)}  ({name.removeprefix('otpservice/')}:{frame.line_no})"
        if key not in functions_on_path:
            totals.inclusive_by_function[key] += frame.time
            functions_on_path = functions_on_path | {key}
    for child in frame.children:
        walk(child, totals, name, functions_on_path, components_on_path, in_service)


def summarise(session: Session) -> Totals:
    root = session.root_frame()
    totals = Totals()
    if root is None:
        return totals
    totals.total = root.time
    walk(root, totals, None, frozenset(), frozenset(), False)
    return totals


def top(
    items: dict[str, float], busy: float, count: int, requests: int | None, skip: set[str] | None = None
) -> Iterator[str]:
    ranked = sorted(((v, k) for k, v in items.items() if k not in (skip or set())), reverse=True)[:count]
    for value, key in ranked:
        per_request = f"  {1000 * value / requests:6.3f} ms/req" if requests else ""
        yield f"  {100 * value / busy:5.1f}%  {value:7.3f}s{per_request}  {key}"


def report(path: str, count: int, requests: int | None = None) -> str:
    session = Session.load(path)
    totals = summarise(session)
    busy = totals.busy or 1.0
    per_request = f" = {1000 * totals.busy / requests:.2f} ms per request ({requests} requests)" if requests else ""
    lines = [
        f"{path}: {session.sample_count} samples over {session.duration:.1f} s wall, "
        f"{session.cpu_time:.1f} s CPU (main thread)",
        f"  start-up left out {totals.startup:.2f} s; event loop (uvloop I/O + idle) {totals.idle:.2f} s; "
        f"busy Python {totals.busy:.2f} s = 100%{per_request}",
        "self time by component:",
    ]
    lines += top(totals.self_by_component, busy, count, requests)
    lines.append("inclusive time by component (where entered):")
    lines += top(
        totals.inclusive_by_component,
        busy,
        count,
        requests,
        skip={
            "builtins",
            "stdlib:runpy",
            "otpservice/__main__",
            "otpservice/cli",
            "uvicorn",
            "<thread>",
            "pyinstrument",
            "<string>",
            "stdlib:asyncio",
            "floor_app",
        },
    )
    lines.append("inclusive time by otpservice (or floor_app) function:")
    wrappers = {
        k
        for k in totals.inclusive_by_function
        if k.startswith(
            ("<module>  (__main__", "main  (cli", "_serve  (cli", "<module>  (floor_app", "main  (floor_app")
        )
    }
    lines += top(totals.inclusive_by_function, busy, count, requests, skip=wrappers)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sessions", nargs="+", help=".pyisession files")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--requests", type=int, help="requests served while profiled: adds ms per request")
    args = parser.parse_args(argv)
    print("\n\n".join(report(path, args.top, args.requests) for path in args.sessions))


if __name__ == "__main__":
    main()
