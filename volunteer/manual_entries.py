"""Rule 19: manual entries (补录) need evidence and a second approver, and never exceed the session.

An entry waits in `awaiting_approval`, which no count, confirmation or audit takes: only another admin of
the organization, or an auditor covering it, moves it to `pending`, from where it follows the normal path
(the organization confirms, the auditor audits). The person who entered it can never approve it, whatever
roles they hold: that is the back-office hour-selling pattern. Rule 17: an entry made after the
10-working-day deadline needs a late reason, and only an auditor approves it.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from errors import (
    EVIDENCE_REQUIRED,
    LATE_ENTRY_NEEDS_AUDITOR,
    LATE_ENTRY_NEEDS_REASON,
    MANUAL_EXCEEDS_SESSION,
    MANUAL_NOT_AWAITING_APPROVAL,
    MANUAL_NOT_SIGNED_UP,
    MANUAL_SESSION_NOT_ENDED,
    OUT_OF_SCOPE,
    REASON_REQUIRED,
    RECORD_EXISTS,
    RECORD_NOT_FOUND,
    SECOND_APPROVER_REQUIRED,
    SESSION_NOT_FOUND,
    TIME_RANGE_INVALID,
    DomainError,
    require_text,
)
from volunteer import notifications
from volunteer.access import Principal
from volunteer.db import as_datetime, as_str_list, as_uuid, as_uuid_or_none, engine, write_transaction
from volunteer.hours import CHINA, credited_minutes
from volunteer.manual_schemas import ManualEntryIn, ManualRecordOut
from volunteer.record_rules import RecordRules
from volunteer.records import log_record
from volunteer.tables import RecordSource, RecordStatus, Role, ServiceRecord

# A file reference: a stored object or a URL ("oss://bucket/photo1.jpg", "https://.../sheet.pdf").
_REFERENCE = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
# Sign-ups that make a manual entry possible: settlement marks an approved volunteer who never scanned
# as no_show, and that is exactly whom a 补录 is for.
_ENTITLED_SIGNUPS = "('approved', 'no_show')"
_HOLDING = "('awaiting_approval', 'pending', 'confirmed', 'audited')"  # a record already standing


def clean_evidence(evidence: list[str]) -> list[str]:
    references = [e.strip() for e in evidence if e.strip()]
    if not references or not all(_REFERENCE.fullmatch(e) for e in references):
        raise DomainError(EVIDENCE_REQUIRED)
    return list(dict.fromkeys(references))


async def enter(actor: Principal, entry: ManualEntryIn, rules: RecordRules, now: datetime) -> ManualRecordOut:
    reason = require_text(entry.reason, REASON_REQUIRED)
    evidence = clean_evidence(entry.evidence)
    started, ended = entry.started_at.astimezone(UTC), entry.ended_at.astimezone(UTC)
    if started >= ended:
        raise DomainError(TIME_RANGE_INVALID)
    session = await _session(entry.session_id)
    if session is None:
        raise DomainError(SESSION_NOT_FOUND)
    organization = as_uuid(session["organization"])
    if not (actor.administers(organization) or actor.covers(Role.auditor, session["region_path"])):
        raise DomainError(OUT_OF_SCOPE)
    starts, ends = as_datetime(session["starts_at"]), as_datetime(session["ends_at"])
    if ends > now:
        raise DomainError(MANUAL_SESSION_NOT_ENDED)
    if started < starts or ended > ends:
        raise DomainError(
            MANUAL_EXCEEDS_SESSION, {"starts_at": starts.isoformat(), "ends_at": ends.isoformat()}
        )
    late_reason = (entry.late_reason or "").strip() or None
    deadline = rules.calendar.deadline(ends, rules.deadline_workdays)
    late = now > deadline
    if late and late_reason is None:
        raise DomainError(LATE_ENTRY_NEEDS_REASON, {"deadline": deadline.isoformat()})
    if not late:
        late_reason = None
    minutes = credited_minutes(started, ended, starts, ends)
    record_id = uuid.uuid4()
    async with write_transaction():
        if not await _signed_up(entry.session_id, entry.volunteer_id):
            raise DomainError(MANUAL_NOT_SIGNED_UP)
        holding = await ServiceRecord.raw(
            "SELECT id FROM service_record WHERE session = {} AND volunteer = {} "
            f"AND status IN {_HOLDING}",
            entry.session_id,
            entry.volunteer_id,
        )
        if holding:
            raise DomainError(RECORD_EXISTS, {"record_id": str(as_uuid(holding[0]["id"]))})
        await ServiceRecord.raw(
            "INSERT INTO service_record (id, volunteer, organization, project, session, activity_name, "
            "service_date, place, content, started_at, ended_at, credited_minutes, person_in_charge, "
            "recorder, source, status, verified, flags, settlement_key, created_at, supersedes, version, "
            "reason, evidence, approved_by, late_reason, status_reason) VALUES ({}, {}, {}, {}, {}, {}, {}, "
            "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, NULL, {}, NULL, 1, {}, {}, NULL, {}, NULL)",
            record_id,
            entry.volunteer_id,
            organization,
            session["project_id"],
            entry.session_id,
            session["title"],
            started.astimezone(CHINA).date(),
            session["address"],
            (entry.content or "").strip() or session["description"],
            started,
            ended,
            minutes,
            session["person_in_charge"],
            actor.account_id,
            RecordSource.manual.value,
            RecordStatus.awaiting_approval.value,
            False,  # entered by hand: not verified (荣誉时长), whoever approves it
            "[]",
            now,
            reason,
            json.dumps(evidence, ensure_ascii=False),
            late_reason,
        )
        detail: dict[str, object] = {
            "status_to": RecordStatus.awaiting_approval.value,
            "credited_minutes": minutes,
            "session_id": str(entry.session_id),
            "evidence_count": len(evidence),
            "late": late,
        }
        await log_record("record.manual_enter", actor, record_id, session["region_path"], detail, now)
        # Who must approve hears of it: the organization's admins, or for a late entry the auditors.
        await notifications.notify(
            "record.manual_awaiting_approval",
            title="有补录的服务记录待审批",
            body=f"“{session['title']}”有一条补录记录（{minutes}分钟）待审批，须由录入人以外的人员审批。",
            now=now,
            organization=None if late else organization,
            region_path=session["region_path"] if late else None,
            detail={"record_id": str(record_id), "late": late},
        )
    return await one(record_id)


async def approve(actor: Principal, record_id: uuid.UUID, now: datetime) -> ManualRecordOut:
    async with write_transaction():
        record = await _decidable(actor, record_id)
        as_auditor = actor.covers(Role.auditor, record["region_path"])
        if record["late_reason"] is not None and not as_auditor:
            raise DomainError(LATE_ENTRY_NEEDS_AUDITOR)
        moved = await ServiceRecord.raw(
            "UPDATE service_record SET status = 'pending', approved_by = {} "
            "WHERE id = {} AND status = 'awaiting_approval' AND recorder <> {} RETURNING id",
            actor.account_id,
            record_id,
            actor.account_id,
        )
        if not moved:
            raise DomainError(MANUAL_NOT_AWAITING_APPROVAL)
        detail: dict[str, object] = {
            "status_from": RecordStatus.awaiting_approval.value,
            "status_to": RecordStatus.pending.value,
            "credited_minutes": int(record["credited_minutes"]),
            "approved_as": "auditor" if as_auditor else "organization",
            "late": record["late_reason"] is not None,
        }
        await log_record("record.manual_approve", actor, record_id, record["region_path"], detail, now)
    return await one(record_id)


async def reject(actor: Principal, record_id: uuid.UUID, reason: str, now: datetime) -> ManualRecordOut:
    reason = require_text(reason, REASON_REQUIRED)
    async with write_transaction():
        record = await _decidable(actor, record_id)
        moved = await ServiceRecord.raw(
            "UPDATE service_record SET status = 'rejected', status_reason = {}, approved_by = {} "
            "WHERE id = {} AND status = 'awaiting_approval' AND recorder <> {} RETURNING id",
            reason,
            actor.account_id,
            record_id,
            actor.account_id,
        )
        if not moved:
            raise DomainError(MANUAL_NOT_AWAITING_APPROVAL)
        detail: dict[str, object] = {
            "status_from": RecordStatus.awaiting_approval.value,
            "status_to": RecordStatus.rejected.value,
            "credited_minutes": int(record["credited_minutes"]),
            "reason": reason,
        }
        await log_record("record.manual_reject", actor, record_id, record["region_path"], detail, now)
    return await one(record_id)


async def _decidable(actor: Principal, record_id: uuid.UUID) -> dict[str, Any]:
    """The manual entry the actor may decide: in scope, still awaiting approval, entered by someone else."""
    rows = await ServiceRecord.raw(
        "SELECT r.id, r.organization, r.source, r.status, r.recorder, r.late_reason, r.credited_minutes, "
        "g.path AS region_path FROM service_record r JOIN organization o ON o.id = r.organization "
        "JOIN region g ON g.id = o.region WHERE r.id = {}",
        record_id,
    )
    if not rows:
        raise DomainError(RECORD_NOT_FOUND)
    record: dict[str, Any] = rows[0]
    organization = as_uuid(record["organization"])
    if not (actor.administers(organization) or actor.covers(Role.auditor, record["region_path"])):
        raise DomainError(OUT_OF_SCOPE)
    if record["source"] != RecordSource.manual or record["status"] != RecordStatus.awaiting_approval:
        raise DomainError(MANUAL_NOT_AWAITING_APPROVAL)
    if as_uuid_or_none(record["recorder"]) == actor.account_id:
        raise DomainError(SECOND_APPROVER_REQUIRED)
    return record


async def one(record_id: uuid.UUID) -> ManualRecordOut:
    rows = await ServiceRecord.raw(
        "SELECT id, volunteer, organization, session, started_at, ended_at, credited_minutes, status, "
        "verified, evidence, reason, late_reason, status_reason, recorder, approved_by "
        "FROM service_record WHERE id = {}",
        record_id,
    )
    if not rows:
        raise DomainError(RECORD_NOT_FOUND)
    r = rows[0]
    return ManualRecordOut(
        id=as_uuid(r["id"]),
        volunteer_id=as_uuid(r["volunteer"]),
        organization_id=as_uuid(r["organization"]),
        session_id=as_uuid_or_none(r["session"]),
        started_at=as_datetime(r["started_at"]),
        ended_at=as_datetime(r["ended_at"]),
        credited_minutes=int(r["credited_minutes"]),
        status=str(r["status"]),
        verified=bool(r["verified"]),
        evidence=as_str_list(r["evidence"]),
        reason=r["reason"],
        late_reason=r["late_reason"],
        status_reason=r["status_reason"],
        recorder=as_uuid_or_none(r["recorder"]),
        approved_by=as_uuid_or_none(r["approved_by"]),
    )


async def _session(session_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await ServiceRecord.raw(
        "SELECT s.id, s.starts_at, s.ends_at, p.id AS project_id, p.organization, p.title, p.address, "
        "p.description, p.person_in_charge, g.path AS region_path FROM service_session s "
        "JOIN project p ON p.id = s.project JOIN organization o ON o.id = p.organization "
        "JOIN region g ON g.id = o.region WHERE s.id = {}",
        session_id,
    )
    return rows[0] if rows else None


async def _signed_up(session_id: uuid.UUID, volunteer_id: uuid.UUID) -> bool:
    """Also takes the sign-ups' row locks on PostgreSQL, so two racing entries for one volunteer and
    session queue here and the second finds the first's record (SQLite serializes writers already)."""
    lock = " FOR UPDATE" if engine().engine_type == "postgres" else ""
    rows = await ServiceRecord.raw(
        "SELECT id FROM signup WHERE session = {} AND volunteer = {} "
        f"AND status IN {_ENTITLED_SIGNUPS}{lock}",
        session_id,
        volunteer_id,
    )
    return bool(rows)
