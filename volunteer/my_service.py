"""What a volunteer sees of their own service: scans, records and totals."""

from __future__ import annotations

from typing import Any

from volunteer.access import Principal
from volunteer.checkin_schemas import RecordOut, ServiceSummary
from volunteer.db import as_str_list, as_uuid, as_uuid_or_none
from volunteer.hours import format_hours
from volunteer.profiles import volunteer_of
from volunteer.tables import LIVE_SQL, ServiceRecord


async def my_records(actor: Principal, *, limit: int, offset: int) -> list[RecordOut]:
    volunteer = await volunteer_of(actor.account_id)
    rows = await ServiceRecord.raw(
        "SELECT * FROM service_record WHERE volunteer = {} ORDER BY started_at DESC LIMIT {} OFFSET {}",
        volunteer["id"],
        limit,
        offset,
    )
    return [_record(r) for r in rows]


async def my_summary(actor: Principal) -> ServiceSummary:
    volunteer = await volunteer_of(actor.account_id)
    rows = await ServiceRecord.raw(
        "SELECT status, verified, count(*) AS n, coalesce(sum(credited_minutes), 0) AS minutes, "
        "count(DISTINCT session) AS sessions FROM service_record "
        f"WHERE volunteer = {{}} AND status IN {LIVE_SQL} GROUP BY status, verified",
        volunteer["id"],
    )

    def minutes(status: str | None = None, verified: bool | None = None) -> int:
        return sum(
            int(r["minutes"])
            for r in rows
            if status in (None, r["status"]) and verified in (None, bool(r["verified"]))
        )

    total, audited = minutes(), minutes("audited")
    return ServiceSummary(
        total_minutes=total,
        total_hours=format_hours(total),
        audited_minutes=audited,
        audited_hours=format_hours(audited),
        audited_verified_minutes=minutes("audited", True),
        audited_manual_minutes=minutes("audited", False),
        pending_minutes=minutes("pending"),
        records=sum(int(r["n"]) for r in rows),
        sessions_attended=sum(int(r["sessions"]) for r in rows),
    )


def _record(row: dict[str, Any]) -> RecordOut:
    flags = as_str_list(row["flags"])
    return RecordOut(
        id=as_uuid(row["id"]),
        session_id=as_uuid_or_none(row["session"]),
        activity_name=row["activity_name"],
        organization_id=as_uuid(row["organization"]),
        service_date=row["service_date"],
        place=row["place"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        credited_minutes=row["credited_minutes"],
        hours=format_hours(row["credited_minutes"]),
        source=row["source"],
        status=row["status"],
        verified=bool(row["verified"]),
        flags=flags,
    )
