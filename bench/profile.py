"""Registration and profile reads on the real service, interleaved with a bare baseline doing equal work."""

from __future__ import annotations

import importlib.util
import itertools
import os
import statistics
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import msgspec

from bench.data import (
    COMMUNITY_CODE,
    connect,
    fresh_database,
    id_number,
    migrate,
    mint_tokens,
    seed_accounts,
    seed_regions,
)
from bench.load import LoadResult, build_request, fetch, run_load
from bench.server import Server, serve, workers
from settings import generate_secrets

DATABASE = "volunteer_bench"
BASELINE_FACTORY = "bench.baseline:create_baseline_app"
ME = "/volunteers/me"
_PROBE_ID = 14_000_000
T = TypeVar("T")


class BenchError(RuntimeError):
    """The benchmark cannot produce meaningful figures; the message says what to fix."""


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _register(port: int, path: str, number: str, token: str | None) -> bytes:
    body = {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": number,
        "region_code": COMMUNITY_CODE,
        "phone": "13800000000",
        "skills": ["急救"],
        "service_categories": ["community_service"],
    }
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return build_request("POST", path, port=port, headers=headers, body=msgspec.json.encode(body))


def _profile(port: int, path: str, token: str | None) -> bytes:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return build_request("GET", path, port=port, headers=headers)


def _check_factory(factory: str) -> None:
    module = factory.partition(":")[0]
    if importlib.util.find_spec(module) is None:
        raise BenchError(
            f"{module}.py does not exist yet; to test the benchmark itself, "
            f"set BENCH_REAL_FACTORY={BASELINE_FACTORY}"
        )


def _text(body: bytes) -> str:
    return body[:300].decode(errors="replace")


async def _probe(real: Server, token: str) -> None:
    """One registration before any load: fail early and clearly while routes or auth are being built."""
    number = id_number(_PROBE_ID)  # far past the numbers the rounds use
    status, body = await fetch(real.port, _register(real.port, ME, number, token))
    if status in (404, 405):
        raise BenchError(f"{real.factory} has no POST {ME} yet (answered {status}: {_text(body)})")
    if status in (401, 403):
        raise BenchError(f"{real.factory} refused a freshly minted token ({status}: {_text(body)})")
    if status != 201:
        raise BenchError(f"POST {ME} answered {status} to a valid registration: {_text(body)}")


def _summary(prefix: str, runs: list[LoadResult]) -> dict[str, float]:
    """Medians over rounds, each figure on its own: one slow round must not decide the result."""
    return {
        f"{prefix}_per_s": round(statistics.median(r.per_s for r in runs), 1),
        f"{prefix}_p50_ms": round(statistics.median(r.p50_ms for r in runs), 2),
        f"{prefix}_p95_ms": round(statistics.median(r.p95_ms for r in runs), 2),
        f"{prefix}_p99_ms": round(statistics.median(r.p99_ms for r in runs), 2),
    }


async def _count(conn: Any) -> int:
    rows: int = await conn.fetchval("SELECT count(*) FROM volunteer")
    return rows


@dataclass(frozen=True, slots=True)
class Config:
    rounds: int
    concurrency: int
    registrations: int  # per round
    reads: int  # per round
    warmup: int
    real_factory: str

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            rounds=max(1, _env_int("BENCH_ROUNDS", 3)),
            concurrency=_env_int("BENCH_CONCURRENCY", 64),
            registrations=_env_int("BENCH_REGISTRATIONS", 5000),
            reads=_env_int("BENCH_PROFILE_REQUESTS", 20_000),
            warmup=_env_int("BENCH_WARMUP", 200),
            real_factory=os.environ.get("BENCH_REAL_FACTORY") or "app:create_app",
        )

    def registered(self) -> int:
        """Accounts registered by the real server: the warm-up round and every measured round."""
        return self.warmup + self.rounds * self.registrations


@dataclass(slots=True)
class Tally:
    runs: dict[str, list[LoadResult]] = field(default_factory=lambda: defaultdict(list))
    errors: int = 0

    def add(self, what: str, r: int, real: LoadResult, base: LoadResult) -> None:
        """Round 0 is the warm-up (pools filling, caches cold): printed and counted, never reported."""
        self.errors += real.errors + base.errors
        print(f"{what} round {r} real: {real.line()}", flush=True)
        print(f"{what} round {r} baseline: {base.line()}", flush=True)
        if r > 0:
            self.runs[what].append(real)
            self.runs[f"baseline_{what}"].append(base)


async def _interleaved(
    r: int, real: Callable[[], Awaitable[T]], base: Callable[[], Awaitable[T]]
) -> tuple[T, T]:
    """Odd rounds run the real server first, even ones the baseline: drift hits both sides alike."""
    if r % 2:
        first = await real()
        return first, await base()
    second = await base()
    return await real(), second


async def _register_run(conn: Any, port: int, reqs: list[bytes], concurrency: int) -> tuple[LoadResult, int]:
    """CHECKPOINT first so neither side flushes the other's dirty pages; also returns the rows it added."""
    await conn.execute("CHECKPOINT")
    before = await _count(conn)
    res = await run_load(port, reqs.__getitem__, total=len(reqs), expected=201, concurrency=concurrency)
    return res, await _count(conn) - before


async def _register_phase(
    cfg: Config, tally: Tally, conn: Any, real: Server, base: Server, tokens: list[str]
) -> int:
    """Every request registers a new account with a new ID number; returns the rows the real server wrote."""
    ids = itertools.count()
    accounts = iter(tokens)
    rows = created = 0
    for r in range(cfg.rounds + 1):
        n = cfg.warmup if r == 0 else cfg.registrations
        reqs = [_register(real.port, ME, id_number(next(ids)), next(accounts)) for _ in range(n)]
        base_reqs = [_register(base.port, "/baseline/register", id_number(next(ids)), None) for _ in range(n)]
        (res, added), (base_res, _) = await _interleaved(
            r,
            partial(_register_run, conn, real.port, reqs, cfg.concurrency),
            partial(_register_run, conn, base.port, base_reqs, cfg.concurrency),
        )
        rows += added
        created += res.statuses.get(201, 0)
        tally.add("register", r, res, base_res)
    verdict = "ok" if rows == created else "MISMATCH"
    print(f"registered_rows {rows}, 201 responses {created}: {verdict}", flush=True)
    tally.errors += abs(rows - created)
    return rows


def _cycle(reqs: list[bytes], i: int) -> bytes:
    return reqs[i % len(reqs)]


async def _profile_phase(cfg: Config, tally: Tally, real: Server, base: Server, tokens: list[str]) -> None:
    reqs = [_profile(real.port, ME, t) for t in tokens]
    base_reqs = [_profile(base.port, "/baseline/profile", None)]
    for r in range(cfg.rounds + 1):
        n = max(1, cfg.reads // 10) if r == 0 else cfg.reads
        res, base_res = await _interleaved(
            r,
            partial(run_load, real.port, partial(_cycle, reqs), total=n, concurrency=cfg.concurrency),
            partial(run_load, base.port, partial(_cycle, base_reqs), total=n, concurrency=cfg.concurrency),
        )
        tally.add("profile", r, res, base_res)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


async def main() -> dict[str, float | int]:
    cfg = Config.from_env()
    _check_factory(cfg.real_factory)
    secrets = generate_secrets()
    url = await fresh_database(DATABASE)
    print(f"created {DATABASE}; migrating", flush=True)
    await migrate(url)
    # +1: the last account is the probe's.
    n_accounts = max(_env_int("BENCH_ACCOUNTS", 20_000), cfg.registered() + 1)
    env = {**secrets, "DATABASE_URL": url, "APP_ENV": "production"}
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    tally = Tally()
    conn = await connect(DATABASE)
    try:
        await seed_regions(conn)
        tokens = mint_tokens(secrets["JWT_KEYS"], await seed_accounts(conn, n_accounts))
        print(f"seeded {n_accounts} accounts and minted their tokens", flush=True)
        async with serve(cfg.real_factory, env) as real:
            await _probe(real, tokens[-1])
            async with serve(BASELINE_FACTORY, env) as base:
                rows = await _register_phase(cfg, tally, conn, real, base, tokens[: cfg.registered()])
            status, body = await fetch(real.port, _profile(real.port, ME, tokens[0]))
            if status != 200:
                raise BenchError(f"GET {ME} answered {status} for a registered account: {_text(body)}")
            print(f"profile body is {len(body)} bytes; the baseline returns as many", flush=True)
            async with serve(BASELINE_FACTORY, {**env, "BASELINE_BODY_BYTES": str(len(body))}) as base:
                await _profile_phase(cfg, tally, real, base, tokens[: cfg.registered()])
    finally:
        await conn.close()

    figures: dict[str, float | int] = {}
    for name, results in tally.runs.items():
        figures |= _summary(name, results)
    ratio = _ratio(figures["profile_per_s"], figures["baseline_profile_per_s"])
    register_ratio = _ratio(figures["register_per_s"], figures["baseline_register_per_s"])
    figures |= {"ratio_to_baseline": ratio, "register_ratio_to_baseline": register_ratio}
    figures |= {"registered_rows": rows, "errors": tally.errors, "concurrency": cfg.concurrency}
    figures |= {"rounds": cfg.rounds, "workers": workers()}
    return figures
