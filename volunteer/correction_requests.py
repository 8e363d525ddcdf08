"""Rule 18: a volunteer asks the recording organization to correct a record, and the organization must
answer: accepting makes the correction (a new version), declining says why. Requests are never deleted, so
the whole exchange stays; one open request per record at a time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from errors import (
    ANSWER_REQUIRED,
    CORRECTION_REQUEST_NOT_FOUND,
    CORRECTION_REQUEST_OPEN,
    OUT_OF_SCOPE,
    REASON_REQUIRED,
    RECORD_NOT_CORRECTABLE,
    RECORD_NOT_FOUND,
    TIME_RANGE_INVALID,
    DomainError,
    require_text,
)
from volunteer import audit_log, corrections, notifications
from volunteer.access import Principal
from volunteer.correction_schemas import AnswerIn, CorrectionRequestIn, CorrectionRequestOut
from volunteer.corrections import Changes
from volunteer.db import (
    as_datetime,
    as_datetime_or_none,
    as_uuid,
    as_uuid_or_none,
    is_unique_violation,
    write_transaction,
)
from volunteer.organizations import region_path_of
from volunteer.profiles import volunteer_of
from volunteer.record_rules import RecordRules
from volunteer.tables import LIVE_STATUSES, CorrectionRequest, CorrectionRequestStatus, RecordStatus, Role

_SELECT = (
    "SELECT q.*, r.activity_name, r.service_date FROM correction_request q "
    "JOIN service_record r ON r.id = q.record "
)
_COLUMNS = (
    "id, record, volunteer, organization, requested_by, message, proposed_started_at, proposed_ended_at, "
    "status, created_at"
)


async def request(
    actor: Principal, record_id: uuid.UUID, data: CorrectionRequestIn, now: datetime
) -> CorrectionRequestOut:
    """The volunteer asks about one of their own live records; someone else's record is not found."""
    message = require_text(data.message, REASON_REQUIRED)
    volunteer = await volunteer_of(actor.account_id)
    async with write_transaction():
        record = await corrections.load_record(record_id)
        if as_uuid(record["volunteer"]) != as_uuid(volunteer["id"]):
            raise DomainError(RECORD_NOT_FOUND)
        if RecordStatus(record["status"]) not in LIVE_STATUSES:
            raise DomainError(RECORD_NOT_CORRECTABLE)
        start = data.proposed_started_at or as_datetime(record["started_at"])
        end = data.proposed_ended_at or as_datetime(record["ended_at"])
        if end <= start:
            raise DomainError(TIME_RANGE_INVALID)
        request_id = uuid.uuid4()
        values = (
            request_id,
            record_id,
            as_uuid(record["volunteer"]),
            as_uuid(record["organization"]),
            actor.account_id,
            message,
            _utc(data.proposed_started_at),
            _utc(data.proposed_ended_at),
            CorrectionRequestStatus.open.value,
            now,
        )
        try:
            await CorrectionRequest.raw(
                f"INSERT INTO correction_request ({_COLUMNS}) VALUES ({', '.join(['{}'] * len(values))})",
                *values,
            )
        except Exception as exc:
            # correction_request_one_open: the organization answers before the next request.
            if is_unique_violation(exc, "correction_request"):
                raise DomainError(CORRECTION_REQUEST_OPEN) from exc
            raise
        await notifications.notify(
            "correction_request.new",
            title="志愿者申请更正服务记录",
            body=f"志愿者对{record['service_date']}“{record['activity_name']}”的服务记录提出更正申请，请及时答复。",
            now=now,
            organization=as_uuid(record["organization"]),
            detail={"request_id": str(request_id), "record_id": str(record_id)},
            key=f"correction-request:{request_id}",
        )
        return await _one(request_id)


async def mine(actor: Principal) -> list[CorrectionRequestOut]:
    volunteer = await volunteer_of(actor.account_id)
    rows = await CorrectionRequest.raw(
        _SELECT + "WHERE q.volunteer = {} ORDER BY q.created_at DESC, q.id", volunteer["id"]
    )
    return [_out(r) for r in rows]


async def for_organization(
    actor: Principal, org_id: uuid.UUID, status: CorrectionRequestStatus | None
) -> list[CorrectionRequestOut]:
    """The organization's admins and the auditors of its region see its requests, oldest open first."""
    region_path = await region_path_of(org_id)
    if not (actor.administers(org_id) or actor.covers(Role.auditor, region_path)):
        raise DomainError(OUT_OF_SCOPE)
    if status is None:
        rows = await CorrectionRequest.raw(
            _SELECT + "WHERE q.organization = {} ORDER BY q.created_at, q.id", org_id
        )
    else:
        rows = await CorrectionRequest.raw(
            _SELECT + "WHERE q.organization = {} AND q.status = {} ORDER BY q.created_at, q.id",
            org_id,
            status.value,
        )
    return [_out(r) for r in rows]


async def answer(
    actor: Principal, request_id: uuid.UUID, data: AnswerIn, rules: RecordRules, now: datetime
) -> CorrectionRequestOut:
    """An admin of the recording organization answers once: accepting corrects the record (the answer is the
    correction's reason, the proposed times its default), declining keeps the record as it is."""
    text = require_text(data.answer, ANSWER_REQUIRED)
    async with write_transaction():
        rows = await CorrectionRequest.raw("SELECT * FROM correction_request WHERE id = {}", request_id)
        if not rows:
            raise DomainError(CORRECTION_REQUEST_NOT_FOUND)
        asked = rows[0]
        if not actor.administers(as_uuid(asked["organization"])):
            raise DomainError(OUT_OF_SCOPE)
        if asked["status"] != CorrectionRequestStatus.open:
            raise DomainError(CORRECTION_REQUEST_NOT_FOUND)
        record = await corrections.load_record(as_uuid(asked["record"]))
        correction: uuid.UUID | None = None
        if data.accept:
            changes = Changes(
                started_at=data.started_at or as_datetime_or_none(asked["proposed_started_at"]),
                ended_at=data.ended_at or as_datetime_or_none(asked["proposed_ended_at"]),
                activity_name=data.activity_name,
                place=data.place,
                content=data.content,
            )
            correction = await corrections.supersede(actor, record, changes, text, rules, now)
        status = CorrectionRequestStatus.accepted if data.accept else CorrectionRequestStatus.declined
        moved = await CorrectionRequest.raw(
            "UPDATE correction_request SET status = {}, answer = {}, answered_by = {}, answered_at = {}, "
            "correction = {} WHERE id = {} AND status = 'open' RETURNING id",
            status.value,
            text,
            actor.account_id,
            now,
            correction,
            request_id,
        )
        if not moved:
            raise DomainError(CORRECTION_REQUEST_NOT_FOUND)
        detail = {
            "status_to": status.value,
            "record": str(as_uuid(asked["record"])),
            "correction": None if correction is None else str(correction),
        }
        await audit_log.append(
            "correction_request.answer",
            actor=actor.account_id,
            subject_type="correction_request",
            subject_id=str(request_id),
            detail=detail,
            region_path=record["region_path"],
            now=now,
        )
        if record["volunteer_account"] is not None:
            verdict = "已同意并更正记录" if data.accept else "未同意更正"
            await notifications.notify(
                "correction_request.answered",
                title=f"您的更正申请{verdict}",
                body=f"“{record['activity_name']}”的更正申请：{verdict}。答复：{text}",
                now=now,
                account=as_uuid(record["volunteer_account"]),
                detail={"request_id": str(request_id), "status": status.value},
                key=f"correction-request-answered:{request_id}",
            )
        return await _one(request_id)


async def _one(request_id: uuid.UUID) -> CorrectionRequestOut:
    rows = await CorrectionRequest.raw(_SELECT + "WHERE q.id = {}", request_id)
    return _out(rows[0])


def _out(row: dict[str, Any]) -> CorrectionRequestOut:
    service_date = row["service_date"]
    return CorrectionRequestOut(
        id=as_uuid(row["id"]),
        record_id=as_uuid(row["record"]),
        volunteer_id=as_uuid(row["volunteer"]),
        organization_id=as_uuid(row["organization"]),
        activity_name=row["activity_name"],
        service_date=service_date
        if isinstance(service_date, date)
        else date.fromisoformat(str(service_date)),
        message=row["message"],
        proposed_started_at=as_datetime_or_none(row["proposed_started_at"]),
        proposed_ended_at=as_datetime_or_none(row["proposed_ended_at"]),
        status=CorrectionRequestStatus(row["status"]),
        answer=row["answer"],
        answered_by=as_uuid_or_none(row["answered_by"]),
        answered_at=as_datetime_or_none(row["answered_at"]),
        correction_id=as_uuid_or_none(row["correction"]),
        created_at=as_datetime(row["created_at"]),
    )


def _utc(value: datetime | None) -> datetime | None:
    """Stored in UTC: SQLite compares timestamps as text."""
    return None if value is None else value.astimezone(UTC)
