"""Certificates (志愿服务记录证明, rule 23): issued free from audited records only, verified by number,
revoked with a reason, by an auditor or because a record they counted was withdrawn.

A certificate states what it stood on when issued (`content`) and lists the records it counted
(certificate_record), so a later withdrawal finds it. A revoked certificate's PDF is refused rather than
re-rendered: what circulates is the public status, checked by number or QR.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from errors import (
    CERTIFICATE_ALREADY_REVOKED,
    CERTIFICATE_NO_HOURS,
    CERTIFICATE_NOT_FOUND,
    OUT_OF_SCOPE,
    PERIOD_INVALID,
    REASON_REQUIRED,
    DomainError,
    require_text,
)
from volunteer import audit_log
from volunteer.access import Principal
from volunteer.certificate_content import content_of, district_name
from volunteer.db import as_date, as_datetime, as_json, as_uuid, as_uuid_or_none, engine, write_transaction
from volunteer.hours import CHINA
from volunteer.profiles import volunteer_of
from volunteer.tables import Certificate, CertificateStatus, Role

NUMBER_PREFIX = "ZYZM"
# No 0/O, 1/I/L: read aloud or typed from paper without doubt. 31**10 ≈ 8·10^14: not guessable.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NUMBER_RANDOM_CHARS = 10
NUMBER_ATTEMPTS = 5
WITHDRAWN_PREFIX = "所含服务记录已撤销："
_NUMBER = re.compile(rf"{NUMBER_PREFIX}[0-9]{{4}}[{NUMBER_ALPHABET}]{{{NUMBER_RANDOM_CHARS}}}")
LINK_BATCH = 500  # certificate_record rows per INSERT: 1,500 parameters, under both engines' limits


@dataclass(frozen=True, slots=True)
class Issued:
    id: uuid.UUID
    number: str
    volunteer_id: uuid.UUID
    organization_id: uuid.UUID | None
    period_from: date
    period_to: date
    minutes: int
    record_count: int
    status: CertificateStatus
    issued_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    content: dict[str, Any]


def new_number(year: int) -> str:
    """The prefix, the China year and ten random characters, e.g. ZYZM2026K7QH3MZ9XC."""
    tail = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_RANDOM_CHARS))
    return f"{NUMBER_PREFIX}{year:04d}{tail}"


def normalize_number(raw: str) -> str | None:
    """Typed numbers come with spaces, dashes or lower case; None when it cannot be one of ours."""
    number = re.sub(r"[\s-]", "", raw).upper()
    return number if _NUMBER.fullmatch(number) else None


# --- issuing ---


async def issue(
    actor: Principal,
    period_from: date,
    period_to: date,
    organization_id: uuid.UUID | None,
    *,
    today: date,
    now: datetime,
) -> Issued:
    """Free, from the volunteer's audited records served in the period (of one organization, if given)."""
    volunteer = await volunteer_of(actor.account_id)
    if period_from > period_to or period_to > today:
        raise DomainError(PERIOD_INVALID, {"period_from": str(period_from), "period_to": str(period_to)})
    volunteer_id = as_uuid(volunteer["id"])
    async with write_transaction():
        records = await _audited_records(volunteer_id, period_from, period_to, organization_id)
        if not records:
            raise DomainError(CERTIFICATE_NO_HOURS)
        minutes = sum(int(r["credited_minutes"]) for r in records)
        content = content_of(records, await district_name(volunteer["region_path"]))
        number, certificate_id = await _insert(
            volunteer_id, organization_id, period_from, period_to, minutes, len(records), content, now
        )
        for start in range(0, len(records), LINK_BATCH):
            batch = records[start : start + LINK_BATCH]
            await Certificate.raw(
                "INSERT INTO certificate_record (id, certificate, record) VALUES "
                + ", ".join(["({}, {}, {})"] * len(batch)),
                *(v for r in batch for v in (uuid.uuid4(), certificate_id, r["id"])),
            )
        await audit_log.append(
            "certificate.issue",
            actor=actor.account_id,
            subject_type="certificate",
            subject_id=str(certificate_id),
            detail={"number": number, "minutes": minutes, "record_count": len(records)},
            region_path=volunteer["region_path"],
            now=now,
        )
    return await find_one("c.id = {}", certificate_id)


async def _audited_records(
    volunteer_id: uuid.UUID, period_from: date, period_to: date, organization_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    """Read inside the issuing transaction; on PostgreSQL FOR SHARE makes a concurrent withdrawal of one of
    these records wait for the certificate (and then revoke it), or this read skip the withdrawn record."""
    sql = (
        "SELECT r.id, r.organization, r.activity_name, r.credited_minutes, r.person_in_charge, "
        "o.name AS organization_name, o.contact_phone, p.category FROM service_record r "
        "JOIN organization o ON o.id = r.organization JOIN project p ON p.id = r.project "
        "WHERE r.volunteer = {} AND r.status = 'audited' AND r.service_date >= {} AND r.service_date <= {}"
    )
    args: list[Any] = [volunteer_id, period_from, period_to]
    if organization_id is not None:
        sql += " AND r.organization = {}"
        args.append(organization_id)
    sql += " ORDER BY r.service_date, r.started_at, r.id"
    if engine().engine_type == "postgres":
        sql += " FOR SHARE OF r"
    rows: list[dict[str, Any]] = await Certificate.raw(sql, *args)
    return rows


async def _insert(
    volunteer_id: uuid.UUID,
    organization_id: uuid.UUID | None,
    period_from: date,
    period_to: date,
    minutes: int,
    record_count: int,
    content: dict[str, Any],
    now: datetime,
) -> tuple[str, uuid.UUID]:
    """ON CONFLICT DO NOTHING: a number already taken draws another without aborting the transaction."""
    certificate_id = uuid.uuid4()
    year = now.astimezone(CHINA).year
    for _ in range(NUMBER_ATTEMPTS):
        number = new_number(year)
        inserted = await Certificate.raw(
            "INSERT INTO certificate (id, number, volunteer, organization, period_from, period_to, minutes, "
            "record_count, status, issued_at, revoked_at, revoke_reason, content) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, 'valid', {}, NULL, NULL, {}) "
            "ON CONFLICT (number) DO NOTHING RETURNING id",
            certificate_id,
            number,
            volunteer_id,
            organization_id,
            period_from,
            period_to,
            minutes,
            record_count,
            now,
            json.dumps(content, ensure_ascii=False),
        )
        if inserted:
            return number, certificate_id
    raise RuntimeError("no free certificate number after several draws")


# --- finding (reading and rendering: certificate_views.py) ---

SELECT = (
    "SELECT c.id, c.number, c.volunteer, c.organization, c.period_from, c.period_to, c.minutes, "
    "c.record_count, c.status, c.issued_at, c.revoked_at, c.revoke_reason, c.content FROM certificate c "
)


async def find_one(where: str, *args: Any) -> Issued:
    rows = await Certificate.raw(SELECT + "WHERE " + where, *args)
    if not rows:
        raise DomainError(CERTIFICATE_NOT_FOUND)
    return issued_of(rows[0])


def issued_of(row: dict[str, Any]) -> Issued:
    content = row["content"]
    return Issued(
        id=as_uuid(row["id"]),
        number=row["number"],
        volunteer_id=as_uuid(row["volunteer"]),
        organization_id=as_uuid_or_none(row["organization"]),
        period_from=as_date(row["period_from"]),
        period_to=as_date(row["period_to"]),
        minutes=int(row["minutes"]),
        record_count=int(row["record_count"]),
        status=CertificateStatus(row["status"]),
        issued_at=as_datetime(row["issued_at"]),
        revoked_at=None if row["revoked_at"] is None else as_datetime(row["revoked_at"]),
        revoke_reason=row["revoke_reason"],
        content=dict(as_json(content) or {}),
    )


# --- revoking ---


async def revoke(actor: Principal, raw_number: str, reason: str | None, now: datetime) -> Issued:
    """By an admin, or an auditor covering the volunteer's registered region or a region of one of the
    recording units the certificate counts."""
    reason = require_text(reason, REASON_REQUIRED)
    number = normalize_number(raw_number)
    if number is None:
        raise DomainError(CERTIFICATE_NOT_FOUND)
    async with write_transaction():
        rows = await Certificate.raw(
            "SELECT c.id, c.status, g.path AS region_path FROM certificate c "
            "JOIN volunteer v ON v.id = c.volunteer JOIN region g ON g.id = v.region WHERE c.number = {}",
            number,
        )
        if not rows:
            raise DomainError(CERTIFICATE_NOT_FOUND)
        certificate_id, region_path = as_uuid(rows[0]["id"]), str(rows[0]["region_path"])
        if not actor.is_admin and not actor.covers(Role.auditor, region_path):
            unit_paths = await Certificate.raw(
                "SELECT DISTINCT g.path FROM certificate_record cr JOIN service_record r ON r.id = cr.record "
                "JOIN organization o ON o.id = r.organization JOIN region g ON g.id = o.region "
                "WHERE cr.certificate = {}",
                certificate_id,
            )
            if not any(actor.covers(Role.auditor, str(p["path"])) for p in unit_paths):
                raise DomainError(OUT_OF_SCOPE)
        if not await _mark_revoked(certificate_id, reason, now):
            raise DomainError(CERTIFICATE_ALREADY_REVOKED)
        await _log_revoke(actor.account_id, certificate_id, number, region_path, {"reason": reason}, now)
    return await find_one("c.id = {}", certificate_id)


async def records_withdrawn(
    record_ids: Sequence[uuid.UUID], reason: str, actor: uuid.UUID | None, now: datetime
) -> list[uuid.UUID]:
    """Inside the caller's write transaction: revoke every valid certificate that counted one of these
    records; returns the revoked certificates' ids."""
    ids = list(dict.fromkeys(record_ids))
    if not ids:
        return []
    revoked: list[uuid.UUID] = []
    async with write_transaction():  # re-entrant: joins the caller's
        rows = await Certificate.raw(
            "SELECT c.id, c.number, cr.record, g.path AS region_path FROM certificate_record cr "
            "JOIN certificate c ON c.id = cr.certificate JOIN volunteer v ON v.id = c.volunteer "
            "JOIN region g ON g.id = v.region "
            f"WHERE c.status = 'valid' AND cr.record IN ({', '.join(['{}'] * len(ids))}) ORDER BY c.number",
            *ids,
        )
        counted: dict[uuid.UUID, tuple[str, str, list[str]]] = {}
        for row in rows:
            entry = counted.setdefault(as_uuid(row["id"]), (row["number"], str(row["region_path"]), []))
            entry[2].append(str(as_uuid(row["record"])))
        for certificate_id, (number, region_path, records) in counted.items():
            if not await _mark_revoked(certificate_id, WITHDRAWN_PREFIX + reason, now):
                continue
            detail = {"cause": "record_withdrawn", "records": sorted(records), "reason": reason}
            await _log_revoke(actor, certificate_id, number, region_path, detail, now)
            revoked.append(certificate_id)
    return revoked


async def _mark_revoked(certificate_id: uuid.UUID, reason: str, now: datetime) -> bool:
    moved = await Certificate.raw(
        "UPDATE certificate SET status = 'revoked', revoked_at = {}, revoke_reason = {} "
        "WHERE id = {} AND status = 'valid' RETURNING id",
        now,
        reason,
        certificate_id,
    )
    return bool(moved)


async def _log_revoke(
    actor: uuid.UUID | None,
    certificate_id: uuid.UUID,
    number: str,
    region_path: str,
    extra: Mapping[str, object],
    now: datetime,
) -> None:
    await audit_log.append(
        "certificate.revoke",
        actor=actor,
        subject_type="certificate",
        subject_id=str(certificate_id),
        detail={"number": number, **extra},
        region_path=region_path,
        now=now,
    )
