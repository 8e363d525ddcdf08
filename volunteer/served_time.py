"""A volunteer's live records on some China days, with their time clipped to their sessions as settlement
credited it: what the daily cap (settlement) and the confirmation tiers (records) both count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from volunteer.db import as_datetime
from volunteer.hours import CHINA
from volunteer.tables import LIVE_SQL, ServiceRecord

_CHUNK = 1000  # volunteers per query


def china_days(start: datetime, end: datetime) -> list[date]:
    """The China dates an interval touches."""
    first, last = start.astimezone(CHINA).date(), max(start, end).astimezone(CHINA).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def live_records(
    volunteers: Sequence[object], first: date, last: date
) -> dict[str, list[dict[str, Any]]]:
    """Per volunteer (keyed by str(id)): live records overlapping China dates first..last, with the
    session times `clip` needs; one query per thousand volunteers."""
    since = datetime.combine(first, datetime.min.time(), CHINA).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), CHINA).astimezone(UTC)
    ids = list(dict.fromkeys(volunteers))
    by_volunteer: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await ServiceRecord.raw(
            "SELECT r.id, r.volunteer, r.started_at, r.ended_at, s.starts_at, s.ends_at "
            "FROM service_record r LEFT JOIN service_session s ON s.id = r.session "
            f"WHERE r.volunteer IN ({', '.join(['{}'] * len(chunk))}) "
            f"AND r.started_at < {{}} AND r.ended_at > {{}} AND r.status IN {LIVE_SQL}",
            *chunk,
            until,
            since,
        )
        for row in rows:
            by_volunteer.setdefault(str(row["volunteer"]), []).append(row)
    return by_volunteer


def clip(row: dict[str, Any]) -> tuple[datetime, datetime]:
    """Scanned time counts only inside its session."""
    start, end = as_datetime(row["started_at"]), as_datetime(row["ended_at"])
    if row["starts_at"] is not None:
        start, end = max(start, as_datetime(row["starts_at"])), min(end, as_datetime(row["ends_at"]))
    return start, max(start, end)
