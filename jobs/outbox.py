"""The transactional outbox: follow-up work is a row written in the same transaction as its cause, relayed
into arq with the row id as `_job_id`, and marked done in the same transaction as the job's effect.

So a rolled-back change enqueues nothing, a Redis outage delays work but loses none, and a job that arq
delivers twice (it runs jobs at least once) takes effect once.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Function, Retry, func

from jobs.tables import Outbox
from volunteer.db import write_transaction

log = logging.getLogger("jobs.outbox")

# Keyed ids are uuid5(NAMESPACE, "job:key"): changing this constant would let old causes enqueue again.
NAMESPACE = uuid.UUID("5b0f6c1e-8a43-4d1e-9a65-3f0d2c7b9e41")

# arq refuses a `_job_id` while its result is kept, so the worker keeps results briefly, and the sweep
# re-enqueues a row only once that result has expired (after a run was lost, or failed max_tries times).
KEEP_RESULT = timedelta(seconds=60)
SWEEP_AFTER = timedelta(minutes=5)
assert SWEEP_AFTER > KEEP_RESULT

# A job: the clock's reading for this run, then the payload given to add().
JobFunction = Callable[..., Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def add(job: str, now: datetime, *, key: str | None = None, **payload: object) -> uuid.UUID:
    """Write an outbox row. Call it inside the caller's write_transaction() so the row commits with the
    change that needs it, or not at all. With a key the id is uuid5(NAMESPACE, "job:key") and adding the
    same key again does nothing, so one cause cannot enqueue the same follow-up twice.

    The payload must be JSON (pass ids as str); names starting with "_" belong to arq's enqueue_job.
    """
    if any(name.startswith("_") for name in payload):
        raise ValueError("payload names must not start with '_' (arq reserves them)")
    outbox_id = uuid.uuid4() if key is None else uuid.uuid5(NAMESPACE, f"{job}:{key}")
    async with write_transaction():
        await Outbox.raw(
            "INSERT INTO outbox (id, job, payload, created_at, attempts) VALUES ({}, {}, {}, {}, 0) "
            "ON CONFLICT (id) DO NOTHING",
            outbox_id,
            job,
            json.dumps(payload),
            now,
        )
    return outbox_id


async def relay(
    redis: ArqRedis, now: datetime, *, limit: int = 500, jobs: Collection[str] | None = None
) -> int:
    """Hand to arq the rows never enqueued, and those enqueued more than SWEEP_AFTER ago and still not done;
    return how many arq accepted. Redis errors propagate; the rows stay due for the next run.

    jobs limits the relay to the job names the caller's worker can run (a worker would fail the others).
    """
    if jobs is not None and not jobs:
        return 0
    due = Outbox.done_at.is_null() & (Outbox.enqueued_at.is_null() | (Outbox.enqueued_at < now - SWEEP_AFTER))
    if jobs is not None:
        due &= Outbox.job.is_in(list(jobs))
    rows = await (
        Outbox.select(Outbox.id, Outbox.job, Outbox.payload)
        .where(due)
        .order_by(Outbox.created_at)
        .limit(limit)
        .output(load_json=True)
    )
    handed: list[uuid.UUID] = []
    accepted: list[uuid.UUID] = []
    try:
        for row in rows:
            # None: arq still holds this id (queued, running, retrying, or its result is kept).
            job = await redis.enqueue_job(row["job"], _job_id=str(row["id"]), **row["payload"])
            handed.append(row["id"])
            if job is not None:
                accepted.append(row["id"])
    finally:
        if handed:
            async with write_transaction():
                await Outbox.update({Outbox.enqueued_at: now}).where(Outbox.id.is_in(handed))
                if accepted:
                    await Outbox.update({Outbox.attempts: Outbox.attempts + 1}).where(
                        Outbox.id.is_in(accepted)
                    )
    return len(accepted)


async def mark_done(outbox_id: uuid.UUID, now: datetime) -> bool:
    """Mark a row done; call it inside the transaction that commits the job's effect, so both commit or
    neither does. False when it was already done (or is gone): the effect must not happen again."""
    async with write_transaction():
        rows = await Outbox.raw(
            "UPDATE outbox SET done_at = {} WHERE id = {} AND done_at IS NULL RETURNING id", now, outbox_id
        )
    return bool(rows)


def outbox_job(fn: JobFunction) -> Function:
    """The arq function for fn: runs fn(now, **payload) and marks its outbox row done in one write
    transaction, or does nothing if the row is already done. A failure rolls both back and asks arq to
    retry with a growing delay; after max_tries the sweep enqueues the row again."""

    async def run(ctx: dict[str, Any], **payload: Any) -> None:
        clock: Callable[[], datetime] = ctx.get("clock", utc_now)
        now = clock()
        try:
            outbox_id = uuid.UUID(ctx["job_id"])
        except ValueError:
            log.error("%s enqueued without an outbox id (%s): not run", fn.__name__, ctx["job_id"])
            return
        try:
            async with write_transaction():
                # First, so a concurrent duplicate waits on the row lock (PostgreSQL) and then finds it done.
                if not await mark_done(outbox_id, now):
                    log.info("%s %s: already done", fn.__name__, outbox_id)
                    return
                await fn(now, **payload)
        except Exception as exc:
            delay = min(2 ** (ctx["job_try"] - 1), 60)
            # The message may quote personal data (a SQL value, say): log only the type and where.
            log.error(
                "%s %s failed on try %d (%s), retrying in %ds\n%s",
                fn.__name__,
                outbox_id,
                ctx["job_try"],
                type(exc).__name__,
                delay,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            raise Retry(defer=delay) from exc

    return func(run, name=fn.__name__)
