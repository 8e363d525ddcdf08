"""Rule 17: records are final 10 working days after the activity; a daily job reminds, then escalates.

A record still `pending` (or a manual entry still `awaiting_approval`) whose activity ended at least
`reminder_workdays` working days ago earns its organization a reminder; once past the deadline, the
auditors of the organization's region get an escalation and the audit log an entry. One of each per
organization per China day, keyed, so the job may run as often as it likes.

Lateness is monotonic in the activity's end date, so the job turns the two thresholds into two China
dates and counts per organization in SQL, whatever the number of records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from volunteer import audit_log, notifications
from volunteer.db import as_datetime, as_uuid, write_transaction
from volunteer.hours import CHINA
from volunteer.record_rules import RecordRules
from volunteer.tables import ServiceRecord

_WAITING = "('pending', 'awaiting_approval')"
_LOOKBACK_DAYS = 400  # no run of non-working days is this long


@dataclass(frozen=True, slots=True)
class Thresholds:
    overdue_through: date  # activities that ended on this China date or before are past the deadline
    remind_through: date  # ... on this date or before have waited reminder_workdays working days


def thresholds(today: date, rules: RecordRules) -> Thresholds:
    cal = rules.calendar
    overdue = _latest(today, lambda d: cal.add_working_days(d, rules.deadline_workdays) < today)
    remind = _latest(today, lambda d: cal.working_days_between(d, today) >= rules.reminder_workdays)
    return Thresholds(overdue, remind)


def _latest(today: date, holds: Any) -> date:
    """The latest date before today for which `holds` is true (it is true for every earlier date)."""
    for back in range(1, _LOOKBACK_DAYS):
        d = today - timedelta(days=back)
        if holds(d):
            return d
    return today - timedelta(days=_LOOKBACK_DAYS)


def _end_of(d: date) -> datetime:
    """The first instant after China date d, in UTC: activities that ended before it ended on d or earlier."""
    return datetime.combine(d + timedelta(days=1), time.min, CHINA).astimezone(UTC)


async def remind_and_escalate(now: datetime, rules: RecordRules) -> dict[str, int]:
    today = now.astimezone(CHINA).date()
    marks = thresholds(today, rules)
    overdue_before, remind_before = _end_of(marks.overdue_through), _end_of(marks.remind_through)
    rows = await ServiceRecord.raw(
        "SELECT r.organization, o.name, g.path AS region_path, "
        "sum(CASE WHEN r.ended_at < {} THEN 1 ELSE 0 END) AS overdue, "
        "sum(CASE WHEN r.ended_at >= {} THEN 1 ELSE 0 END) AS due, "
        "min(CASE WHEN r.ended_at >= {} THEN r.ended_at END) AS earliest "
        "FROM service_record r JOIN organization o ON o.id = r.organization JOIN region g ON g.id = o.region "
        f"WHERE r.status IN {_WAITING} AND r.ended_at < {{}} "
        "GROUP BY r.organization, o.name, g.path",
        overdue_before,
        overdue_before,
        overdue_before,
        remind_before,
    )
    reminded = escalated = 0
    for row in rows:
        if int(row["due"] or 0) > 0 and await _remind(row, today, rules, now):
            reminded += 1
        if int(row["overdue"] or 0) > 0 and await _escalate(row, today, rules, now):
            escalated += 1
    return {"reminded": reminded, "escalated": escalated}


async def _remind(row: dict[str, Any], today: date, rules: RecordRules, now: datetime) -> bool:
    organization = as_uuid(row["organization"])
    count = int(row["due"])
    deadline = rules.calendar.deadline(as_datetime(row["earliest"]), rules.deadline_workdays).astimezone(
        CHINA
    )
    return await notifications.notify(
        "record.deadline_remind",
        title="服务记录待确认提醒",
        body=(
            f"有{count}条服务记录待确认，须在{deadline.month}月{deadline.day}日前（含当日）完成；"
            f"活动结束{rules.deadline_workdays}个工作日后未确认的记录将提交审核员处理。"
        ),
        now=now,
        organization=organization,
        detail={"count": count, "deadline": deadline.date().isoformat()},
        key=f"deadline-remind:{organization}:{today.isoformat()}",
    )


async def _escalate(row: dict[str, Any], today: date, rules: RecordRules, now: datetime) -> bool:
    organization = as_uuid(row["organization"])
    count = int(row["overdue"])
    async with write_transaction():
        sent = await notifications.notify(
            "record.deadline_escalate",
            title="逾期未确认的服务记录",
            body=(
                f"{row['name']}有{count}条服务记录在活动结束{rules.deadline_workdays}个工作日后仍未确认，"
                "请督促处理；逾期确认须填写原因并经审核。"
            ),
            now=now,
            region_path=row["region_path"],
            detail={"count": count, "organization_id": str(organization)},
            key=f"deadline-escalate:{organization}:{today.isoformat()}",
        )
        if sent:
            await audit_log.append(
                "record.deadline_escalate",
                actor=None,
                subject_type="organization",
                subject_id=str(organization),
                detail={"count": count, "organization_id": str(organization), "day": today.isoformat()},
                region_path=row["region_path"],
                now=now,
            )
    return sent
