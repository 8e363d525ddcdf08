"""Rule 17: a daily job reminds the organization of records still unconfirmed, then escalates to the
auditors of its region, counting working days on the official calendar (National Day 2026 and its 调休)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import jobs.deadlines  # noqa: F401  (registers its cron)
from jobs.registry import CRON_JOBS
from tests.builders import DISTRICT, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import event, fresh, signed_up_volunteer
from volunteer import deadlines
from volunteer.hours import CHINA
from volunteer.record_rules import RecordRules
from volunteer.tables import AuditEntry, Role

RULES = RecordRules()


def china(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=CHINA).astimezone(UTC)


def test_the_deadline_skips_national_day_and_counts_the_make_up_saturday() -> None:
    cal = RULES.calendar
    # 2026-09-30 (Wednesday) before National Day: 10-01..10-07 are holidays, Saturday 10-10 is worked.
    days = [cal.add_working_days(date(2026, 9, 30), n) for n in range(1, 11)]
    assert days == [
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
        date(2026, 10, 12),
        date(2026, 10, 13),
        date(2026, 10, 14),
        date(2026, 10, 15),
        date(2026, 10, 16),
        date(2026, 10, 19),
        date(2026, 10, 20),
    ]
    assert cal.deadline(china(2026, 9, 30, 10)) == datetime(2026, 10, 20, 15, 59, 59, 999999, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2025, 1, 2), date(2026, 12, 31)), st.integers(1, 15), st.integers(0, 40))
def test_thresholds_agree_with_the_deadline_of_every_day(today: date, n: int, back: int) -> None:
    rules = RecordRules(deadline_workdays=n, reminder_workdays=max(1, n - 3))
    marks = deadlines.thresholds(today, rules)
    ended = today - timedelta(days=back)
    overdue = rules.calendar.add_working_days(ended, n) < today
    assert overdue == (ended <= marks.overdue_through)
    waited = rules.calendar.working_days_between(ended, today) >= rules.reminder_workdays
    assert waited == (ended <= marks.remind_through)


async def unconfirmed_before_national_day(world: World) -> tuple[Any, dict[str, str]]:
    """A manual entry for a session on 2026-09-30, entered and left waiting for approval."""
    world.clock.now = china(2026, 9, 30, 8)
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    _, profile = await signed_up_volunteer(world, ev)
    world.clock.now = ev.ends_at + timedelta(hours=1)
    body = {
        "session_id": str(ev.session_id),
        "volunteer_id": profile["id"],
        "started_at": ev.starts_at.isoformat(),
        "ended_at": ev.ends_at.isoformat(),
        "evidence": ["oss://volunteer-evidence/sheet.jpg"],
        "reason": "扫码设备故障",
    }
    reply = await world.client.post("/records/manual", json=body, headers=fresh(world, ev.admin))
    assert reply.status_code == 201, reply.text
    return ev, reply.json()


async def inbox(world: World, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    reply = await world.client.get("/notifications", params=params, headers=fresh(world, headers))
    assert reply.status_code == 200, reply.text
    notes: list[dict[str, Any]] = reply.json()
    return notes


async def run(world: World, at: datetime) -> dict[str, int]:
    world.clock.now = at
    return await deadlines.remind_and_escalate(at, RULES)


async def test_reminders_then_escalation_around_national_day(world: World) -> None:
    ev, _ = await unconfirmed_before_national_day(world)
    district, street, elsewhere = (
        await world.auditor(DISTRICT),
        await world.auditor(STREET),
        await world.auditor(OTHER_STREET),
    )
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)

    # The sixth working day after (10-14): nothing yet.
    assert await run(world, china(2026, 10, 14, 23)) == {"reminded": 0, "escalated": 0}
    # The seventh (10-15): one reminder to the organization, however often the job runs that day.
    assert await run(world, china(2026, 10, 15, 1)) == {"reminded": 1, "escalated": 0}
    assert await run(world, china(2026, 10, 15, 18)) == {"reminded": 0, "escalated": 0}
    [note, awaiting] = await inbox(world, ev.admin)
    assert awaiting["kind"] == "record.manual_awaiting_approval"  # from the manual entry itself
    assert note["kind"] == "record.deadline_remind" and note["title"] == "服务记录待确认提醒"
    assert note["body"].startswith("有1条服务记录待确认，须在10月20日前（含当日）完成")
    assert note["detail"] == {"count": 1, "deadline": "2026-10-20"}
    assert note["organization_id"] == str(ev.org_id)

    # The deadline day itself (10-20, late evening): still a reminder, no escalation.
    assert await run(world, china(2026, 10, 20, 23)) == {"reminded": 1, "escalated": 0}
    # The next day: escalated to the auditors of the organization's region, once.
    assert await run(world, china(2026, 10, 21, 1)) == {"reminded": 0, "escalated": 1}
    assert await run(world, china(2026, 10, 21, 20)) == {"reminded": 0, "escalated": 0}

    for auditor in (district, street):
        [escalation] = await inbox(world, auditor)
        assert escalation["kind"] == "record.deadline_escalate"
        assert escalation["title"] == "逾期未确认的服务记录"
        assert escalation["body"].startswith(
            "城桥镇鳌山社区志愿服务队有1条服务记录在活动结束10个工作日后仍未确认"
        )
        assert escalation["detail"] == {"count": 1, "organization_id": str(ev.org_id)}
    assert await inbox(world, elsewhere) == []
    assert await inbox(world, other_admin) == []
    assert [n["kind"] for n in await inbox(world, ev.admin)] == [
        "record.deadline_remind",
        "record.deadline_remind",
        "record.manual_awaiting_approval",
    ]

    logged = await AuditEntry.select().where(AuditEntry.action == "record.deadline_escalate")
    assert len(logged) == 1
    assert logged[0]["actor"] is None and logged[0]["subject_id"] == str(ev.org_id)


async def test_confirmed_records_are_not_chased(world: World) -> None:
    ev, record = await unconfirmed_before_national_day(world)
    second = world.headers(await world.account((Role.org_admin, ev.org_id, None)))
    reply = await world.client.post(f"/records/manual/{record['id']}/approve", headers=second)
    assert reply.status_code == 200, reply.text
    reply = await world.client.post(
        "/records/confirm", json={"record_ids": [record["id"]]}, headers=fresh(world, ev.admin)
    )
    assert reply.json()["done"] == [record["id"]]
    assert await run(world, china(2026, 10, 15)) == {"reminded": 0, "escalated": 0}
    assert await run(world, china(2026, 10, 21)) == {"reminded": 0, "escalated": 0}


async def test_notifications_are_read_by_whom_they_are_for(world: World) -> None:
    ev, _ = await unconfirmed_before_national_day(world)
    await run(world, china(2026, 10, 15))
    await run(world, china(2026, 10, 16))
    await run(world, china(2026, 10, 21))
    notes = await inbox(world, ev.admin)
    assert [n["detail"].get("deadline") for n in notes] == ["2026-10-20", "2026-10-20", None]
    assert notes[0]["created_at"] > notes[1]["created_at"]  # newest first
    assert len(await inbox(world, ev.admin, limit=1, offset=1)) == 1

    reply = await world.client.post(f"/notifications/{notes[0]['id']}/read", headers=fresh(world, ev.admin))
    assert reply.status_code == 200, reply.text
    assert reply.json()["read_at"] is not None
    assert [n["id"] for n in await inbox(world, ev.admin, unread="true")] == [notes[1]["id"], notes[2]["id"]]

    [escalation] = await inbox(world, await world.auditor())
    refused = await world.client.post(
        f"/notifications/{escalation['id']}/read", headers=fresh(world, ev.admin)
    )
    assert refused.status_code == 404
    assert (refused.json()["code"], refused.json()["message"]) == ("NOTIFICATION_NOT_FOUND", "通知不存在")


async def test_the_cron_job_reads_its_rules_from_the_settings(world: World) -> None:
    await unconfirmed_before_national_day(world)
    [job] = [c for c in CRON_JOBS if c.name == "remind_and_escalate"]
    world.clock.now = china(2026, 10, 21)
    result = await job.coroutine({"settings": world.settings, "clock": world.clock})
    assert result == {"reminded": 0, "escalated": 1}
