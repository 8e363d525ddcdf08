"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams: httpx costs more CPU than the server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

HOST = "127.0.0.1"
_MAX_CHUNKS = 10_000
_MAX_TRAILERS = 100


class ProtocolError(Exception):
    """The response cannot be framed, so the connection cannot be reused."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    errors: int
    statuses: dict[int, int]
    elapsed_s: float
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def line(self) -> str:
        """One progress line, short enough to scan while a run is going."""
        return (
            f"{self.requests} req in {self.elapsed_s:.1f}s: {self.per_s:.0f}/s, p50 {self.p50_ms:.1f} ms, "
            f"p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, errors {self.errors} {self.statuses}"
        )


def build_request(
    method: str, path: str, *, port: int, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """Raw request bytes, built once per request up front so the generator only writes them."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    for _ in range(_MAX_CHUNKS):
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            for _ in range(_MAX_TRAILERS):
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return b"".join(parts)
            raise ProtocolError("too many trailers")
        parts.append((await reader.readexactly(size + 2))[:-2])
    raise ProtocolError("too many chunks")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection stays open after this response."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or len(head) < 12:
        raise ProtocolError(f"not an HTTP/1.x response: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    keep = head.startswith(b"HTTP/1.1") and b"\r\nconnection: close" not in lower
    if status < 200 or status in (204, 304):
        return status, b"", keep
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        return status, await reader.readexactly(int(lower[at + 17 : end])), keep
    if b"\r\ntransfer-encoding: chunked" in lower:
        return status, await _read_chunked(reader), keep
    raise ProtocolError("response has neither Content-Length nor chunked encoding")


async def fetch(port: int, raw: bytes, *, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """One request on its own connection: probes and readiness checks."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(raw)
            status, body, _ = await read_response(reader)
            return status, body
        finally:
            writer.close()


def _percentile(sorted_s: list[float], q: float) -> float:
    if not sorted_s:
        return 0.0
    return sorted_s[min(len(sorted_s) - 1, int(q * len(sorted_s)))] * 1000


_FAILURES = (
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ProtocolError,
    ValueError,
)


async def run_load(
    port: int,
    build: Callable[[int], bytes],
    *,
    total: int | None = None,
    duration_s: float | None = None,
    concurrency: int = 64,
    expected: int = 200,
    timeout_s: float = 10.0,
    max_s: float = 600.0,
    on_unexpected: Callable[[int, bytes], None] | None = None,
) -> LoadResult:
    """Send build(i) for i = 0, 1, ... over `concurrency` keep-alive connections until total or duration.

    Status 0 counts connection and framing failures; per_s counts only responses with the expected status.
    on_unexpected(status, body) sees every other response, so a benchmark can show why it failed.
    """
    if total is None and duration_s is None:
        raise ValueError("give total or duration_s")
    stop_at = time.perf_counter() + (duration_s if duration_s is not None else max_s)
    issued = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    def take() -> int | None:
        nonlocal issued
        if (total is not None and issued >= total) or time.perf_counter() >= stop_at:
            return None
        issued += 1
        return issued - 1

    async def connection() -> None:
        writer: asyncio.StreamWriter | None = None
        reader: asyncio.StreamReader | None = None
        try:
            while (i := take()) is not None:
                raw = build(i)
                try:
                    if writer is None or reader is None:
                        async with asyncio.timeout(timeout_s):
                            reader, writer = await asyncio.open_connection(HOST, port)
                    started = time.perf_counter()
                    async with asyncio.timeout(timeout_s):
                        writer.write(raw)
                        status, body, keep = await read_response(reader)
                except _FAILURES:
                    statuses[0] += 1
                    if writer is not None:
                        writer.close()
                    writer = reader = None
                    await asyncio.sleep(0.01)  # a refused connection must not spin the loop
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status != expected and on_unexpected is not None:
                    on_unexpected(status, body)
                if not keep:
                    writer.close()
                    writer = reader = None
        finally:
            if writer is not None:
                writer.close()

    started_all = time.perf_counter()
    async with asyncio.timeout(max_s + timeout_s):
        await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started_all
    latencies.sort()
    ok = statuses[expected]
    return LoadResult(
        requests=issued,
        errors=issued - ok,
        statuses=dict(sorted(statuses.items())),
        elapsed_s=elapsed,
        per_s=ok / elapsed if elapsed > 0 else 0.0,
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
    )
