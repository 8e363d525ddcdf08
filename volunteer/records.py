"""Rule 20: records move pending → confirmed (the recording organization) → audited or rejected (the auditor).

Every move is a conditional write on the status it expects, and appends its audit-log entry in the same
transaction. Bulk requests skip, with a reason, the records a caller may not move.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from errors import REASON_REQUIRED, require_text
from volunteer import audit_log, audited_hours
from volunteer.access import Principal
from volunteer.db import as_datetime, as_uuid, write_transaction
from volunteer.hours import Served, credit_by_day
from volunteer.record_rules import RecordRules
from volunteer.served_time import china_days, clip, live_records
from volunteer.tables import RecordStatus, Role, ServiceRecord

# Long days need more eyes (default after 广东 i志愿): minutes a person a China day.
ORG_ALONE_MAX_MINUTES = 480  # up to 8 h the recording organization confirms alone
PARENT_ORG_MAX_MINUTES = 720  # up to 12 h its parent organization must confirm; beyond, an auditor


class SkipReason(StrEnum):
    not_found = "not_found"
    not_pending = "not_pending"  # confirm: already confirmed, audited or rejected
    not_your_organization = "not_your_organization"
    needs_parent_org = "needs_parent_org"
    needs_auditor = "needs_auditor"
    not_confirmed = "not_confirmed"  # audit: still pending, or already audited or rejected
    out_of_scope = "out_of_scope"  # audit: the record's organization is outside the auditor's regions
    late_needs_reason = "late_needs_reason"  # confirm: past the rule 17 deadline, and no late reason given


class Tier(StrEnum):
    """Who must confirm a record, from its volunteer's credited minutes that China day."""

    organization = "organization"
    parent_organization = "parent_organization"
    auditor = "auditor"


_RANK = {Tier.organization: 0, Tier.parent_organization: 1, Tier.auditor: 2}
_NEEDS = {Tier.parent_organization: SkipReason.needs_parent_org, Tier.auditor: SkipReason.needs_auditor}


@dataclass(frozen=True, slots=True)
class Skipped:
    record_id: uuid.UUID
    reason: SkipReason


@dataclass(slots=True)
class Outcome:
    done: list[uuid.UUID] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def tier_for(day_minutes: int) -> Tier:
    if day_minutes <= ORG_ALONE_MAX_MINUTES:
        return Tier.organization
    if day_minutes <= PARENT_ORG_MAX_MINUTES:
        return Tier.parent_organization
    return Tier.auditor


def standing(actor: Principal, record: dict[str, Any]) -> Tier | None:
    """The highest tier the actor confirms at for this record's organization; None: not theirs at all."""
    if actor.covers(Role.auditor, record["region_path"]):
        return Tier.auditor
    parent = record["parent"]
    if parent is not None and actor.administers(as_uuid(parent)):
        return Tier.parent_organization
    if actor.administers(as_uuid(record["organization"])):
        return Tier.organization
    return None


async def confirm(
    actor: Principal,
    record_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    rules: RecordRules,
    late_reason: str | None = None,
) -> Outcome:
    """Rule 17: a record confirmed after its deadline needs a late reason (kept on the record), and the
    auditor's audit that follows is the approval it needs."""
    late_reason = (late_reason or "").strip() or None
    outcome = Outcome()
    async with write_transaction():
        records = await _records(record_ids)
        around = await _around(r for r in records.values() if r["status"] == RecordStatus.pending)
        for record_id in _unique(record_ids):
            record = records.get(record_id)
            if record is None:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_found))
                continue
            at = standing(actor, record)
            if at is None:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_your_organization))
                continue
            if record["status"] != RecordStatus.pending:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_pending))
                continue
            late = now > rules.calendar.deadline(as_datetime(record["ended_at"]), rules.deadline_workdays)
            # A late manual entry brought its reason already.
            if late and late_reason is None and record["late_reason"] is None:
                outcome.skipped.append(Skipped(record_id, SkipReason.late_needs_reason))
                continue
            day_minutes = _day_minutes(record, around.get(str(record["volunteer"]), []))
            needed = tier_for(day_minutes)
            if _RANK[at] < _RANK[needed]:
                outcome.skipped.append(Skipped(record_id, _NEEDS[needed]))
                continue
            moved = await ServiceRecord.raw(
                "UPDATE service_record SET status = 'confirmed', late_reason = COALESCE(late_reason, {}) "
                "WHERE id = {} AND status = 'pending' AND organization = {} RETURNING id",
                late_reason if late else None,
                record_id,
                record["organization"],
            )
            if not moved:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_pending))
                continue
            detail = _detail(
                record,
                RecordStatus.pending,
                RecordStatus.confirmed,
                day_minutes=day_minutes,
                confirmed_as=at.value,
                late=late,
            )
            await _log("record.confirm", actor, record, detail, now)
            outcome.done.append(record_id)
    return outcome


async def audit(
    actor: Principal,
    record_ids: Sequence[uuid.UUID],
    *,
    approve: bool,
    reason: str | None,
    rules: RecordRules,
    now: datetime,
) -> Outcome:
    """The auditor's decision on confirmed records: audited minutes are the only ones that count, so an
    approval brings the volunteers' star levels along in the same transaction."""
    reason = require_text(reason, REASON_REQUIRED) if not approve else ((reason or "").strip() or None)
    to_status = RecordStatus.audited if approve else RecordStatus.rejected
    outcome = Outcome()
    async with write_transaction():
        records = await _records(record_ids)
        for record_id in _unique(record_ids):
            record = records.get(record_id)
            if record is None:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_found))
                continue
            if not actor.covers(Role.auditor, record["region_path"]):
                outcome.skipped.append(Skipped(record_id, SkipReason.out_of_scope))
                continue
            moved = await ServiceRecord.raw(
                "UPDATE service_record SET status = {} WHERE id = {} AND status = 'confirmed' RETURNING id",
                to_status.value,
                record_id,
            )
            if not moved:
                outcome.skipped.append(Skipped(record_id, SkipReason.not_confirmed))
                continue
            detail = _detail(record, RecordStatus.confirmed, to_status)
            if reason is not None:
                detail["reason"] = reason
            await _log("record.audit" if approve else "record.reject", actor, record, detail, now)
            outcome.done.append(record_id)
        if approve and outcome.done:
            await audited_hours.gained({as_uuid(records[r]["volunteer"]) for r in outcome.done}, rules, now)
    return outcome


def _unique(record_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(record_ids))


async def _records(record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = _unique(record_ids)
    if not ids:
        return {}
    rows = await ServiceRecord.raw(
        "SELECT r.id, r.volunteer, r.organization, r.status, r.credited_minutes, r.started_at, r.ended_at, "
        "r.late_reason, "
        "o.parent, g.path AS region_path FROM service_record r "
        "JOIN organization o ON o.id = r.organization JOIN region g ON g.id = o.region "
        f"WHERE r.id IN ({', '.join(['{}'] * len(ids))})",
        *ids,
    )
    return {as_uuid(r["id"]): r for r in rows}


def _day_minutes(record: dict[str, Any], around: list[dict[str, Any]]) -> int:
    """The volunteer's credited minutes, across their live records (`around`: those on the record's days),
    on the busiest China day this record touches; time counted by two records counts once."""
    days = china_days(as_datetime(record["started_at"]), as_datetime(record["ended_at"]))
    totals: dict[date, int] = {}
    for (_key, day), minutes in credit_by_day([Served(str(r["id"]), *clip(r)) for r in around]).items():
        totals[day] = totals.get(day, 0) + minutes
    return max((totals.get(day, 0) for day in days), default=0)


async def _around(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The live records of these records' volunteers on the China days they span, in one read."""
    rows = list(records)
    if not rows:
        return {}
    days = [d for r in rows for d in china_days(as_datetime(r["started_at"]), as_datetime(r["ended_at"]))]
    return await live_records([r["volunteer"] for r in rows], min(days), max(days))


def _detail(
    record: dict[str, Any], from_status: RecordStatus, to_status: RecordStatus, **extra: object
) -> dict[str, object]:
    """What the conditional write moved: the status it required, not the one read before it."""
    return {
        "status_from": from_status.value,
        "status_to": to_status.value,
        "credited_minutes": int(record["credited_minutes"]),
        **extra,
    }


async def _log(
    action: str, actor: Principal, record: dict[str, Any], detail: dict[str, object], now: datetime
) -> None:
    await log_record(action, actor, as_uuid(record["id"]), record["region_path"], detail, now)


async def log_record(
    action: str,
    actor: Principal,
    record_id: uuid.UUID,
    region_path: str,
    detail: dict[str, object],
    now: datetime,
) -> None:
    """The audit-log entry of an action on a service record, in the jurisdiction of its organization."""
    await audit_log.append(
        action,
        actor=actor.account_id,
        subject_type="service_record",
        subject_id=str(record_id),
        detail=detail,
        region_path=region_path,
        now=now,
    )
