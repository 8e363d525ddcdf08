"""Rule 24: star levels from audited hours, published after a 公示 of working days, dropped at once when
revoked hours take the total below them. Every change is a star_level_event and an audit-log entry.

One star_level row per volunteer and period: "all" when cumulative, the calendar year of the service date
(China) when yearly; switching modes leaves the other mode's rows as they are. `level` is the published
level; a higher level reached waits in `pending_level` until `publicity_ends_on`, the 公示's last day
(the n-th working day after the day it was reached, 调休 included); publish_due publishes it from the next
China day on, re-checking the audited minutes.

Choices: a 公示 already passed when minutes change again is published first (as the job would have);
a rise while a lower level is on 公示 restarts the 公示 for the higher level (the public has not
seen it); a fall during 公示 lowers the pending level and keeps its end date (the lower level is within
what was shown), or withdraws it when the total is back at the published level.

Concurrency: callers change audited minutes and append their own audit-log entry before calling recompute
(records.audit does), so the audit log's lock already queues them; recompute also locks the volunteer
rows (PostgreSQL; SQLite writers are serialized), and publish_due appends first and then writes only if
the row is still as it read it, so two workers, or a worker and an audit, never publish twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from volunteer import audit_log
from volunteer.db import as_date, as_uuid, engine, write_transaction
from volunteer.hours import CHINA
from volunteer.record_rules import RecordRules
from volunteer.tables import StarLevelEvent, StarLevelEventKind, Volunteer

ALL = "all"
YEARLY = "yearly"
_ACTIONS = {
    StarLevelEventKind.proposed: "star.propose",
    StarLevelEventKind.published: "star.publish",
    StarLevelEventKind.withdrawn: "star.withdraw",
    StarLevelEventKind.demoted: "star.demote",
}
_UPSERT_CHUNK = 500  # rows per upsert statement: 8 parameters each, far below either engine's limit


def level_for(minutes: int, thresholds_h: Sequence[int]) -> int:
    """Stars for these audited minutes: how many thresholds (hours) they reach; integer, so exact."""
    return sum(1 for hours in thresholds_h if hours * 60 <= minutes)


def next_threshold_h(minutes: int, thresholds_h: Sequence[int]) -> int | None:
    """Hours of the lowest threshold not yet reached; None at the top level."""
    return min((hours for hours in thresholds_h if hours * 60 > minutes), default=None)


def period_of(service_date: date, mode: str) -> str:
    return str(service_date.year) if mode == YEARLY else ALL


@dataclass(frozen=True, slots=True)
class Standing:
    level: int = 0  # published
    pending_level: int | None = None  # on 公示, always above level
    publicity_ends_on: date | None = None


@dataclass(frozen=True, slots=True)
class Step:
    kind: StarLevelEventKind
    from_level: int
    to_level: int
    publicity_ends_on: date | None = None


def follow(current: Standing, reached: int, publicity_ends_on: date) -> tuple[Standing, list[Step]]:
    """What audited minutes reaching `reached` stars make of a standing; `publicity_ends_on` is the end of
    a 公示 started now. Afterwards level = min(level, reached), and pending = reached if above it."""
    level, pending, ends = current.level, current.pending_level, current.publicity_ends_on
    steps: list[Step] = []
    if pending is not None and reached < pending:
        lowered = max(reached, level)
        if lowered > level:
            steps.append(Step(StarLevelEventKind.withdrawn, pending, lowered, ends))
            pending = lowered
        else:
            steps.append(Step(StarLevelEventKind.withdrawn, pending, level))
            pending, ends = None, None
    if reached < level:
        steps.append(Step(StarLevelEventKind.demoted, level, reached))
        return Standing(reached), steps
    if reached > level and (pending is None or reached > pending):
        steps.append(Step(StarLevelEventKind.proposed, level, reached, publicity_ends_on))
        return Standing(level, reached, publicity_ends_on), steps
    return Standing(level, pending, ends), steps


def publish(current: Standing, reached: int, today: date) -> tuple[Standing, list[Step]]:
    """At the end of 公示: publish what is still reached of the pending level; if nothing is, withdraw."""
    assert current.pending_level is not None
    target = min(current.pending_level, reached)
    if target > current.level:
        return Standing(target), [Step(StarLevelEventKind.published, current.level, target)]
    return follow(current, reached, today)


def today_in_china(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def publicity_end(rules: RecordRules, now: datetime) -> date:
    """The 公示's last day: the n-th working day after today (China), 调休 included."""
    return rules.calendar.add_working_days(today_in_china(now), rules.star_publicity_workdays)


async def recompute(volunteer_ids: Set[uuid.UUID], rules: RecordRules, now: datetime) -> None:
    """Inside the caller's write transaction: bring these volunteers' star levels in line with their
    audited minutes (propose with 公示 on a rise, withdraw or demote on a fall)."""
    if not volunteer_ids:
        return
    db = engine()
    assert db.current_transaction.get() is not None, "star_levels.recompute needs the caller's transaction"
    ids = sorted(volunteer_ids)  # one lock order for every caller
    marks = _marks(len(ids))
    lock = " FOR NO KEY UPDATE OF v" if db.engine_type == "postgres" else ""
    regions = {
        as_uuid(r["id"]): str(r["path"])
        for r in await Volunteer.raw(
            f"SELECT v.id, g.path FROM volunteer v JOIN region g ON g.id = v.region WHERE v.id IN ({marks}) "
            f"ORDER BY v.id{lock}",
            *ids,
        )
    }
    yearly = rules.star_mode == YEARLY
    minutes = await _audited_minutes(ids, yearly)
    rows = await Volunteer.raw(
        "SELECT id, volunteer, period, level, pending_level, publicity_ends_on, audited_minutes "
        f"FROM star_level WHERE volunteer IN ({marks}) AND {PERIOD_FILTER[yearly]}",
        *ids,
    )
    stored = {(as_uuid(r["volunteer"]), str(r["period"])): r for r in rows}
    today, ends = today_in_china(now), publicity_end(rules, now)
    changed: list[tuple[uuid.UUID, str, Standing, int, list[Step]]] = []
    for key in sorted(set(minutes) | set(stored)):
        row = stored.get(key)
        current = _standing(row) if row is not None else Standing()
        total = minutes.get(key, 0)
        reached = level_for(total, rules.star_thresholds_h)
        steps: list[Step] = []
        if current.pending_level is not None and (current.publicity_ends_on or today) < today:
            # The 公示 has passed and the job has not run yet: publish before moving on.
            current, steps = publish(current, reached, today)
        after, more = follow(current, reached, ends)
        steps += more
        if steps or (row is not None and int(row["audited_minutes"]) != total) or (row is None and total):
            changed.append((key[0], key[1], after, total, steps))
    row_ids = await _upsert([(v, p, s, m) for v, p, s, m, _ in changed], now)
    await _record_steps(
        [(row_ids[(v, p)], v, p, m, steps, regions[v]) for v, p, _, m, steps in changed if steps], now
    )


async def publish_due(rules: RecordRules, now: datetime) -> int:
    """Publish the levels whose 公示 has fully passed (publicity_ends_on before today, China); returns how
    many were published. Each row is its own transaction, so one conflict does not hold up the rest."""
    today = today_in_china(now)
    due = await Volunteer.raw(
        "SELECT id FROM star_level WHERE pending_level IS NOT NULL AND publicity_ends_on < {} "
        "ORDER BY publicity_ends_on, id",
        today,
    )
    published = 0
    for row in due:
        try:
            published += await _publish_one(as_uuid(row["id"]), rules, today, now)
        except _Changed:
            continue  # recomputed or published meanwhile: the next run looks again
    return published


class _Changed(Exception):
    """The row changed between reading it and writing it: roll back the audit entry with the rest."""


async def _publish_one(row_id: uuid.UUID, rules: RecordRules, today: date, now: datetime) -> int:
    async with write_transaction():
        rows = await Volunteer.raw(
            "SELECT s.id, s.volunteer, s.period, s.level, s.pending_level, s.publicity_ends_on, "
            "s.audited_minutes, g.path FROM star_level s JOIN volunteer v ON v.id = s.volunteer "
            "JOIN region g ON g.id = v.region WHERE s.id = {}",
            row_id,
        )
        if not rows or rows[0]["pending_level"] is None or as_date(rows[0]["publicity_ends_on"]) >= today:
            return 0
        row = rows[0]
        volunteer_id, period = as_uuid(row["volunteer"]), str(row["period"])
        total = (await _audited_minutes([volunteer_id], period != ALL, period)).get((volunteer_id, period), 0)
        current = _standing(row)
        after, steps = publish(current, level_for(total, rules.star_thresholds_h), today)
        # The audit log's lock first (as the transactions that change minutes take it), then the row.
        await _record_steps([(row_id, volunteer_id, period, total, steps, str(row["path"]))], now)
        moved = await Volunteer.raw(
            "UPDATE star_level SET level = {}, pending_level = {}, publicity_ends_on = {}, "
            "audited_minutes = {}, updated_at = {} WHERE id = {} AND level = {} AND pending_level = {} "
            "AND publicity_ends_on = {} AND audited_minutes = {} RETURNING id",
            after.level,
            after.pending_level,
            after.publicity_ends_on,
            total,
            now,
            row_id,
            current.level,
            current.pending_level,
            current.publicity_ends_on,
            int(row["audited_minutes"]),
        )
        if not moved:
            raise _Changed
        return 1 if any(s.kind is StarLevelEventKind.published for s in steps) else 0


# --- storage ---

PERIOD_FILTER = {False: f"period = '{ALL}'", True: f"period <> '{ALL}'"}


async def _audited_minutes(
    ids: Sequence[uuid.UUID], yearly: bool, only_period: str | None = None
) -> dict[tuple[uuid.UUID, str], int]:
    """One aggregate over the volunteers' audited records: minutes per (volunteer, period)."""
    if not yearly:
        rows = await Volunteer.raw(
            "SELECT volunteer, sum(credited_minutes) AS minutes FROM service_record "
            f"WHERE status = 'audited' AND volunteer IN ({_marks(len(ids))}) GROUP BY volunteer",
            *ids,
        )
        return {(as_uuid(r["volunteer"]), ALL): int(r["minutes"]) for r in rows}
    # The service date is the China date; its year is the period.
    year = (
        "CAST(EXTRACT(YEAR FROM service_date) AS INTEGER)"
        if engine().engine_type == "postgres"
        else "CAST(substr(service_date, 1, 4) AS INTEGER)"
    )
    args: list[object] = list(ids)
    where = ""
    if only_period is not None:
        where = " AND service_date >= {} AND service_date <= {}"
        args += [date(int(only_period), 1, 1), date(int(only_period), 12, 31)]
    rows = await Volunteer.raw(
        f"SELECT volunteer, {year} AS year, sum(credited_minutes) AS minutes FROM service_record "
        f"WHERE status = 'audited' AND volunteer IN ({_marks(len(ids))}){where} GROUP BY volunteer, {year}",
        *args,
    )
    return {(as_uuid(r["volunteer"]), str(int(r["year"]))): int(r["minutes"]) for r in rows}


async def _upsert(
    rows: Sequence[tuple[uuid.UUID, str, Standing, int]], now: datetime
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Insert or update star_level rows in a few statements; returns their ids."""
    ids: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for start in range(0, len(rows), _UPSERT_CHUNK):
        chunk = rows[start : start + _UPSERT_CHUNK]
        args: list[object] = []
        for volunteer_id, period, s, minutes in chunk:
            args += [uuid.uuid4(), volunteer_id, period, s.level, s.pending_level, s.publicity_ends_on]
            args += [minutes, now]
        values = ", ".join(["({}, {}, {}, {}, {}, {}, {}, {})"] * len(chunk))
        returned = await Volunteer.raw(
            "INSERT INTO star_level (id, volunteer, period, level, pending_level, publicity_ends_on, "
            f"audited_minutes, updated_at) VALUES {values} ON CONFLICT (volunteer, period) DO UPDATE SET "
            "level = excluded.level, pending_level = excluded.pending_level, "
            "publicity_ends_on = excluded.publicity_ends_on, audited_minutes = excluded.audited_minutes, "
            "updated_at = excluded.updated_at RETURNING id, volunteer, period",
            *args,
        )
        ids.update({(as_uuid(r["volunteer"]), str(r["period"])): as_uuid(r["id"]) for r in returned})
    return ids


async def _record_steps(
    changes: Iterable[tuple[uuid.UUID, uuid.UUID, str, int, list[Step], str]], now: datetime
) -> None:
    """History rows and audit-log entries (the system acts: no actor, no personal data)."""
    events = []
    for row_id, volunteer_id, period, minutes, steps, region_path in changes:
        for step in steps:
            events.append(
                StarLevelEvent(
                    volunteer=volunteer_id,
                    period=period,
                    kind=step.kind,
                    from_level=step.from_level,
                    to_level=step.to_level,
                    audited_minutes=minutes,
                    publicity_ends_on=step.publicity_ends_on,
                    at=now,
                )
            )
            detail: dict[str, object] = {
                "period": period,
                "from_level": step.from_level,
                "to_level": step.to_level,
                "audited_minutes": minutes,
            }
            if step.publicity_ends_on is not None:
                detail["publicity_ends_on"] = step.publicity_ends_on.isoformat()
            await audit_log.append(
                _ACTIONS[step.kind],
                actor=None,
                subject_type="star_level",
                subject_id=str(row_id),
                detail=detail,
                region_path=region_path,
                now=now,
            )
    if events:
        await StarLevelEvent.insert(*events)


def _standing(row: dict[str, Any]) -> Standing:
    pending = row["pending_level"]
    return Standing(
        level=int(row["level"]),
        pending_level=None if pending is None else int(pending),
        publicity_ends_on=None if row["publicity_ends_on"] is None else as_date(row["publicity_ends_on"]),
    )


def _marks(n: int) -> str:
    return ", ".join(["{}"] * n)
