"""The jobs the worker runs: domain modules register theirs with @job, and jobs/worker.py imports them."""

from __future__ import annotations

from typing import TypeVar

from arq.cron import CronJob
from arq.worker import Function

from jobs.outbox import JobFunction, outbox_job

F = TypeVar("F", bound=JobFunction)

JOBS: list[Function] = []
# Schedules that find work to do (they write outbox rows; the jobs do the work).
CRON_JOBS: list[CronJob] = []


def job(fn: F) -> F:
    """Register fn(now, **payload) as an outbox job named fn.__name__; fn itself stays a plain function."""
    JOBS.append(outbox_job(fn))
    return fn
