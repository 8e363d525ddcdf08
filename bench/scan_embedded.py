"""The online check-in load against the embedded mode: the same app on an SQLite file, no PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.data import migrate, mint_tokens
from bench.scan_data import Batch, load_sqlite, organization, session, signups, sqlite_regions, volunteers
from bench.scan_online import REAL_PREFIX, ScanRequests, Side, Volunteers, load, round_sizes
from bench.server import serve
from settings import load_settings
from volunteer.codes import CodeSigner


def sqlite_integrity(path: Path, session_id: uuid.UUID, created: int) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        rows: int = con.execute(
            "SELECT count(*) FROM scan WHERE session = ? AND kind = 'check_in' AND accepted AND nonce LIKE ?",
            (str(session_id), REAL_PREFIX + "%"),
        ).fetchone()[0]
        duplicates: int = con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM scan WHERE accepted "
            "GROUP BY session, volunteer, kind HAVING count(*) > 1)"
        ).fetchone()[0]
    finally:
        con.close()
    return created - rows, duplicates


async def _nothing() -> None:
    """No CHECKPOINT between rounds: the app checkpoints its own WAL."""


async def embedded_phase(
    secrets: dict[str, str],
    *,
    factory: str,
    rounds: int,
    concurrency: int,
    volunteer_count: int,
    per_round: int,
    warmup: int,
) -> dict[str, float | int]:
    workdir = Path(tempfile.mkdtemp(prefix="volunteer_bench_"))
    try:
        path = workdir / "bench.sqlite3"
        url = f"sqlite:///{path}"
        await migrate(url)
        now = datetime.now(UTC)
        batch = Batch()
        region = sqlite_regions(batch)
        org = organization(batch, region, now)
        live = session(batch, org, 1, now - timedelta(minutes=10), now + timedelta(hours=3), now)
        people = volunteers(batch, region, 0, volunteer_count, now, accounts=True)
        signups(batch, live, people, now)
        started = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, batch)
        print(f"embedded: seeded {batch.counts()} in {time.perf_counter() - started:.1f}s", flush=True)

        # No REDIS_URL: embedded mode runs its own Redis and job worker beside the SQLite file.
        env = {**secrets, "DATABASE_URL": url, "APP_ENV": "production", "REDIS_URL": ""}
        settings = load_settings(env)
        signer = CodeSigner(settings.code_key, window_s=settings.code_window_s)
        pool = Volunteers(mint_tokens(secrets["JWT_KEYS"], [p.account for p in people if p.account]))
        side = Side("embedded")
        async with serve(factory, env) as real:
            for r, n in round_sizes(rounds, warmup, per_round):
                requests = ScanRequests(real.port, "/scans", signer, live.code_seq, pool.take(n), REAL_PREFIX)
                side.add(r, await load(real.port, requests, side, concurrency, _nothing))
        lost, duplicates = sqlite_integrity(path, live.id, side.created)
        print(f"embedded: lost {lost}, duplicates {duplicates}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures: dict[str, float | int] = {**side.summary("embedded_scans")}
    return figures | {
        "embedded_errors": side.errors,
        "embedded_lost": lost,
        "embedded_duplicates": duplicates,
    }
