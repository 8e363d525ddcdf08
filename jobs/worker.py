"""arq worker settings: the registered jobs, the outbox relay every 5 s, the database for the worker's life.

`python -m jobs` runs it (CI, production); without REDIS_URL the app runs it in-process (jobs/runtime.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob, cron
from arq.typing import StartupShutdown, WorkerCoroutine
from arq.worker import Function

import jobs.deadlines  # registers its cron
import jobs.settlement  # registers its jobs
import jobs.star_levels  # noqa: F401  (registers its cron)
from jobs.outbox import KEEP_RESULT, relay, utc_now
from jobs.registry import CRON_JOBS, JOBS
from volunteer.db import close_database, open_database


def relay_cron(functions: Sequence[Function]) -> CronJob:
    """The relay as a cron job, so every worker drives it; it relays only what this worker can run.
    arq's unique cron ids make one tick run once however many workers share the queue."""

    async def relay_outbox(ctx: dict[str, Any]) -> int:
        clock = ctx.get("clock", utc_now)
        now: datetime = clock()
        return await relay(ctx["redis"], now, jobs={f.name for f in functions})

    return cron(relay_outbox, name="relay_outbox", second=set(range(0, 60, 5)), run_at_startup=True)


class QuietRelayTicks(logging.Filter):
    """arq logs every job's start and end at INFO: for the relay that is two lines every 5 s per worker,
    drowning the jobs that did something. Its warnings and errors still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or "relay_outbox" not in record.getMessage()


logging.getLogger("arq.worker").addFilter(QuietRelayTicks())


async def startup(ctx: dict[str, Any]) -> None:
    await open_database()


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_database()


class WorkerSettings:
    functions: Sequence[WorkerCoroutine | Function] = JOBS
    cron_jobs: Sequence[CronJob] | None = [relay_cron(JOBS), *CRON_JOBS]
    on_startup: StartupShutdown | None = startup
    on_shutdown: StartupShutdown | None = shutdown
    # Read as settings.load_settings() does, without its secrets-file I/O at import; `python -m jobs`
    # goes through load_settings() and passes its redis_url.
    redis_settings = RedisSettings.from_dsn(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    # keep_result short: arq refuses a _job_id while its result is kept, and the outbox sweep re-enqueues a
    # lost or exhausted row SWEEP_AFTER (5 min) after its last enqueue; results are not read anyway.
    keep_result = KEEP_RESULT
    # The job wrapper asks arq to retry a failure after 1, 2, 4, 8, 16 s; after the fifth try the sweep
    # starts over every 5 min, so a brief outage heals in seconds and a bug fixed by a deploy on its own.
    max_tries = 5
