"""Rule 24's publication of star levels whose 公示 has passed (volunteer/star_levels.py).

Hourly at :10 rather than once a day: arq reads cron hours in the worker's system time zone, and a level
falls due at China midnight; a run with nothing due is one indexed query. Every worker may run it:
publish_due writes each row only if it is still as read, so a level is published once.
"""

from __future__ import annotations

from typing import Any

from arq.cron import cron

from jobs.outbox import utc_now
from jobs.registry import CRON_JOBS
from settings import Settings
from volunteer import star_levels
from volunteer.record_rules import RecordRules


async def _publish_star_levels(ctx: dict[str, Any]) -> int:
    settings: Settings | None = ctx.get("settings")
    if settings is None:
        from settings import load_settings

        settings = load_settings()
    return await star_levels.publish_due(RecordRules.from_settings(settings), ctx.get("clock", utc_now)())


CRON_JOBS.append(cron(_publish_star_levels, name="publish_star_levels", minute={10}, run_at_startup=True))
