"""Rule 18: a correction is a new version pointing to the one it replaces; an auditor may revoke audited
minutes. Audited minutes corrected or revoked leave the volunteer's audited total at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from httpx import Response

import errors
from errors import DomainError
from tests.builders import OTHER_COMMUNITY, OTHER_STREET, World
from tests.scan_builders import Event, fresh
from tests.test_records import confirm, decide, settled, status_of, summary
from volunteer import corrections
from volunteer.accounts import load_principal
from volunteer.db import write_transaction
from volunteer.record_rules import RecordRules
from volunteer.tables import AuditEntry, ServiceRecord


def refused(reply: Response, error: errors.ErrorCode) -> None:
    assert reply.status_code == error.status, reply.text
    body = reply.json()
    assert (body["code"], body["message"]) == (error.code, error.message)


def account_of(headers: dict[str, str]) -> str:
    claims = jwt.decode(headers["Authorization"].removeprefix("Bearer "), options={"verify_signature": False})
    return str(claims["sub"])


async def correct(world: World, headers: dict[str, str], record_id: uuid.UUID | str, **body: Any) -> Response:
    return await world.client.post(
        f"/records/{record_id}/corrections", json=body, headers=fresh(world, headers)
    )


async def corrected(
    world: World, headers: dict[str, str], record_id: uuid.UUID | str, **body: Any
) -> dict[str, Any]:
    reply = await correct(world, headers, record_id, **body)
    assert reply.status_code == 201, reply.text
    version: dict[str, Any] = reply.json()
    return version


async def revoke(world: World, headers: dict[str, str], record_id: uuid.UUID, **body: Any) -> Response:
    return await world.client.post(f"/records/{record_id}/revoke", json=body, headers=fresh(world, headers))


async def versions(world: World, headers: dict[str, str], record_id: uuid.UUID | str) -> Response:
    return await world.client.get(f"/records/{record_id}/versions", headers=fresh(world, headers))


def at(ev: Event, minute: int) -> str:
    return (ev.starts_at + timedelta(minutes=minute)).isoformat()


async def audited_record(world: World, minutes: int = 120) -> tuple[Event, dict[str, str], uuid.UUID]:
    ev, volunteer, record_id = await settled(world, minutes=minutes)
    await confirm(world, ev.admin, record_id)
    assert (await decide(world, await world.auditor(), record_id, approve=True))["done"] == [str(record_id)]
    return ev, volunteer, record_id


async def row(record_id: uuid.UUID | str) -> dict[str, Any]:
    found = await ServiceRecord.select().where(ServiceRecord.id == record_id).first()
    assert found is not None
    return found


async def test_a_correction_is_a_new_version_pointing_to_the_old_one(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    before = await row(record_id)
    new = await corrected(world, ev.admin, record_id, ended_at=at(ev, 90), reason="志愿者提前离场")
    assert new["supersedes"] == str(record_id) and new["id"] != str(record_id)
    assert (new["version"], new["status"], new["source"], new["credited_minutes"]) == (
        2,
        "pending",
        "correction",
        90,
    )
    assert (new["verified"], new["reason"], new["recorder_id"]) == (
        False,
        "志愿者提前离场",
        account_of(ev.admin),
    )
    assert new["activity_name"] == before["activity_name"] and new["place"] == before["place"]
    after = await row(record_id)
    assert after["status"] == "superseded"
    assert {k: v for k, v in after.items() if k != "status"} == {
        k: v for k, v in before.items() if k != "status"
    }
    mine = await world.client.get("/volunteers/me/service", headers=fresh(world, volunteer))
    assert (mine.json()["total_minutes"], mine.json()["pending_minutes"]) == (90, 90)


async def test_minutes_never_exceed_the_session(world: World) -> None:
    ev, _, record_id = await settled(world, minutes=120)
    new = await corrected(
        world, ev.admin, record_id, started_at=at(ev, -30), ended_at=at(ev, 150), reason="补记"
    )
    assert (new["credited_minutes"], new["started_at"][:16]) == (120, at(ev, -30)[:16])


async def test_changing_only_the_text_keeps_the_minutes_and_the_scan_verification(world: World) -> None:
    ev, _, record_id = await settled(world, minutes=100)
    new = await corrected(world, ev.admin, record_id, activity_name="敬老院读报", reason="活动名称写错")
    assert (new["activity_name"], new["credited_minutes"], new["verified"]) == ("敬老院读报", 100, True)


async def test_versions_show_the_whole_chain_to_those_who_may_see_it(world: World) -> None:
    ev, volunteer, first = await settled(world)
    second = (await corrected(world, ev.admin, first, ended_at=at(ev, 100), reason="提前离场"))["id"]
    auditor = await world.auditor()
    third = (await corrected(world, auditor, second, place="鳌山路2号", reason="地点有误"))["id"]
    for who in (volunteer, ev.admin, auditor):
        reply = await versions(world, who, second)
        assert reply.status_code == 200, reply.text
        chain = reply.json()
        assert [(v["id"], v["version"], v["status"]) for v in chain] == [
            (str(first), 1, "superseded"),
            (second, 2, "superseded"),
            (third, 3, "pending"),
        ]
        assert [v["supersedes"] for v in chain] == [None, str(first), second]
        assert [v["credited_minutes"] for v in chain] == [120, 100, 100]
        assert [v["reason"] for v in chain] == [None, "提前离场", "地点有误"]
    assert [v["id"] for v in (await versions(world, volunteer, first)).json()] == [str(first), second, third]
    other_volunteer, _ = await world.volunteer()
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    for who in (other_volunteer, other_admin, await world.auditor(OTHER_STREET)):
        refused(await versions(world, who, second), errors.FORBIDDEN)
    refused(await versions(world, volunteer, uuid.uuid4()), errors.RECORD_NOT_FOUND)


async def test_correcting_an_audited_record_takes_its_minutes_out_of_the_audited_total(world: World) -> None:
    ev, volunteer, record_id = await audited_record(world)
    assert (await summary(world, volunteer))["audited_minutes"] == 120
    new = await corrected(world, ev.admin, record_id, ended_at=at(ev, 60), reason="实际服务1小时")
    after = await summary(world, volunteer)
    assert (after["audited_minutes"], after["pending_minutes"], after["total_minutes"]) == (0, 60, 60)
    new_id = uuid.UUID(new["id"])
    await confirm(world, ev.admin, new_id)
    assert (await decide(world, await world.auditor(), new_id, approve=True))["done"] == [str(new_id)]
    assert (await summary(world, volunteer))["audited_minutes"] == 60


async def test_racing_corrections_make_one_new_version(world: World) -> None:
    ev, _, record_id = await settled(world)
    replies = await asyncio.gather(
        correct(world, ev.admin, record_id, ended_at=at(ev, 90), reason="第一次更正"),
        correct(world, ev.admin, record_id, ended_at=at(ev, 60), reason="第二次更正"),
    )
    assert sorted(r.status_code for r in replies) == [201, 409]
    loser = next(r.json() for r in replies if r.status_code == 409)
    # Which one it is depends on when the loser read the record: before or after the winner committed.
    assert loser["code"] in {"RECORD_CHANGED", "RECORD_NOT_CORRECTABLE"}
    assert loser["message"] == errors.CATALOG[loser["code"]].message
    assert await ServiceRecord.count().where(ServiceRecord.supersedes == record_id) == 1
    assert await status_of(record_id) == "superseded"


async def test_a_correction_needs_a_reason(world: World) -> None:
    ev, _, record_id = await settled(world)
    refused(await correct(world, ev.admin, record_id, ended_at=at(ev, 90)), errors.REASON_REQUIRED)
    refused(
        await correct(world, ev.admin, record_id, ended_at=at(ev, 90), reason="  "), errors.REASON_REQUIRED
    )
    assert await status_of(record_id) == "pending"


async def test_a_correction_must_change_something_and_keep_time_in_order(world: World) -> None:
    ev, _, record_id = await settled(world)
    same = await correct(
        world, ev.admin, record_id, ended_at=at(ev, 120), activity_name="鳌山社区敬老院陪伴", reason="核对"
    )
    refused(same, errors.CORRECTION_NO_CHANGE)
    refused(
        await correct(world, ev.admin, record_id, ended_at=at(ev, 0), reason="核对"),
        errors.TIME_RANGE_INVALID,
    )
    assert await status_of(record_id) == "pending"


async def test_a_superseded_or_rejected_record_cannot_be_corrected(world: World) -> None:
    ev, _, record_id = await settled(world)
    await corrected(world, ev.admin, record_id, ended_at=at(ev, 90), reason="提前离场")
    refused(
        await correct(world, ev.admin, record_id, ended_at=at(ev, 60), reason="再改"),
        errors.RECORD_NOT_CORRECTABLE,
    )
    _, _, rejected = await settled(world, org=(ev.org_id, ev.admin))
    await confirm(world, ev.admin, rejected)
    await decide(world, await world.auditor(), rejected, approve=False, reason="未到场")
    refused(
        await correct(world, ev.admin, rejected, ended_at=at(ev, 60), reason="补正"),
        errors.RECORD_NOT_CORRECTABLE,
    )


async def test_only_the_recording_organization_and_its_auditors_may_correct(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    refused(
        await correct(world, other_admin, record_id, ended_at=at(ev, 90), reason="改"), errors.OUT_OF_SCOPE
    )
    other_auditor = await world.auditor(OTHER_STREET)
    refused(
        await correct(world, other_auditor, record_id, ended_at=at(ev, 90), reason="改"), errors.OUT_OF_SCOPE
    )
    refused(await correct(world, volunteer, record_id, ended_at=at(ev, 90), reason="改"), errors.FORBIDDEN)
    refused(
        await correct(world, ev.admin, uuid.uuid4(), ended_at=at(ev, 90), reason="改"),
        errors.RECORD_NOT_FOUND,
    )
    assert await status_of(record_id) == "pending"
    new = await corrected(world, await world.auditor(), record_id, ended_at=at(ev, 90), reason="审核员更正")
    assert new["credited_minutes"] == 90


async def test_an_auditor_revokes_only_audited_records(world: World) -> None:
    ev, volunteer, record_id = await audited_record(world, minutes=90)
    _, _, pending = await settled(world, org=(ev.org_id, ev.admin))
    auditor = await world.auditor()
    refused(await revoke(world, auditor, pending, reason="虚假记录"), errors.RECORD_NOT_REVOCABLE)
    refused(await revoke(world, auditor, record_id), errors.REASON_REQUIRED)
    refused(
        await revoke(world, await world.auditor(OTHER_STREET), record_id, reason="虚假"), errors.OUT_OF_SCOPE
    )
    refused(await revoke(world, ev.admin, record_id, reason="虚假"), errors.FORBIDDEN)
    assert (await summary(world, volunteer))["audited_minutes"] == 90
    reply = await revoke(world, auditor, record_id, reason="活动系例行会议，不属志愿服务")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["status"], body["status_reason"]) == ("revoked", "活动系例行会议，不属志愿服务")
    assert (await summary(world, volunteer))["audited_minutes"] == 0
    refused(await revoke(world, auditor, record_id, reason="再次"), errors.RECORD_NOT_REVOCABLE)
    refused(
        await correct(world, ev.admin, record_id, ended_at=at(ev, 30), reason="改"),
        errors.RECORD_NOT_CORRECTABLE,
    )


async def test_corrections_and_revocations_are_logged_and_the_chain_verifies(world: World) -> None:
    ev, _, record_id = await audited_record(world)
    before = await AuditEntry.count()
    new = await corrected(world, ev.admin, record_id, ended_at=at(ev, 60), reason="实际服务1小时")
    new_id = uuid.UUID(new["id"])
    await confirm(world, ev.admin, new_id)
    auditor = await world.auditor()
    await decide(world, auditor, new_id, approve=True)
    assert (await revoke(world, auditor, new_id, reason="重复记录")).status_code == 200
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.subject_id, AuditEntry.detail).order_by(
        AuditEntry.seq
    )
    ours = [
        (
            e["action"],
            e["subject_id"],
            json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"],
        )
        for e in entries[before:]
    ]
    assert [(a, s) for a, s, _ in ours] == [
        ("record.correct", str(new_id)),
        ("record.confirm", str(new_id)),
        ("record.audit", str(new_id)),
        ("record.revoke", str(new_id)),
    ]
    assert ours[0][2] == {
        "supersedes": str(record_id),
        "version": 2,
        "status_from": "audited",
        "minutes_from": 120,
        "minutes_to": 60,
        "changed": ["ended_at"],
        "reason": "实际服务1小时",
    }
    assert ours[3][2] == {
        "status_from": "audited",
        "status_to": "revoked",
        "credited_minutes": 60,
        "reason": "重复记录",
    }
    report = await world.client.get("/audit-log/verify", headers=fresh(world, auditor))
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True


async def test_correcting_an_audited_record_revokes_the_certificate_that_counted_it(world: World) -> None:
    ev, volunteer, record_id = await audited_record(world)
    day = ev.starts_at.date().isoformat()
    body = {"period_from": day, "period_to": day}
    issued = await world.client.post(
        "/volunteers/me/certificates", json=body, headers=fresh(world, volunteer)
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    await corrected(world, ev.admin, record_id, ended_at=at(ev, 60), reason="实际服务1小时")
    assert (await world.client.get(f"/public/certificates/{number}")).json()["status"] == "revoked"


async def test_an_auditor_revoking_a_record_revokes_the_certificate_that_counted_it(world: World) -> None:
    ev, volunteer, record_id = await audited_record(world)
    day = ev.starts_at.date().isoformat()
    body = {"period_from": day, "period_to": day}
    issued = await world.client.post(
        "/volunteers/me/certificates", json=body, headers=fresh(world, volunteer)
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert (await revoke(world, await world.auditor(), record_id, reason="虚假记录")).status_code == 200
    assert (await world.client.get(f"/public/certificates/{number}")).json()["status"] == "revoked"


async def test_a_correction_decided_on_a_stale_version_changes_nothing(world: World) -> None:
    """What a racing correction meets when it read the record before the winner committed."""
    ev, _, record_id = await settled(world)
    stale = await corrections.load_record(record_id)
    await corrected(world, ev.admin, record_id, ended_at=at(ev, 90), reason="先到的更正")
    actor = await load_principal(uuid.UUID(account_of(ev.admin)))
    changes = corrections.Changes(ended_at=ev.starts_at + timedelta(minutes=60))
    with pytest.raises(DomainError) as raised:
        async with write_transaction():
            await corrections.supersede(
                actor, stale, changes, "后到的更正", RecordRules.from_settings(world.settings), world.clock()
            )
    assert raised.value.error is errors.RECORD_CHANGED
    assert await ServiceRecord.count().where(ServiceRecord.supersedes == record_id) == 1
