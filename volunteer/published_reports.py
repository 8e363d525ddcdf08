"""Monthly reports an auditor publishes: the month's statistics of a region frozen as published, versioned
(a later publication of the same month is a new version, the old one stays), and readable by anyone.

The audit-log entry of a publication carries the SHA-256 of the figures as stored, so a later change to a
published report is as detectable as a change to the log itself.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec

from errors import REPORT_MONTH_NOT_OVER, REPORT_NOT_PUBLISHED, DomainError
from volunteer import audit_log
from volunteer.access import Principal
from volunteer.db import as_datetime, as_json, engine, write_transaction
from volunteer.regions import region_by_code
from volunteer.statistics import Month, StatisticsOut, monthly_statistics
from volunteer.tables import PublishedReport


@dataclass(frozen=True, slots=True)
class Published:
    region_code: str
    month: str
    version: int
    published_at: datetime
    report: StatisticsOut


async def publish(actor: Principal, region_code: str, month: str, today: date, now: datetime) -> Published:
    """The auditor of the region publishes a month that has ended (China time)."""
    if Month.parse(month).next_first > today:
        raise DomainError(REPORT_MONTH_NOT_OVER)
    report = await monthly_statistics(actor, region_code, month)  # checks the auditor's jurisdiction
    region = await region_by_code(region_code)
    figures = msgspec.to_builtins(report)
    digest = hashlib.sha256(_canonical(figures)).hexdigest()
    async with write_transaction():
        if engine().engine_type == "postgres":
            # Two auditors publishing the same region at once take turns for the next version number.
            await PublishedReport.raw("SELECT id FROM region WHERE id = {} FOR UPDATE", region.id)
        rows = await PublishedReport.raw(
            "SELECT coalesce(max(version), 0) AS v FROM published_report WHERE region = {} AND month = {}",
            region.id,
            report.month,
        )
        version = int(rows[0]["v"]) + 1
        row_id = uuid.uuid4()
        await PublishedReport.raw(
            "INSERT INTO published_report (id, region, month, version, figures, published_by, published_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, {})",
            row_id,
            region.id,
            report.month,
            version,
            json.dumps(figures, ensure_ascii=False),
            actor.account_id,
            now,
        )
        await audit_log.append(
            "report.publish",
            actor=actor.account_id,
            subject_type="published_report",
            subject_id=str(row_id),
            detail={"region_code": region_code, "month": report.month, "version": version, "sha256": digest},
            region_path=region.path,
            now=now,
        )
    return Published(region_code, report.month, version, now, report)


async def latest(region_code: str, month: str) -> Published:
    """The newest published version of the region's month; none yet answers REPORT_NOT_PUBLISHED."""
    region = await region_by_code(region_code)
    rows = await PublishedReport.raw(
        "SELECT month, version, figures, published_at FROM published_report "
        "WHERE region = {} AND month = {} ORDER BY version DESC LIMIT 1",
        region.id,
        Month.parse(month).label,
    )
    if not rows:
        raise DomainError(REPORT_NOT_PUBLISHED)
    row = rows[0]
    return Published(
        region_code,
        row["month"],
        int(row["version"]),
        as_datetime(row["published_at"]),
        msgspec.convert(as_json(row["figures"]), StatisticsOut),
    )


def _canonical(figures: Any) -> bytes:
    return json.dumps(figures, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
