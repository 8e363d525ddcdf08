"""Settlement jobs: every minute find sessions that ended, then settle each one exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from arq.cron import cron

from jobs import outbox
from jobs.outbox import utc_now
from jobs.registry import CRON_JOBS, job
from settings import Settings
from volunteer import settlement
from volunteer.db import write_transaction


@job
async def settle_session(now: datetime, *, session_id: str, daily_cap: int) -> None:
    """Close missing check-outs, mark no-shows, write the service records (volunteer/settlement.py)."""
    await settlement.settle_session(uuid.UUID(session_id), now, daily_cap=daily_cap)


async def schedule_settlements(now: datetime, settings: Settings) -> int:
    """An outbox row per ended session, keyed by the session, so a session is settled once however often
    this runs (every worker's cron, a restart, a crash between here and the relay)."""
    due = await settlement.sessions_due(now, timedelta(minutes=settings.checkin_grace_min))
    async with write_transaction():
        for session_id in due:
            await outbox.add(
                "settle_session",
                now,
                key=str(session_id),
                session_id=str(session_id),
                daily_cap=settings.daily_cap_min,
            )
    return len(due)


async def _schedule(ctx: dict[str, Any]) -> int:
    settings: Settings | None = ctx.get("settings")
    if settings is None:
        from settings import load_settings

        settings = load_settings()
    return await schedule_settlements(ctx.get("clock", utc_now)(), settings)


CRON_JOBS.append(cron(_schedule, name="schedule_settlements", second={0}, run_at_startup=True))
