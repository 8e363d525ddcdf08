"""Rule 17's daily reminders and escalations (volunteer/deadlines.py).

Scheduled hourly rather than at one hour of the day: arq reads cron hours in the worker's system time
zone, and the notifications are keyed per China day, so the first run of a China day sends them and the
others find them sent.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.cron import cron

from jobs.outbox import utc_now
from jobs.registry import CRON_JOBS
from settings import Settings
from volunteer import deadlines
from volunteer.record_rules import RecordRules

log = logging.getLogger("jobs.deadlines")


async def _remind_and_escalate(ctx: dict[str, Any]) -> dict[str, int]:
    settings: Settings | None = ctx.get("settings")
    if settings is None:
        from settings import load_settings

        settings = load_settings()
    rules = RecordRules.from_settings(settings)
    now = ctx.get("clock", utc_now)()
    if not rules.calendar.knows_year(now.year):
        log.warning("No holiday calendar for %s: update chinese_calendar or the workdays file", now.year)
    return await deadlines.remind_and_escalate(now, rules)


CRON_JOBS.append(cron(_remind_and_escalate, name="remind_and_escalate", minute={7}, run_at_startup=False))
