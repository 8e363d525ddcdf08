"""Check-in at scale: online scans against a bare baseline, an offline batch upload and its retry, settling
100k check-ins in a process of its own, the embedded (SQLite) mode, and QR rendering."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.data import connect, fresh_database, migrate, mint_tokens, seed_regions
from bench.scan_data import (
    Batch,
    Org,
    Person,
    Session,
    copy_batch,
    organization,
    session,
    signups,
    volunteers,
)
from bench.scan_embedded import embedded_phase
from bench.scan_offline import offline_phase
from bench.scan_online import (
    BASE_PREFIX,
    REAL_PREFIX,
    ScanRequests,
    Side,
    Volunteers,
    interleaved,
    load,
    pg_integrity,
    round_sizes,
)
from bench.scan_settle import ended_yesterday, history, run_child
from bench.server import Server, serve, workers
from settings import generate_secrets, load_settings
from volunteer.codes import CodeSigner
from volunteer.qr import render_png

DATABASE = "volunteer_bench"
BASELINE_FACTORY = "bench.baseline:create_baseline_app"
EMBEDDED_WARMUP = 200


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True, slots=True)
class Config:
    rounds: int
    concurrency: int
    scans: int  # per round and side
    warmup: int
    volunteers: int
    offline: int
    settle_sessions: int
    settle_per_session: int
    settle_history: bool  # 0: settle into an empty service_record table (the planner's cold start)
    embedded_volunteers: int
    embedded_scans: int
    real_factory: str

    @classmethod
    def from_env(cls) -> Config:
        rounds = max(1, _env_int("BENCH_ROUNDS", 3))
        scans = _env_int("BENCH_SCANS", 4000)
        warmup = _env_int("BENCH_WARMUP", 500)
        embedded_scans = _env_int("BENCH_EMBEDDED_SCANS", 1500)
        return cls(
            rounds=rounds,
            concurrency=_env_int("BENCH_CONCURRENCY", 64),
            scans=scans,
            warmup=warmup,
            # Both sides, every round, each volunteer once.
            volunteers=max(_env_int("BENCH_VOLUNTEERS", 30_000), 2 * (warmup + rounds * scans)),
            offline=_env_int("BENCH_OFFLINE", 10_000),
            settle_sessions=_env_int("BENCH_SETTLE_SESSIONS", 100),
            settle_per_session=_env_int("BENCH_SETTLE_PER_SESSION", 1000),
            settle_history=_env_int("BENCH_SETTLE_HISTORY", 1) != 0,
            embedded_volunteers=max(
                _env_int("BENCH_EMBEDDED_VOLUNTEERS", 5000), EMBEDDED_WARMUP + rounds * embedded_scans
            ),
            embedded_scans=embedded_scans,
            real_factory=os.environ.get("BENCH_REAL_FACTORY") or "app:create_app",
        )


@dataclass(frozen=True, slots=True)
class Seeded:
    org: Org
    live: Session
    online: list[Person]
    offline_session: Session
    offline: list[Person]


async def _copy(conn: Any, batch: Batch) -> None:
    started = time.perf_counter()
    await copy_batch(conn, batch)
    await conn.execute("ANALYZE")  # a live database has statistics; a freshly copied one has none
    print(f"seeded {batch.counts()} in {time.perf_counter() - started:.1f}s", flush=True)


async def _seed(cfg: Config, conn: Any, now: datetime) -> Seeded:
    """The running session, and the second one whose scans an organizer's device uploads."""
    region = await seed_regions(conn)
    batch = Batch()
    org = organization(batch, region, now)
    live = session(batch, org, 1, now - timedelta(minutes=10), now + timedelta(hours=3), now)
    online = volunteers(batch, region, 0, cfg.volunteers, now, accounts=True)
    signups(batch, live, online, now)
    offline_session = session(batch, org, 2, now - timedelta(hours=1), now + timedelta(hours=1), now)
    offline = volunteers(batch, region, cfg.volunteers, cfg.offline, now, accounts=True)
    signups(batch, offline_session, offline, now)
    await _copy(conn, batch)
    return Seeded(org, live, online, offline_session, offline)


async def _online(
    cfg: Config, conn: Any, real: Server, base: Server, signer: CodeSigner, live: Session, tokens: list[str]
) -> tuple[Side, Side]:
    """Rounds interleaved with the baseline, each request a volunteer who has not scanned yet."""
    pool = Volunteers(tokens)
    real_side, base_side = Side("scans real"), Side("scans baseline")

    async def checkpoint() -> None:
        await conn.execute("CHECKPOINT")  # neither side flushes the other's dirty pages

    for r, n in round_sizes(cfg.rounds, cfg.warmup, cfg.scans):
        reqs = ScanRequests(real.port, "/scans", signer, live.code_seq, pool.take(n), REAL_PREFIX)
        base_reqs = ScanRequests(
            base.port, "/baseline/scans", signer, live.code_seq, pool.take(n), BASE_PREFIX
        )
        res, base_res = await interleaved(
            r,
            partial(load, real.port, reqs, real_side, cfg.concurrency, checkpoint),
            partial(load, base.port, base_reqs, base_side, cfg.concurrency, checkpoint),
        )
        real_side.add(r, res)
        base_side.add(r, base_res)
    return real_side, base_side


async def _seq_scans(conn: Any, table: str) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    scans: int = await conn.fetchval("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = $1", table)
    return scans


async def _settle(cfg: Config, conn: Any, env: dict[str, str], org: Org) -> dict[str, float | int]:
    """Seeded only now: the app's own settlement cron would otherwise settle them while serving."""
    batch = Batch()
    now = datetime.now(UTC)
    first = cfg.volunteers + cfg.offline
    people = ended_yesterday(batch, org, first, cfg.settle_sessions, cfg.settle_per_session, now)
    if cfg.settle_history:
        history(batch, org, people, now)
    await _copy(conn, batch)
    expected = cfg.settle_sessions * cfg.settle_per_session
    await conn.execute("CHECKPOINT")
    seq_before = await _seq_scans(conn, "service_record")
    child = await run_child(env)
    await asyncio.sleep(0.5)  # the child's backends report their statistics as they exit
    seq_scans = await _seq_scans(conn, "service_record") - seq_before
    rows: int = await conn.fetchval("SELECT count(*) FROM service_record WHERE settlement_key IS NOT NULL")
    verdict = "ok" if rows == expected else f"MISMATCH, expected {expected}"
    print(
        f"settled {child['sessions']} sessions in {child['seconds']:.1f}s, peak {child['peak_mb']:.0f} MB: "
        f"{child['records']} records, {child['closed_check_outs']} closed check-outs, "
        f"{child['no_shows']} no-shows, {seq_scans} sequential scans of service_record; "
        f"settled service_record rows {rows}: {verdict}",
        flush=True,
    )
    return {
        "settle_100k_s": round(child["seconds"], 2),
        "settle_peak_mb": round(child["peak_mb"], 1),
        "settle_sessions": child["sessions"],
        "settled_records": rows,
        "settle_seq_scans": seq_scans,
    }


def qr_png_ms(signer: CodeSigner, renders: int = 200) -> float:
    """Median over single renders of the current session code, no cache in between."""
    code = signer.session_code(2**39 - 1, datetime.now(UTC))
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        render_png(code)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


async def main() -> dict[str, float | int]:
    cfg = Config.from_env()
    secrets = generate_secrets()
    url = await fresh_database(DATABASE)
    print(f"created {DATABASE}; migrating", flush=True)
    await migrate(url)
    workdir = Path(tempfile.mkdtemp(prefix="volunteer_bench_"))
    # DATA_DIR: the embedded Redis of the app's job runtime keeps its files there, not in the repo's var/.
    env = {**secrets, "DATABASE_URL": url, "APP_ENV": "production", "DATA_DIR": str(workdir)}
    env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "")  # empty: the embedded Redis and worker
    settings = load_settings(env)
    signer = CodeSigner(settings.code_key, window_s=settings.code_window_s)
    conn = await connect(DATABASE)
    try:
        seeded = await _seed(cfg, conn, datetime.now(UTC))
        accounts = [p.account for p in seeded.online if p.account is not None]
        tokens = mint_tokens(secrets["JWT_KEYS"], accounts)
        admin_token = mint_tokens(secrets["JWT_KEYS"], [seeded.org.admin])[0]
        print(f"minted {len(tokens) + 1} tokens", flush=True)
        async with serve(cfg.real_factory, env) as real:
            async with serve(BASELINE_FACTORY, env) as base:
                real_side, base_side = await _online(cfg, conn, real, base, signer, seeded.live, tokens)
            lost, duplicates = await pg_integrity(conn, seeded.live.id, real_side.created)
            print(
                f"scans: 201 responses {real_side.created}, lost {lost}, duplicates {duplicates}", flush=True
            )
            offline = await offline_phase(
                real.port, conn, signer, seeded.offline_session, seeded.offline, admin_token
            )
        settle = await _settle(cfg, conn, env, seeded.org)
    finally:
        await conn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    embedded = await embedded_phase(
        secrets,
        factory=cfg.real_factory,
        rounds=cfg.rounds,
        concurrency=cfg.concurrency,
        volunteer_count=cfg.embedded_volunteers,
        per_round=cfg.embedded_scans,
        warmup=EMBEDDED_WARMUP,
    )
    figures = real_side.summary("scans") | base_side.summary("baseline_scans")
    figures["ratio_to_baseline"] = _ratio(figures["scans_per_s"], figures["baseline_scans_per_s"])
    figures |= {"errors": real_side.errors, "baseline_errors": base_side.errors}
    figures |= {"lost": lost, "duplicates": duplicates, "scanned": real_side.created}
    figures |= offline | settle | embedded | {"qr_png_ms": qr_png_ms(signer)}
    figures |= {"rounds": cfg.rounds, "concurrency": cfg.concurrency, "workers": workers()}
    return figures
