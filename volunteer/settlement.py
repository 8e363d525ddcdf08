"""Settling an ended session (rules 13-16): close missing check-outs, mark no-shows, write service records.

One transaction per session, so a run killed halfway leaves nothing behind, and every step is keyed
(system check-outs by nonce, records by settlement_key, the session by settled_at), so running it
again changes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from volunteer.db import as_datetime, as_str_list, as_uuid, write_transaction
from volunteer.hours import CHINA, Served, credit_by_day, credited_minutes
from volunteer.served_time import china_days, clip, live_records
from volunteer.tables import RecordSource, ScanMethod, ServiceSession


@dataclass(frozen=True, slots=True)
class Settled:
    session_id: uuid.UUID
    records: int
    closed_check_outs: int
    no_shows: int


async def sessions_due(now: datetime, grace: timedelta, *, limit: int = 1000) -> list[uuid.UUID]:
    """Sessions that ended (plus the check-out grace) and have not been settled."""
    rows = await ServiceSession.raw(
        "SELECT id FROM service_session WHERE settled_at IS NULL AND ends_at <= {} ORDER BY ends_at LIMIT {}",
        now - grace,
        limit,
    )
    return [as_uuid(r["id"]) for r in rows]


async def settle_session(session_id: uuid.UUID, now: datetime, *, daily_cap: int = 1440) -> Settled | None:
    async with write_transaction():
        session = await _session(session_id)
        if session is None or session["settled_at"] is not None:
            return None
        closed = await _close_missing_check_outs(session, now)
        no_shows = await _mark_no_shows(session_id)
        pairs = await _attendance(session_id)
        earlier = await _same_days_records([p["volunteer"] for p in pairs], session)
        rows = [
            _record_row(session, pair, earlier.get(str(pair["volunteer"]), []), now, daily_cap)
            for pair in pairs
        ]
        records = await _insert_records(rows)
        await ServiceSession.raw(
            "UPDATE service_session SET settled_at = {} WHERE id = {} AND settled_at IS NULL", now, session_id
        )
    return Settled(session_id, records, closed, no_shows)


async def _session(session_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await ServiceSession.raw(
        "SELECT s.id, s.starts_at, s.ends_at, s.settled_at, p.id AS project_id, p.organization, p.title, "
        "p.address, p.description, p.person_in_charge "
        "FROM service_session s JOIN project p ON p.id = s.project WHERE s.id = {}",
        session_id,
    )
    return rows[0] if rows else None


async def _close_missing_check_outs(session: dict[str, Any], now: datetime) -> int:
    """Rule 14: a check-in without a check-out is closed at session end, flagged for the organization."""
    open_rows = await ServiceSession.raw(
        "SELECT ci.volunteer FROM scan ci WHERE ci.session = {} AND ci.kind = 'check_in' AND ci.accepted "
        "AND NOT EXISTS (SELECT 1 FROM scan co WHERE co.session = ci.session AND co.volunteer = ci.volunteer "
        "AND co.kind = 'check_out' AND co.accepted)",
        session["id"],
    )
    for row in open_rows:
        await ServiceSession.raw(
            "INSERT INTO scan (id, scanned_by, nonce, body_hash, session, volunteer, kind, method, offline, "
            "accepted, server_time, effective_time, flags) "
            "VALUES ({}, NULL, {}, '', {}, {}, 'check_out', {}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING",
            uuid.uuid4(),
            _close_nonce(session["id"], row["volunteer"]),
            session["id"],
            row["volunteer"],
            ScanMethod.system_close,
            False,
            True,
            now,
            session["ends_at"],
            json.dumps(["missing_checkout"]),
        )
    return len(open_rows)


def _close_nonce(session_id: object, volunteer_id: object) -> str:
    """Fits the nonce column; the unique accepted check-out per volunteer is what prevents a second one."""
    return "auto-close:" + uuid.uuid5(uuid.NAMESPACE_URL, f"{session_id}/{volunteer_id}").hex


async def _mark_no_shows(session_id: uuid.UUID) -> int:
    """Rule 15: signed up, approved, never checked in, never cancelled."""
    marked = await ServiceSession.raw(
        "UPDATE signup SET status = 'no_show' WHERE session = {} AND status = 'approved' "
        "AND NOT EXISTS (SELECT 1 FROM scan sc WHERE sc.session = signup.session "
        "AND sc.volunteer = signup.volunteer AND sc.kind = 'check_in' AND sc.accepted) RETURNING id",
        session_id,
    )
    return len(marked)


async def _attendance(session_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ServiceSession.raw(  # type: ignore[no-any-return]
        "SELECT ci.volunteer, ci.effective_time AS checked_in, co.effective_time AS checked_out, "
        "ci.offline AS in_offline, co.offline AS out_offline, ci.flags AS in_flags, co.flags AS out_flags "
        "FROM scan ci JOIN scan co ON co.session = ci.session AND co.volunteer = ci.volunteer "
        "AND co.kind = 'check_out' AND co.accepted "
        "WHERE ci.session = {} AND ci.kind = 'check_in' AND ci.accepted",
        session_id,
    )


_RECORD_COLUMNS = (
    "id, volunteer, organization, project, session, activity_name, service_date, place, content, "
    "started_at, ended_at, credited_minutes, person_in_charge, source, status, verified, flags, "
    "settlement_key, created_at"
)
_BATCH = 200  # rows per INSERT: 19 parameters each, well under PostgreSQL's 32767


def _record_row(
    session: dict[str, Any],
    pair: dict[str, Any],
    earlier: list[dict[str, Any]],
    now: datetime,
    daily_cap: int,
) -> tuple[object, ...]:
    """The service record of one volunteer's check-in and check-out, minutes computed by the server."""
    starts, ends = as_datetime(session["starts_at"]), as_datetime(session["ends_at"])
    checked_in, checked_out = as_datetime(pair["checked_in"]), as_datetime(pair["checked_out"])
    start, end = max(checked_in, starts), min(checked_out, ends)
    own = credited_minutes(checked_in, checked_out, starts, ends)
    flags = sorted(set(as_str_list(pair["in_flags"]) + as_str_list(pair["out_flags"])))
    credited = own
    if own > 0 and earlier:
        if any(as_datetime(r["started_at"]) < end and start < as_datetime(r["ended_at"]) for r in earlier):
            flags.append("overlapping_sessions")
        credited = _marginal_minutes(earlier, start, end, daily_cap)
        if credited < own and "overlapping_sessions" not in flags:
            flags.append("over_daily_cap")
    source = RecordSource.offline_scan if pair["in_offline"] or pair["out_offline"] else RecordSource.scan
    return (
        uuid.uuid4(),
        pair["volunteer"],
        session["organization"],
        session["project_id"],
        session["id"],
        session["title"],
        checked_in.astimezone(CHINA).date(),
        session["address"],
        session["description"],
        checked_in,
        checked_out,
        credited,
        session["person_in_charge"],
        source,
        "pending",
        True,  # computed from scans: verified (信用时长)
        json.dumps(flags),
        f"{session['id']}:{pair['volunteer']}",
        now,
    )


async def _insert_records(rows: list[tuple[object, ...]]) -> int:
    inserted = 0
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        values = ", ".join("(" + ", ".join(["{}"] * len(chunk[0])) + ")" for _ in chunk)
        result = await ServiceSession.raw(
            f"INSERT INTO service_record ({_RECORD_COLUMNS}) VALUES {values} "
            "ON CONFLICT DO NOTHING RETURNING id",
            *[value for row in chunk for value in row],
        )
        inserted += len(result)
    return inserted


async def _same_days_records(
    volunteers: list[object], session: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Earlier records on the session's China days, per volunteer: the daily cap counts their minutes."""
    if not volunteers:
        return {}
    days = china_days(as_datetime(session["starts_at"]), as_datetime(session["ends_at"]))
    return await live_records(volunteers, days[0], days[-1])


def _marginal_minutes(earlier: list[dict[str, Any]], start: datetime, end: datetime, cap: int) -> int:
    """What the new interval adds under the daily cap, given what earlier records already credit:
    time already counted is not counted twice, and no China day goes over the cap."""
    served: list[Served] = [Served(r["id"], *clip(r)) for r in earlier]
    before = sum(credit_by_day(served, cap).values())
    new_key: Hashable = "new"
    after = sum(credit_by_day([*served, Served(new_key, start, end)], cap).values())
    return max(0, after - before)
