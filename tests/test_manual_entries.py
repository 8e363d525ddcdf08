"""Rule 19: manual entries (补录) need evidence and a second approver, and never exceed the session;
rule 17: late entries and late confirmations need a reason and an auditor.

The hour-selling pattern (an administrator types in hours nobody served) must never reach audited minutes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from httpx import Response

from tests.builders import OTHER_COMMUNITY, World
from tests.scan_builders import Event, event, fresh, offline_scans, signed_up_volunteer
from volunteer import settlement
from volunteer.tables import AuditEntry, Role, ServiceRecord

EVIDENCE = ["oss://volunteer-evidence/2026/photo1.jpg", "https://files.example.cn/signin-sheet.pdf"]


async def ended_event(world: World, *, hours: float = 5) -> tuple[Event, dict[str, str], dict[str, Any]]:
    """A session that ended an hour ago, and a volunteer whose sign-up was approved but who never scanned."""
    ev = await event(world, starts_in=timedelta(minutes=5), hours=hours)
    volunteer, profile = await signed_up_volunteer(world, ev)
    world.clock.now = ev.ends_at + timedelta(hours=1)
    return ev, volunteer, profile


def entry(ev: Event, profile: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": str(ev.session_id),
        "volunteer_id": profile["id"],
        "started_at": ev.starts_at.isoformat(),
        "ended_at": ev.ends_at.isoformat(),
        "evidence": EVIDENCE,
        "reason": "志愿者手机没电，未能扫码签到",
    }
    body.update(overrides)
    return body


async def enter(world: World, headers: dict[str, str], body: dict[str, Any]) -> Response:
    return await world.client.post("/records/manual", json=body, headers=fresh(world, headers))


async def approve(world: World, headers: dict[str, str], record_id: str) -> Response:
    return await world.client.post(f"/records/manual/{record_id}/approve", headers=fresh(world, headers))


async def second_admin(world: World, org_id: uuid.UUID) -> dict[str, str]:
    return world.headers(await world.account((Role.org_admin, org_id, None), name="副队长"))


async def post_ok(world: World, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    reply = await world.client.post(url, json=body, headers=fresh(world, headers))
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


async def service(world: World, volunteer: dict[str, str]) -> dict[str, Any]:
    reply = await world.client.get("/volunteers/me/service", headers=fresh(world, volunteer))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def refused(reply: Response, status: int, code: str, message: str) -> None:
    assert reply.status_code == status, reply.text
    assert (reply.json()["code"], reply.json()["message"]) == (code, message)


async def record_count() -> int:
    return int(await ServiceRecord.count())


async def actions() -> list[str]:
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)
    return [r["action"] for r in rows]


async def test_the_hour_selling_pattern_never_becomes_audited_minutes(world: World) -> None:
    ev, volunteer, profile = await ended_event(world, hours=5)
    auditor = await world.auditor()

    # 5 hours typed in without evidence: refused, nothing stored.
    for evidence in ([], ["   "], ["照片"]):
        reply = await enter(world, ev.admin, entry(ev, profile, evidence=evidence))
        refused(reply, 422, "EVIDENCE_REQUIRED", "补录须上传佐证材料（如活动照片、签到表）")
    assert await record_count() == 0

    # With evidence: stored, unverified, waiting for a second approver; it counts nowhere yet.
    reply = await enter(world, ev.admin, entry(ev, profile))
    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert (record["status"], record["credited_minutes"], record["verified"]) == (
        "awaiting_approval",
        300,
        False,
    )
    assert record["evidence"] == EVIDENCE and record["approved_by"] is None

    # The same admin approving it: refused.
    refused(
        await approve(world, ev.admin, record["id"]),
        403,
        "SECOND_APPROVER_REQUIRED",
        "补录须由录入人以外的另一位管理员审批",
    )
    # Nor can it be pushed through confirmation and audit around the approval.
    confirmed = await post_ok(world, "/records/confirm", ev.admin, {"record_ids": [record["id"]]})
    assert confirmed["skipped"] == [{"record_id": record["id"], "reason": "not_pending"}]
    audited = await post_ok(world, "/records/audit", auditor, {"record_ids": [record["id"]], "approve": True})
    assert audited["skipped"] == [{"record_id": record["id"], "reason": "not_confirmed"}]
    summary = await service(world, volunteer)
    assert (summary["audited_minutes"], summary["pending_minutes"]) == (0, 0)

    # A second admin of the organization approves: from here the normal path.
    reply = await approve(world, await second_admin(world, ev.org_id), record["id"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "pending"
    assert reply.json()["approved_by"] not in (None, reply.json()["recorder"])
    confirmed = await post_ok(world, "/records/confirm", ev.admin, {"record_ids": [record["id"]]})
    assert confirmed["done"] == [record["id"]]
    queue = await world.client.get("/records/audit-queue", headers=fresh(world, auditor))
    [row] = [r for r in queue.json() if r["id"] == record["id"]]
    assert (row["source"], row["verified"], row["credited_minutes"]) == ("manual", False, 300)
    audited = await post_ok(world, "/records/audit", auditor, {"record_ids": [record["id"]], "approve": True})
    assert audited["done"] == [record["id"]]
    assert (await service(world, volunteer))["audited_minutes"] == 300

    stored = await ServiceRecord.objects().get(ServiceRecord.id == record["id"])
    assert stored is not None
    assert (stored.source, stored.verified, stored.status) == ("manual", False, "audited")
    assert (stored.activity_name, stored.person_in_charge, stored.content) == (
        "鳌山社区敬老院陪伴",
        "李队长",
        "陪伴老人聊天、读报",
    )
    assert stored.reason == "志愿者手机没电，未能扫码签到"
    assert (await actions())[-4:] == [
        "record.manual_enter",
        "record.manual_approve",
        "record.confirm",
        "record.audit",
    ]


async def test_holding_both_roles_does_not_make_the_recorder_a_second_approver(world: World) -> None:
    ev, _, profile = await ended_event(world)
    both = world.headers(
        await world.account((Role.org_admin, ev.org_id, None), (Role.auditor, None, "310151"), name="兼任")
    )
    reply = await enter(world, both, entry(ev, profile))
    assert reply.status_code == 201, reply.text
    refused(
        await approve(world, both, reply.json()["id"]),
        403,
        "SECOND_APPROVER_REQUIRED",
        "补录须由录入人以外的另一位管理员审批",
    )
    rejected = await world.client.post(
        f"/records/manual/{reply.json()['id']}/reject",
        json={"reason": "自己驳回"},
        headers=fresh(world, both),
    )
    refused(rejected, 403, "SECOND_APPROVER_REQUIRED", "补录须由录入人以外的另一位管理员审批")


async def test_a_manual_entry_cannot_exceed_the_session(world: World) -> None:
    ev, _, profile = await ended_event(world, hours=2)
    message = "补录时长不能超过活动时段"
    early = entry(ev, profile, started_at=(ev.starts_at - timedelta(minutes=1)).isoformat())
    refused(await enter(world, ev.admin, early), 422, "MANUAL_EXCEEDS_SESSION", message)
    late = entry(ev, profile, ended_at=(ev.ends_at + timedelta(minutes=30)).isoformat())
    refused(await enter(world, ev.admin, late), 422, "MANUAL_EXCEEDS_SESSION", message)
    backwards = entry(ev, profile, started_at=ev.ends_at.isoformat(), ended_at=ev.starts_at.isoformat())
    refused(await enter(world, ev.admin, backwards), 422, "TIME_RANGE_INVALID", "结束时间须晚于开始时间")
    assert await record_count() == 0

    # Inside the session: whole minutes only.
    part = entry(
        ev,
        profile,
        started_at=(ev.starts_at + timedelta(minutes=10)).isoformat(),
        ended_at=(ev.starts_at + timedelta(minutes=55, seconds=59)).isoformat(),
    )
    reply = await enter(world, ev.admin, part)
    assert reply.status_code == 201, reply.text
    assert reply.json()["credited_minutes"] == 45


async def test_only_a_signed_up_volunteer_once_and_only_by_the_organizer(world: World) -> None:
    ev, _, profile = await ended_event(world)
    _, stranger = await world.volunteer()
    refused(
        await enter(world, ev.admin, entry(ev, stranger)),
        422,
        "MANUAL_NOT_SIGNED_UP",
        "该志愿者未报名此活动时段或报名未通过，不能补录",
    )
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    refused(await enter(world, other_admin, entry(ev, profile)), 403, "OUT_OF_SCOPE", "超出您的管理范围")
    assert (await enter(world, ev.admin, entry(ev, profile))).status_code == 201
    refused(
        await enter(world, ev.admin, entry(ev, profile)),
        409,
        "RECORD_EXISTS",
        "该志愿者在此活动时段已有服务记录，请通过更正修改",
    )
    assert await record_count() == 1


async def test_a_manual_entry_for_a_session_not_yet_ended_is_refused(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    _, profile = await signed_up_volunteer(world, ev)
    world.clock.now = ev.starts_at + timedelta(minutes=30)
    refused(
        await enter(world, ev.admin, entry(ev, profile)),
        422,
        "MANUAL_SESSION_NOT_ENDED",
        "活动时段尚未结束，不能补录",
    )


async def test_a_second_admin_rejects_with_a_reason(world: World) -> None:
    ev, volunteer, profile = await ended_event(world)
    record = (await enter(world, ev.admin, entry(ev, profile))).json()
    other = await second_admin(world, ev.org_id)
    url = f"/records/manual/{record['id']}/reject"
    blank = await world.client.post(url, json={"reason": "  "}, headers=fresh(world, other))
    refused(blank, 422, "REASON_REQUIRED", "请填写原因")
    reply = await world.client.post(url, json={"reason": "照片不是本次活动"}, headers=fresh(world, other))
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["status_reason"]) == ("rejected", "照片不是本次活动")
    refused(
        await approve(world, other, record["id"]),
        409,
        "MANUAL_NOT_AWAITING_APPROVAL",
        "该记录不是待审批的补录或已审批",
    )
    assert (await service(world, volunteer))["audited_minutes"] == 0
    # Rejected, it no longer blocks a new entry for the same volunteer and session.
    assert (await enter(world, ev.admin, entry(ev, profile))).status_code == 201


async def test_a_late_entry_needs_a_reason_and_an_auditors_approval(world: World) -> None:
    ev, volunteer, profile = await ended_event(world, hours=2)
    world.clock.now = ev.ends_at + timedelta(days=30)  # well past 10 working days
    refused(
        await enter(world, ev.admin, entry(ev, profile)),
        422,
        "LATE_ENTRY_NEEDS_REASON",
        "已超过10个工作日的记录期限，请填写逾期原因",
    )
    reply = await enter(world, ev.admin, entry(ev, profile, late_reason="签到表月底才交回"))
    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert record["late_reason"] == "签到表月底才交回"
    refused(
        await approve(world, await second_admin(world, ev.org_id), record["id"]),
        403,
        "LATE_ENTRY_NEEDS_AUDITOR",
        "逾期补录须由审核员（文明办）审批",
    )
    auditor = await world.auditor()
    # The auditors of the region hear of it.
    notes = await world.client.get("/notifications", headers=fresh(world, auditor))
    assert [n["kind"] for n in notes.json()] == ["record.manual_awaiting_approval"]
    reply = await approve(world, auditor, record["id"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "pending"
    # It brought its late reason: the organization confirms without giving another.
    confirmed = await post_ok(world, "/records/confirm", ev.admin, {"record_ids": [record["id"]]})
    assert confirmed["done"] == [record["id"]]
    await post_ok(world, "/records/audit", auditor, {"record_ids": [record["id"]], "approve": True})
    assert (await service(world, volunteer))["audited_minutes"] == 120


async def test_a_late_confirmation_needs_a_reason(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    _, profile = await signed_up_volunteer(world, ev)
    await offline_scans(world, ev, [(profile["id"], 0, 120)])
    await settlement.settle_session(ev.session_id, world.clock())
    row = await ServiceRecord.select(ServiceRecord.id).where(ServiceRecord.session == ev.session_id).first()
    assert row is not None
    record_id = str(row["id"])

    world.clock.now = ev.ends_at + timedelta(days=14)  # past the tenth working day
    result = await post_ok(world, "/records/confirm", ev.admin, {"record_ids": [record_id]})
    assert result == {"done": [], "skipped": [{"record_id": record_id, "reason": "late_needs_reason"}]}
    result = await post_ok(
        world, "/records/confirm", ev.admin, {"record_ids": [record_id], "late_reason": "负责人出差"}
    )
    assert result["done"] == [record_id]
    stored = await ServiceRecord.objects().get(ServiceRecord.id == row["id"])
    assert stored is not None and (stored.status, stored.late_reason) == ("confirmed", "负责人出差")


async def test_a_confirmation_on_the_last_day_needs_no_reason(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    _, profile = await signed_up_volunteer(world, ev)
    await offline_scans(world, ev, [(profile["id"], 0, 120)])
    await settlement.settle_session(ev.session_id, world.clock())
    row = await ServiceRecord.select(ServiceRecord.id).where(ServiceRecord.session == ev.session_id).first()
    assert row is not None
    # The session ended on Saturday 2026-11-21 (China); the tenth working day after is Friday 2026-12-04.
    world.clock.now = ev.ends_at.replace(month=12, day=4, hour=15, minute=30)  # 23:30 China time
    result = await post_ok(world, "/records/confirm", ev.admin, {"record_ids": [str(row["id"])]})
    assert result["done"] == [str(row["id"])]
