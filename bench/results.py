"""Writes one benchmark's section of bench/RESULTS.md, leaving the other sections alone."""

from __future__ import annotations

import platform
import re
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"
REPEATS = 3


def median_time(run: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def versions(*packages: str) -> str:
    found = []
    for name in packages:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:
            continue
    return ", ".join([f"Python {platform.python_version()}", *found])


def write_section(name: str, body: str) -> None:
    """Replaces (or appends) the section between <!-- name --> markers."""
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nWritten by the scripts in bench/.\n"
    )
    block = f"<!-- {name} -->\n{body.strip()}\n<!-- /{name} -->"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    RESULTS.write_text(text)
