"""Rule 20: the auditor's queue: confirmed records of organizations in the auditor's regions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from volunteer.access import Principal
from volunteer.anomalies import flags_for_records
from volunteer.db import as_str_list, as_uuid, planned_for_each_call
from volunteer.identity import mask_name
from volunteer.record_schemas import QueueRowOut
from volunteer.regions import region_by_code
from volunteer.tables import Role, ServiceRecord


@dataclass(frozen=True, slots=True)
class QueueFilter:
    region_code: str | None = None
    organization_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    flag: str | None = None
    verified: bool | None = None


async def audit_queue(actor: Principal, where: QueueFilter, *, limit: int, offset: int) -> list[QueueRowOut]:
    paths = actor.regions(Role.auditor)
    if not paths:
        return []
    clauses = ["r.status = 'confirmed'", "(" + " OR ".join(["g.path LIKE {}"] * len(paths)) + ")"]
    args: list[object] = [f"{p}%" for p in paths]
    if where.region_code is not None:
        clauses.append("g.path LIKE {}")
        args.append(f"{(await region_by_code(where.region_code)).path}%")
    for sql, value in (
        ("r.organization = {}", where.organization_id),
        ("r.project = {}", where.project_id),
        ("r.service_date >= {}", where.date_from),
        ("r.service_date <= {}", where.date_to),
        ("r.verified = {}", where.verified),
    ):
        if value is not None:
            clauses.append(sql)
            args.append(value)
    if where.flag is not None:
        # Flags are a JSON list of plain words: the quoted word in its text is the flag.
        clauses.append("CAST(r.flags AS TEXT) LIKE {}")
        args.append(f'%"{where.flag}"%')
    # Planned per call: the generic plan (from the sixth call on) assumes `g.path LIKE` matches one region,
    # reads the month organization by organization and sorts it: 34-49 ms against 2-5 ms (bench audit).
    async with planned_for_each_call():
        rows = await ServiceRecord.raw(
            "SELECT r.id, r.volunteer, v.name AS volunteer_name, v.volunteer_no, r.organization, "
            "o.name AS organization_name, r.project, r.activity_name, r.service_date, r.started_at, "
            "r.ended_at, r.credited_minutes, r.source, r.verified, r.flags, r.version, r.late_reason, "
            "r.evidence FROM service_record r "
            "JOIN volunteer v ON v.id = r.volunteer JOIN organization o ON o.id = r.organization "
            "JOIN region g ON g.id = o.region WHERE " + " AND ".join(clauses) + " "
            "ORDER BY r.service_date, r.id LIMIT {} OFFSET {}",
            *args,
            limit,
            offset,
        )
    anomalies = await flags_for_records([as_uuid(r["id"]) for r in rows])
    return [_row(r, anomalies[as_uuid(r["id"])]) for r in rows]


def _row(row: dict[str, Any], anomalies: list[str]) -> QueueRowOut:
    return QueueRowOut(
        id=as_uuid(row["id"]),
        volunteer_id=as_uuid(row["volunteer"]),
        volunteer_name=mask_name(row["volunteer_name"]),
        volunteer_no=row["volunteer_no"],
        organization_id=as_uuid(row["organization"]),
        organization_name=row["organization_name"],
        project_id=as_uuid(row["project"]),
        activity_name=row["activity_name"],
        service_date=row["service_date"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        credited_minutes=int(row["credited_minutes"]),
        source=row["source"],
        verified=bool(row["verified"]),
        flags=as_str_list(row["flags"]),
        anomalies=anomalies,
        version=int(row["version"]),
        late_reason=row["late_reason"],
        evidence=as_str_list(row["evidence"]),
    )
