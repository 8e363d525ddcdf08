"""Rule 18: records are never edited in place. A correction marks the version it replaces `superseded` and
inserts the next version pointing to it; an auditor may revoke audited minutes. Either way minutes that were
audited are withdrawn, and the certificates and star level that counted them follow in the same transaction.

Refusals: a staff member acting on a record outside their organization or region gets OUT_OF_SCOPE; anyone
who may not see a record's versions gets FORBIDDEN.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from errors import (
    CORRECTION_NO_CHANGE,
    FORBIDDEN,
    OUT_OF_SCOPE,
    REASON_REQUIRED,
    RECORD_CHANGED,
    RECORD_NOT_CORRECTABLE,
    RECORD_NOT_FOUND,
    RECORD_NOT_REVOCABLE,
    TIME_RANGE_INVALID,
    DomainError,
    require_text,
)
from volunteer import audited_hours
from volunteer.access import Principal
from volunteer.correction_schemas import VersionOut
from volunteer.db import (
    as_date,
    as_datetime,
    as_uuid,
    as_uuid_or_none,
    is_unique_violation,
    write_transaction,
)
from volunteer.hours import CHINA, MINUTE, credited_minutes
from volunteer.record_rules import RecordRules
from volunteer.records import log_record
from volunteer.tables import LIVE_STATUSES, RecordSource, RecordStatus, Role, ServiceRecord

_RECORD = (
    "SELECT r.*, g.path AS region_path, v.account AS volunteer_account, "
    "s.starts_at AS session_starts_at, s.ends_at AS session_ends_at FROM service_record r "
    "JOIN organization o ON o.id = r.organization JOIN region g ON g.id = o.region "
    "JOIN volunteer v ON v.id = r.volunteer LEFT JOIN service_session s ON s.id = r.session "
    "WHERE r.id = {}"
)
_CHAIN = (
    "WITH RECURSIVE up(id, supersedes) AS ("
    "SELECT id, supersedes FROM service_record WHERE id = {} UNION "
    "SELECT r.id, r.supersedes FROM service_record r JOIN up ON r.id = up.supersedes), "
    "down(id) AS (SELECT id FROM service_record WHERE id = {} UNION "
    "SELECT r.id FROM service_record r JOIN down ON r.supersedes = down.id) "
    "SELECT * FROM service_record WHERE id IN (SELECT id FROM up UNION SELECT id FROM down) "
    "ORDER BY version"
)
_NEW_VERSION_COLUMNS = (
    "id, volunteer, organization, project, session, activity_name, service_date, place, content, started_at, "
    "ended_at, credited_minutes, person_in_charge, recorder, source, status, verified, flags, created_at, "
    "supersedes, version, reason, evidence, late_reason"
)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a correction sets; None leaves the field as the old version had it."""

    started_at: datetime | None = None
    ended_at: datetime | None = None
    activity_name: str | None = None
    place: str | None = None
    content: str | None = None


async def correct(
    actor: Principal,
    record_id: uuid.UUID,
    changes: Changes,
    reason: str | None,
    rules: RecordRules,
    now: datetime,
) -> VersionOut:
    """The recording organization's admin, or an auditor of its region, corrects a live record."""
    why = require_text(reason, REASON_REQUIRED)
    async with write_transaction():
        record = await load_record(record_id)
        if not (actor.administers(as_uuid(record["organization"])) or _audits(actor, record)):
            raise DomainError(OUT_OF_SCOPE)
        new_id = await supersede(actor, record, changes, why, rules, now)
        return _version(await _row(new_id))


async def supersede(
    actor: Principal,
    record: dict[str, Any],
    changes: Changes,
    reason: str,
    rules: RecordRules,
    now: datetime,
) -> uuid.UUID:
    """Inside the caller's write transaction, after its scope check: replace `record` by its next version."""
    old_status = RecordStatus(record["status"])
    if old_status not in LIVE_STATUSES:
        raise DomainError(RECORD_NOT_CORRECTABLE)
    revised = _revised(record, changes)
    if not revised:
        raise DomainError(CORRECTION_NO_CHANGE)
    start = revised.get("started_at", as_datetime(record["started_at"]))
    end = revised.get("ended_at", as_datetime(record["ended_at"]))
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if end <= start:
        raise DomainError(TIME_RANGE_INVALID)
    retimed = "started_at" in revised or "ended_at" in revised
    # Unchanged times keep the minutes settlement credited (it may have capped them for the day).
    minutes = _minutes(record, start, end) if retimed else int(record["credited_minutes"])
    old_id = as_uuid(record["id"])
    # Conditional on the status just read: if it moved meanwhile (confirmed, audited, corrected), the
    # caller decided on a stale version, and whether audited minutes must be withdrawn is no longer known.
    moved = await ServiceRecord.raw(
        "UPDATE service_record SET status = 'superseded' WHERE id = {} AND status = {} RETURNING id",
        old_id,
        old_status.value,
    )
    if not moved:
        raise DomainError(RECORD_CHANGED)
    new_id = uuid.uuid4()
    version = int(record["version"]) + 1
    values = (
        new_id,
        as_uuid(record["volunteer"]),
        as_uuid(record["organization"]),
        as_uuid(record["project"]),
        as_uuid_or_none(record["session"]),
        revised.get("activity_name", record["activity_name"]),
        start.astimezone(CHINA).date(),
        revised.get("place", record["place"]),
        revised.get("content", record["content"]),
        start,
        end,
        minutes,
        record["person_in_charge"],
        actor.account_id,
        RecordSource.correction.value,
        RecordStatus.pending.value,  # confirmed, and audited, again
        bool(record["verified"]) and not retimed,  # hand-set time is not scan-verified
        _json_text(record["flags"]),
        now,
        old_id,
        version,
        reason,
        _json_text(record["evidence"]),
        record["late_reason"],
    )
    try:
        await ServiceRecord.raw(
            f"INSERT INTO service_record ({_NEW_VERSION_COLUMNS}) VALUES ({', '.join(['{}'] * len(values))})",
            *values,
        )
    except Exception as exc:
        # service_record_one_successor: a racing correction already replaced this version.
        if is_unique_violation(exc, "one_successor") or is_unique_violation(exc, "supersedes"):
            raise DomainError(RECORD_CHANGED) from exc
        raise
    detail = {
        "supersedes": str(old_id),
        "version": version,
        "status_from": old_status.value,
        "minutes_from": int(record["credited_minutes"]),
        "minutes_to": minutes,
        "changed": sorted(revised),
        "reason": reason,
    }
    await log_record("record.correct", actor, new_id, record["region_path"], detail, now)
    if old_status is RecordStatus.audited:
        await audited_hours.withdrawn(
            [(old_id, as_uuid(record["volunteer"]))], reason, actor.account_id, rules, now
        )
    return new_id


async def revoke(
    actor: Principal, record_id: uuid.UUID, reason: str | None, rules: RecordRules, now: datetime
) -> VersionOut:
    """An auditor of the record's region withdraws audited minutes: certificates and star level follow."""
    why = require_text(reason, REASON_REQUIRED)
    async with write_transaction():
        record = await load_record(record_id)
        if not _audits(actor, record):
            raise DomainError(OUT_OF_SCOPE)
        moved = await ServiceRecord.raw(
            "UPDATE service_record SET status = 'revoked', status_reason = {} "
            "WHERE id = {} AND status = 'audited' RETURNING id",
            why,
            record_id,
        )
        if not moved:
            raise DomainError(RECORD_NOT_REVOCABLE)
        detail = {
            "status_from": RecordStatus.audited.value,
            "status_to": RecordStatus.revoked.value,
            "credited_minutes": int(record["credited_minutes"]),
            "reason": why,
        }
        await log_record("record.revoke", actor, record_id, record["region_path"], detail, now)
        await audited_hours.withdrawn(
            [(record_id, as_uuid(record["volunteer"]))], why, actor.account_id, rules, now
        )
        return _version(await _row(record_id))


async def versions(actor: Principal, record_id: uuid.UUID) -> list[VersionOut]:
    """The whole chain this record belongs to, oldest first: for its volunteer, the recording organization's
    admins and the auditors of its region."""
    record = await load_record(record_id)
    if not may_see(actor, record):
        raise DomainError(FORBIDDEN)
    rows = await ServiceRecord.raw(_CHAIN, record_id, record_id)
    return [_version(r) for r in rows]


def may_see(actor: Principal, record: dict[str, Any]) -> bool:
    return (
        as_uuid_or_none(record["volunteer_account"]) == actor.account_id
        or actor.administers(as_uuid(record["organization"]))
        or _audits(actor, record)
    )


async def load_record(record_id: uuid.UUID) -> dict[str, Any]:
    """The record with what its rules need: region, the volunteer's account, the session's times."""
    rows = await ServiceRecord.raw(_RECORD, record_id)
    if not rows:
        raise DomainError(RECORD_NOT_FOUND)
    row: dict[str, Any] = rows[0]
    return row


def _audits(actor: Principal, record: dict[str, Any]) -> bool:
    return actor.covers(Role.auditor, record["region_path"])


def _revised(record: dict[str, Any], changes: Changes) -> dict[str, object]:
    """The fields the correction really changes, with their new values."""
    old: dict[str, object] = {
        "started_at": as_datetime(record["started_at"]),
        "ended_at": as_datetime(record["ended_at"]),
        "activity_name": record["activity_name"],
        "place": record["place"],
        "content": record["content"],
    }
    revised: dict[str, object] = {}
    for name, value in asdict(changes).items():
        if isinstance(value, str):
            value = value.strip() or None
        elif isinstance(value, datetime):
            value = value.astimezone(UTC)  # stored in UTC: SQLite compares timestamps as text
        if value is not None and value != old[name]:
            revised[name] = value
    return revised


def _minutes(record: dict[str, Any], start: datetime, end: datetime) -> int:
    """Whole minutes served; a session's record never counts time outside the session."""
    if record["session_starts_at"] is None:
        return max((end - start) // MINUTE, 0)
    return credited_minutes(
        start, end, as_datetime(record["session_starts_at"]), as_datetime(record["session_ends_at"])
    )


async def _row(record_id: uuid.UUID) -> dict[str, Any]:
    rows = await ServiceRecord.raw("SELECT * FROM service_record WHERE id = {}", record_id)
    row: dict[str, Any] = rows[0]
    return row


def _version(row: dict[str, Any]) -> VersionOut:
    return VersionOut(
        id=as_uuid(row["id"]),
        version=int(row["version"]),
        status=RecordStatus(row["status"]),
        source=RecordSource(row["source"]),
        verified=bool(row["verified"]),
        supersedes=as_uuid_or_none(row["supersedes"]),
        activity_name=row["activity_name"],
        service_date=as_date(row["service_date"]),
        place=row["place"],
        started_at=as_datetime(row["started_at"]),
        ended_at=as_datetime(row["ended_at"]),
        credited_minutes=int(row["credited_minutes"]),
        reason=row["reason"],
        status_reason=row["status_reason"],
        recorder_id=as_uuid_or_none(row["recorder"]),
        created_at=as_datetime(row["created_at"]),
    )


def _json_text(value: object) -> str:
    """JSON columns come back as text on both engines' raw queries, or parsed: write them back as text."""
    return value if isinstance(value, str) else json.dumps(value)
