"""The outbox table: follow-up work written in the same transaction as the change that causes it."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Outbox(Table):
    id = UUID(primary_key=True)  # also the arq _job_id, so a row is queued at most once at a time
    job = Varchar(length=64)  # the arq function name
    payload = JSON()  # the job's keyword arguments
    created_at = Timestamptz()
    enqueued_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)  # how many times the relay handed the row to arq


ALL_TABLES: list[type[Table]] = [Outbox]
