"""Rule 20: records move pending → confirmed (the organization) → audited or rejected (the auditor).

Another organization's admin gets its records back in `skipped` as not_your_organization (not a 403),
so one bulk request may mix records the caller may and may not confirm.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from tests.builders import COMMUNITY, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import Event, event, fresh, offline_scans, signed_up_volunteer
from volunteer import audit_log, settlement
from volunteer.tables import AuditEntry, ServiceRecord, Signup


async def settled(
    world: World,
    *,
    minutes: int = 120,
    org: tuple[uuid.UUID, dict[str, str]] | None = None,
    check_out: bool = True,
    **registration: Any,
) -> tuple[Event, dict[str, str], uuid.UUID]:
    """One volunteer served `minutes` of one session, settled into a pending record: (event, headers, id)."""
    ev = await event(world, starts_in=timedelta(minutes=5), hours=minutes / 60, org=org)
    headers, profile = await signed_up_volunteer(world, ev, **registration)
    await offline_scans(world, ev, [(profile["id"], 0, minutes if check_out else None)])
    await settlement.settle_session(ev.session_id, world.clock())
    row = await ServiceRecord.select(ServiceRecord.id).where(ServiceRecord.session == ev.session_id).first()
    assert row is not None
    return ev, headers, row["id"]


async def confirm(world: World, headers: dict[str, str], *ids: uuid.UUID) -> dict[str, Any]:
    reply = await world.client.post(
        "/records/confirm", json={"record_ids": [str(i) for i in ids]}, headers=fresh(world, headers)
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def decide(world: World, headers: dict[str, str], *ids: uuid.UUID, **body: Any) -> dict[str, Any]:
    reply = await world.client.post(
        "/records/audit", json={"record_ids": [str(i) for i in ids], **body}, headers=fresh(world, headers)
    )
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


async def status_of(record_id: uuid.UUID) -> str:
    row = await ServiceRecord.select(ServiceRecord.status).where(ServiceRecord.id == record_id).first()
    assert row is not None
    return str(row["status"])


async def summary(world: World, headers: dict[str, str]) -> dict[str, Any]:
    reply = await world.client.get("/volunteers/me/service", headers=fresh(world, headers))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def child_organization(world: World, parent: uuid.UUID) -> tuple[uuid.UUID, dict[str, str]]:
    """An organization registered under `parent` through the API, and verified."""
    admin = world.headers(await world.account(name="分队长"))
    body = {
        "name": "鳌山社区志愿服务分队",
        "kind": "community_team",
        "region_code": COMMUNITY,
        "contact_name": "王分队长",
        "contact_phone": "021-59612346",
        "parent_id": str(parent),
    }
    reply = await world.client.post("/organizations", json=body, headers=admin)
    assert reply.status_code == 201, reply.text
    org_id = uuid.UUID(reply.json()["id"])
    decided = await world.client.post(
        f"/organizations/{org_id}/decision", json={"approve": True}, headers=await world.auditor()
    )
    assert decided.status_code == 201, decided.text
    return org_id, admin


async def test_the_organization_confirms_its_own_records(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    result = await confirm(world, ev.admin, record_id)
    assert result == {"done": [str(record_id)], "skipped": []}
    mine = await world.client.get("/volunteers/me/records", headers=fresh(world, volunteer))
    assert [r["status"] for r in mine.json()] == ["confirmed"]


async def test_another_organizations_admin_gets_the_record_skipped(world: World) -> None:
    _, _, record_id = await settled(world)
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    result = await confirm(world, other_admin, record_id)
    assert result == {
        "done": [],
        "skipped": [{"record_id": str(record_id), "reason": "not_your_organization"}],
    }
    assert await status_of(record_id) == "pending"


async def test_a_record_confirmed_once_is_skipped_the_second_time(world: World) -> None:
    ev, _, record_id = await settled(world)
    await confirm(world, ev.admin, record_id)
    missing = uuid.uuid4()
    result = await confirm(world, ev.admin, record_id, missing)
    assert result["skipped"] == [
        {"record_id": str(record_id), "reason": "not_pending"},
        {"record_id": str(missing), "reason": "not_found"},
    ]


async def test_a_nine_hour_day_needs_the_parent_organization(world: World) -> None:
    parent_id, parent_admin = await world.organization()
    child = await child_organization(world, parent_id)
    _, _, record_id = await settled(world, minutes=9 * 60, org=child)
    result = await confirm(world, child[1], record_id)
    assert result["skipped"] == [{"record_id": str(record_id), "reason": "needs_parent_org"}]
    assert (await confirm(world, parent_admin, record_id))["done"] == [str(record_id)]


async def test_minutes_of_the_whole_day_count_towards_the_tier(world: World) -> None:
    org = await world.organization()
    start = world.clock()
    first, _, first_id = await settled(world, minutes=5 * 60, org=org)
    world.clock.now = start + timedelta(hours=5, minutes=30)
    second = await event(world, starts_in=timedelta(minutes=5), hours=4, org=org)
    row = await ServiceRecord.select(ServiceRecord.volunteer).where(ServiceRecord.id == first_id).first()
    assert row is not None
    volunteer_id = str(row["volunteer"])
    await Signup(
        session=second.session_id, volunteer=volunteer_id, status="approved", applied_at=world.clock()
    ).save()
    await offline_scans(world, second, [(volunteer_id, 0, 240)])
    await settlement.settle_session(second.session_id, world.clock())
    # 5 h + 4 h on one China day: each record alone is under 8 h, the day is not.
    result = await confirm(world, first.admin, first_id)
    assert result["skipped"] == [{"record_id": str(first_id), "reason": "needs_parent_org"}]


async def test_a_thirteen_hour_day_needs_an_auditor(world: World) -> None:
    parent_id, parent_admin = await world.organization()
    child = await child_organization(world, parent_id)
    _, _, record_id = await settled(world, minutes=13 * 60, org=child)
    for admin in (child[1], parent_admin):
        result = await confirm(world, admin, record_id)
        assert result["skipped"] == [{"record_id": str(record_id), "reason": "needs_auditor"}]
    assert (await confirm(world, await world.auditor(), record_id))["done"] == [str(record_id)]


async def test_the_audit_queue_shows_only_the_auditors_jurisdiction_and_honours_filters(world: World) -> None:
    start = world.clock()
    here = await world.organization()
    there = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    ev_here, _, here_id = await settled(world, org=here, name="张小明")
    world.clock.now = start
    ev_there, _, there_id = await settled(world, org=there, check_out=False)
    await confirm(world, here[1], here_id)
    await confirm(world, there[1], there_id)

    async def queue(headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        reply = await world.client.get("/records/audit-queue", params=params, headers=headers)
        assert reply.status_code == 200, reply.text
        rows: list[dict[str, Any]] = reply.json()
        return rows

    district = await world.auditor()
    rows = await queue(district)
    assert {r["id"] for r in rows} == {str(here_id), str(there_id)}
    shown = next(r for r in rows if r["id"] == str(here_id))
    assert shown["volunteer_name"] == "张*明" and shown["organization_name"] == "城桥镇鳌山社区志愿服务队"
    assert (shown["credited_minutes"], shown["source"], shown["verified"]) == (120, "offline_scan", True)

    assert [r["id"] for r in await queue(await world.auditor(OTHER_STREET))] == [str(there_id)]
    assert [r["id"] for r in await queue(district, region_code=STREET)] == [str(here_id)]
    assert [r["id"] for r in await queue(district, organization_id=str(there[0]))] == [str(there_id)]
    assert [r["id"] for r in await queue(district, project_id=str(ev_here.project_id))] == [str(here_id)]
    assert [r["id"] for r in await queue(district, flag="missing_checkout")] == [str(there_id)]
    assert await queue(district, verified="false") == []
    day = ev_here.starts_at.date()
    assert len(await queue(district, date_from=day.isoformat(), date_to=day.isoformat())) == 2
    assert await queue(district, date_from=(day + timedelta(days=1)).isoformat()) == []
    assert len(await queue(district, limit=1, offset=1)) == 1
    assert ev_there.org_id == there[0]


async def test_approval_moves_the_minutes_into_audited(world: World) -> None:
    ev, volunteer, record_id = await settled(world, minutes=90)
    assert (await summary(world, volunteer))["pending_minutes"] == 90
    await confirm(world, ev.admin, record_id)
    assert (await summary(world, volunteer))["audited_minutes"] == 0
    result = await decide(world, await world.auditor(), record_id, approve=True)
    assert result == {"done": [str(record_id)], "skipped": []}
    after = await summary(world, volunteer)
    assert (after["total_minutes"], after["audited_minutes"], after["pending_minutes"]) == (90, 90, 0)
    mine = await world.client.get("/volunteers/me/records", headers=fresh(world, volunteer))
    assert [r["status"] for r in mine.json()] == ["audited"]


async def test_rejection_needs_a_reason(world: World) -> None:
    ev, _, record_id = await settled(world)
    await confirm(world, ev.admin, record_id)
    reply = await world.client.post(
        "/records/audit",
        json={"record_ids": [str(record_id)], "approve": False, "reason": "  "},
        headers=await world.auditor(),
    )
    assert reply.status_code == 422 and reply.json()["code"] == "REASON_REQUIRED"
    assert await status_of(record_id) == "confirmed"


async def test_rejected_minutes_leave_the_total(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    await confirm(world, ev.admin, record_id)
    await decide(world, await world.auditor(), record_id, approve=False, reason="签到地点与活动地点不符")
    assert await status_of(record_id) == "rejected"
    after = await summary(world, volunteer)
    assert (after["total_minutes"], after["audited_minutes"], after["records"]) == (0, 0, 0)


async def test_a_record_cannot_be_audited_twice(world: World) -> None:
    ev, _, record_id = await settled(world)
    _, _, pending_id = await settled(world, org=(ev.org_id, ev.admin))
    await confirm(world, ev.admin, record_id)
    auditor = await world.auditor()
    await decide(world, auditor, record_id, approve=True)
    result = await decide(world, auditor, record_id, pending_id, approve=False, reason="重复")
    assert result["skipped"] == [
        {"record_id": str(record_id), "reason": "not_confirmed"},
        {"record_id": str(pending_id), "reason": "not_confirmed"},
    ]
    assert await status_of(record_id) == "audited"


async def test_an_auditor_outside_the_region_gets_the_record_skipped(world: World) -> None:
    ev, _, record_id = await settled(world)
    await confirm(world, ev.admin, record_id)
    result = await decide(world, await world.auditor(OTHER_STREET), record_id, approve=True)
    assert result["skipped"] == [{"record_id": str(record_id), "reason": "out_of_scope"}]
    assert await status_of(record_id) == "confirmed"


async def test_each_action_is_logged_and_the_chain_verifies(world: World) -> None:
    ev, _, approved = await settled(world)
    _, _, rejected = await settled(world, org=(ev.org_id, ev.admin))
    before = await AuditEntry.count()
    await confirm(world, ev.admin, approved, rejected)
    auditor = await world.auditor()
    await decide(world, auditor, approved, approve=True)
    await decide(world, auditor, rejected, approve=False, reason="时长异常")
    entries = await AuditEntry.select(
        AuditEntry.action,
        AuditEntry.subject_type,
        AuditEntry.subject_id,
        AuditEntry.region_path,
        AuditEntry.detail,
    ).order_by(AuditEntry.seq)
    ours = entries[before:]
    assert [(e["action"], e["subject_id"]) for e in ours] == [
        ("record.confirm", str(approved)),
        ("record.confirm", str(rejected)),
        ("record.audit", str(approved)),
        ("record.reject", str(rejected)),
    ]
    assert all(
        e["subject_type"] == "service_record" and e["region_path"].endswith(f"{COMMUNITY}/") for e in ours
    )
    detail = [json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"] for e in ours]
    assert detail[3] == {
        "status_from": "confirmed",
        "status_to": "rejected",
        "credited_minutes": 120,
        "reason": "时长异常",
    }
    assert (detail[0]["status_from"], detail[0]["status_to"], detail[0]["day_minutes"]) == (
        "pending",
        "confirmed",
        120,
    )
    report = await audit_log.verify_chain()
    assert report.ok and report.checked == len(entries)
