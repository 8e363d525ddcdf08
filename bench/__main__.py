"""`python -m bench` lists the benchmarks; `python -m bench NAME` runs one, its figures as the last line."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Callable
from typing import Any

# name -> (what it measures, "module:function" returning the figures); imported only when run.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "audit": (
        "audit queue vs raw asyncpg, monthly statistics, XLSX export memory, certificates",
        "bench.audit:main",
    ),
    "profile": ("register + GET /volunteers/me vs bare Litestar + raw asyncpg", "bench.profile:main"),
    "scans": (
        "check-in scans vs raw asyncpg, offline upload, settlement, SQLite mode, QR",
        "bench.scans:main",
    ),
}


def _run(target: str) -> dict[str, Any]:
    module, _, name = target.partition(":")
    main: Callable[[], Any] = getattr(importlib.import_module(module), name)
    if not inspect.iscoroutinefunction(main):
        figures: dict[str, Any] = main()
        return figures
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def main(argv: list[str]) -> int:
    if not argv:
        width = max(map(len, BENCHMARKS))
        for name, (description, _) in BENCHMARKS.items():
            print(f"{name:<{width}}  {description}")
        return 0
    if argv[0] not in BENCHMARKS or len(argv) > 1:
        print(f"usage: python -m bench [{'|'.join(BENCHMARKS)}]", file=sys.stderr)
        return 2
    try:
        figures = _run(BENCHMARKS[argv[0]][1])
    except RuntimeError as exc:  # BenchError, ServerError and failed migrations carry a message to act on
        print(f"bench {argv[0]} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
