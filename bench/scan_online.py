"""Online check-ins under load: every request is a distinct volunteer scanning the current session code."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from bench.load import LoadResult, build_request, run_load
from bench.scan_data import SITE
from volunteer.codes import CodeSigner

REAL_PREFIX = "real-"  # nonces of the real server's scans, so its rows can be told from the baseline's
BASE_PREFIX = "base-"
_RENEW_S = 5.0  # codes last a 30 s window plus one of grace: renewing every 5 s never sends a stale one
T = TypeVar("T")


class ScanRequests:
    """build(i) for run_load: the i-th volunteer of the round checks in once, with a fresh session code."""

    def __init__(
        self, port: int, path: str, signer: CodeSigner, session_seq: int, tokens: Sequence[str], prefix: str
    ) -> None:
        self._port, self._path, self._signer, self._seq = port, path, signer, session_seq
        self._tokens, self._prefix = tokens, prefix
        self._code = ""
        self._renew_at = 0.0

    def __len__(self) -> int:
        return len(self._tokens)

    def __call__(self, i: int) -> bytes:
        if time.monotonic() >= self._renew_at:
            self._code = self._signer.session_code(self._seq, datetime.now(UTC))
            self._renew_at = time.monotonic() + _RENEW_S
        body = {
            "nonce": f"{self._prefix}{uuid.uuid4().hex}",
            "code": self._code,
            "kind": "check_in",
            "latitude": SITE[0],
            "longitude": SITE[1],
        }
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._tokens[i]}"}
        return build_request(
            "POST", self._path, port=self._port, headers=headers, body=msgspec.json.encode(body)
        )


class FirstError:
    """Prints the first unexpected answer of one side; run_load counts all of them."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.seen = False

    def __call__(self, status: int, body: bytes) -> None:
        if not self.seen:
            self.seen = True
            print(f"{self.label}: first error {status}: {body[:300].decode(errors='replace')}", flush=True)


class Volunteers:
    """Hands out each volunteer's token once: no volunteer scans twice in a run."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = tokens
        self._next = 0

    def take(self, n: int) -> Sequence[str]:
        if self._next + n > len(self._tokens):
            raise RuntimeError(f"only {len(self._tokens)} volunteers seeded; raise BENCH_VOLUNTEERS")
        taken = self._tokens[self._next : self._next + n]
        self._next += n
        return taken


@dataclass(slots=True)
class Side:
    """One server's rounds: measured results (warm-up excluded), errors and 201s over all rounds."""

    label: str
    runs: list[LoadResult] = field(default_factory=list)
    errors: int = 0
    created: int = 0
    first_error: FirstError = field(init=False)

    def __post_init__(self) -> None:
        self.first_error = FirstError(self.label)

    def add(self, r: int, result: LoadResult) -> None:
        """Round 0 is the warm-up (pools filling, caches cold): printed and counted, never reported."""
        print(f"{self.label} round {r}: {result.line()}", flush=True)
        self.errors += result.errors
        self.created += result.statuses.get(201, 0)
        if r > 0:
            self.runs.append(result)

    def summary(self, prefix: str) -> dict[str, float]:
        """Medians over rounds, each figure on its own: one slow round must not decide the result."""
        runs = self.runs or [LoadResult(0, 0, {}, 0.0, 0.0, 0.0, 0.0, 0.0)]
        return {
            f"{prefix}_per_s": round(statistics.median(r.per_s for r in runs), 1),
            f"{prefix}_p50_ms": round(statistics.median(r.p50_ms for r in runs), 2),
            f"{prefix}_p95_ms": round(statistics.median(r.p95_ms for r in runs), 2),
            f"{prefix}_p99_ms": round(statistics.median(r.p99_ms for r in runs), 2),
        }


async def load(
    port: int, requests: ScanRequests, side: Side, concurrency: int, before: Callable[[], Awaitable[None]]
) -> LoadResult:
    await before()
    return await run_load(
        port,
        requests,
        total=len(requests),
        expected=201,
        concurrency=concurrency,
        on_unexpected=side.first_error,
    )


async def interleaved(
    r: int, real: Callable[[], Awaitable[T]], base: Callable[[], Awaitable[T]]
) -> tuple[T, T]:
    """Odd rounds run the real server first, even ones the baseline: drift hits both sides alike."""
    if r % 2:
        first = await real()
        return first, await base()
    second = await base()
    return await real(), second


def round_sizes(rounds: int, warmup: int, per_round: int) -> Iterator[tuple[int, int]]:
    yield 0, warmup
    for r in range(1, rounds + 1):
        yield r, per_round


async def pg_integrity(conn: Any, session_id: uuid.UUID, created: int) -> tuple[int, int]:
    """lost: 201s without their accepted row; duplicates: (session, volunteer, kind) counted twice."""
    rows: int = await conn.fetchval(
        "SELECT count(*) FROM scan WHERE session = $1 AND kind = 'check_in' AND accepted AND nonce LIKE $2",
        session_id,
        REAL_PREFIX + "%",
    )
    duplicates: int = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM scan WHERE accepted "
        "GROUP BY session, volunteer, kind HAVING count(*) > 1) AS twice"
    )
    return created - rows, duplicates
