"""What people see of star levels (rule 24): a volunteer's levels and history, and the public 公示 list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from errors import VOLUNTEER_NOT_FOUND, DomainError
from volunteer.access import Principal
from volunteer.db import as_date, as_uuid
from volunteer.hours import format_hours
from volunteer.identity import mask_name
from volunteer.profiles import sight_of, volunteer_of
from volunteer.record_rules import RecordRules
from volunteer.regions import region_by_code
from volunteer.star_levels import PERIOD_FILTER, YEARLY, next_threshold_h, period_of
from volunteer.star_schemas import PeriodOut, PublicityOut, StarEventOut, StarLevelOut
from volunteer.tables import StarLevelEvent, StarLevelEventKind, Volunteer


async def my_star_level(actor: Principal, rules: RecordRules, today: date) -> StarLevelOut:
    volunteer = await volunteer_of(actor.account_id)
    return await _view(as_uuid(volunteer["id"]), rules, today)


async def volunteer_star_level(
    actor: Principal, volunteer_id: uuid.UUID, rules: RecordRules, today: date
) -> StarLevelOut:
    """Whoever may see the volunteer's profile (profiles.sight_of), masked or not."""
    rows = await Volunteer.raw(
        "SELECT v.account, v.registered_by_org, g.path AS region_path FROM volunteer v "
        "JOIN region g ON g.id = v.region WHERE v.id = {}",
        volunteer_id,
    )
    if not rows or await sight_of(actor, volunteer_id, rows[0]) is None:
        raise DomainError(VOLUNTEER_NOT_FOUND)
    return await _view(volunteer_id, rules, today)


async def publicity(region_code: str, today: date, *, limit: int, offset: int) -> list[PublicityOut]:
    """The current 公示 list of volunteers living in the region's subtree: masked names only."""
    region = await region_by_code(region_code)
    rows = await Volunteer.raw(
        "SELECT v.name, v.volunteer_no, s.period, s.level, s.pending_level, s.publicity_ends_on "
        "FROM star_level s JOIN volunteer v ON v.id = s.volunteer JOIN region g ON g.id = v.region "
        "WHERE s.pending_level IS NOT NULL AND s.publicity_ends_on >= {} AND g.path LIKE {} "
        "ORDER BY s.publicity_ends_on, v.volunteer_no, s.period LIMIT {} OFFSET {}",
        today,
        f"{region.path}%",
        limit,
        offset,
    )
    return [
        PublicityOut(
            name=mask_name(r["name"]),
            volunteer_no=r["volunteer_no"],
            period=r["period"],
            level=int(r["pending_level"]),
            published_level=int(r["level"]),
            publicity_ends_on=as_date(r["publicity_ends_on"]),
        )
        for r in rows
    ]


_STEP_ORDER = {
    StarLevelEventKind.published: 0,
    StarLevelEventKind.proposed: 1,
    StarLevelEventKind.withdrawn: 2,
    StarLevelEventKind.demoted: 3,
}


async def _view(volunteer_id: uuid.UUID, rules: RecordRules, today: date) -> StarLevelOut:
    yearly = rules.star_mode == YEARLY
    rows = await Volunteer.raw(
        "SELECT period, level, pending_level, publicity_ends_on, audited_minutes FROM star_level "
        f"WHERE volunteer = {{}} AND {PERIOD_FILTER[yearly]} ORDER BY period DESC",
        volunteer_id,
    )
    by_period = {str(r["period"]): r for r in rows}
    current = period_of(today, rules.star_mode)
    by_period.setdefault(current, {"level": 0, "pending_level": None, "publicity_ends_on": None})
    periods = [_period_out(p, by_period[p], rules) for p in sorted(by_period, reverse=True)]
    events = await StarLevelEvent.select().where(StarLevelEvent.volunteer == volunteer_id)
    # Newest first. Steps taken at one instant (one transaction, or two at the same clock reading) read in
    # the order they can happen: a passed 公示 is published before a new level is proposed, a withdrawal
    # comes before a demotion.
    events.sort(key=lambda e: (e["at"], e["period"], _STEP_ORDER[e["kind"]]), reverse=True)
    history = [
        StarEventOut(
            period=e["period"],
            kind=e["kind"],
            from_level=e["from_level"],
            to_level=e["to_level"],
            audited_minutes=e["audited_minutes"],
            audited_hours=format_hours(e["audited_minutes"]),
            publicity_ends_on=e["publicity_ends_on"],
            at=e["at"],
        )
        for e in events
    ]
    return StarLevelOut(mode=rules.star_mode, periods=periods, history=history)


def _period_out(period: str, row: dict[str, Any], rules: RecordRules) -> PeriodOut:
    minutes = int(row.get("audited_minutes") or 0)
    next_h = next_threshold_h(minutes, rules.star_thresholds_h)
    to_go = None if next_h is None else next_h * 60 - minutes
    return PeriodOut(
        period=period,
        level=int(row["level"]),
        audited_minutes=minutes,
        audited_hours=format_hours(minutes),
        pending_level=None if row["pending_level"] is None else int(row["pending_level"]),
        publicity_ends_on=None if row["publicity_ends_on"] is None else as_date(row["publicity_ends_on"]),
        next_level_hours=next_h,
        minutes_to_next=to_go,
        hours_to_next=None if to_go is None else format_hours(to_go),
    )
