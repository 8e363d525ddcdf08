"""Rule 18: a volunteer asks for a correction, the recording organization must answer, and the whole exchange
stays: accepting makes the new version, declining keeps the record and the reason why."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from httpx import Response

import errors
from tests.builders import OTHER_COMMUNITY, OTHER_STREET, World
from tests.scan_builders import fresh
from tests.test_corrections import account_of, at, corrected, refused, versions
from tests.test_records import settled, status_of
from volunteer.tables import AuditEntry


async def ask(world: World, volunteer: dict[str, str], record_id: uuid.UUID | str, **body: Any) -> Response:
    url = f"/volunteers/me/records/{record_id}/correction-requests"
    return await world.client.post(url, json=body, headers=fresh(world, volunteer))


async def asked(
    world: World, volunteer: dict[str, str], record_id: uuid.UUID | str, **body: Any
) -> dict[str, Any]:
    reply = await ask(world, volunteer, record_id, **body)
    assert reply.status_code == 201, reply.text
    request: dict[str, Any] = reply.json()
    return request


async def answer(world: World, headers: dict[str, str], request_id: str, **body: Any) -> Response:
    return await world.client.post(
        f"/correction-requests/{request_id}/answer", json=body, headers=fresh(world, headers)
    )


async def listed(world: World, headers: dict[str, str], url: str, **params: Any) -> list[dict[str, Any]]:
    reply = await world.client.get(url, params=params, headers=fresh(world, headers))
    assert reply.status_code == 200, reply.text
    rows: list[dict[str, Any]] = reply.json()
    return rows


async def test_the_organization_accepts_and_the_new_version_is_linked_from_the_request(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    request = await asked(
        world, volunteer, record_id, message="我10:30就离开了，应记1.5小时", proposed_ended_at=at(ev, 90)
    )
    assert (request["status"], request["record_id"], request["answer"]) == ("open", str(record_id), None)
    assert request["proposed_ended_at"][:16] == at(ev, 90)[:16]
    inbox = await listed(world, ev.admin, "/notifications")
    assert [(n["kind"], n["title"]) for n in inbox] == [("correction_request.new", "志愿者申请更正服务记录")]
    reply = await answer(world, ev.admin, request["id"], accept=True, answer="核实属实，按1.5小时更正")
    assert reply.status_code == 200, reply.text
    done = reply.json()
    assert (done["status"], done["answer"], done["answered_by"]) == (
        "accepted",
        "核实属实，按1.5小时更正",
        account_of(ev.admin),
    )
    chain = (await versions(world, volunteer, record_id)).json()
    assert [v["id"] for v in chain] == [str(record_id), done["correction_id"]]
    assert (chain[1]["credited_minutes"], chain[1]["reason"], chain[1]["status"]) == (
        90,
        "核实属实，按1.5小时更正",
        "pending",
    )
    assert await status_of(record_id) == "superseded"
    told = await listed(world, volunteer, "/notifications")
    assert [(n["kind"], n["title"]) for n in told] == [
        ("correction_request.answered", "您的更正申请已同意并更正记录")
    ]
    mine = await listed(world, volunteer, "/volunteers/me/correction-requests")
    assert [(r["id"], r["status"], r["correction_id"]) for r in mine] == [
        (request["id"], "accepted", done["correction_id"])
    ]


async def test_a_declined_request_keeps_the_exchange_and_the_record(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    first = await asked(world, volunteer, record_id, message="活动名称不对")
    reply = await answer(world, ev.admin, first["id"], accept=False, answer="名称与项目一致，无需更正")
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["correction_id"]) == ("declined", None)
    assert await status_of(record_id) == "pending"
    refused(
        await answer(world, ev.admin, first["id"], accept=True, answer="改主意了"),
        errors.CORRECTION_REQUEST_NOT_FOUND,
    )
    world.clock.now += timedelta(minutes=5)
    second = await asked(world, volunteer, record_id, message="请再核实")
    mine = await listed(world, volunteer, "/volunteers/me/correction-requests")
    assert [(r["id"], r["status"], r["message"], r["answer"]) for r in mine] == [
        (second["id"], "open", "请再核实", None),
        (first["id"], "declined", "活动名称不对", "名称与项目一致，无需更正"),
    ]


async def test_one_open_request_per_record(world: World) -> None:
    _, volunteer, record_id = await settled(world)
    await asked(world, volunteer, record_id, message="时长不对")
    refused(await ask(world, volunteer, record_id, message="再问一次"), errors.CORRECTION_REQUEST_OPEN)


async def test_a_volunteer_asks_only_about_their_own_live_records(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    other, _ = await world.volunteer()
    refused(await ask(world, other, record_id, message="这是我的"), errors.RECORD_NOT_FOUND)
    refused(await ask(world, volunteer, record_id, message="  "), errors.REASON_REQUIRED)
    refused(
        await ask(world, volunteer, record_id, message="时间", proposed_ended_at=at(ev, -5)),
        errors.TIME_RANGE_INVALID,
    )
    await corrected(world, ev.admin, record_id, ended_at=at(ev, 90), reason="提前离场")
    refused(await ask(world, volunteer, record_id, message="时长不对"), errors.RECORD_NOT_CORRECTABLE)


async def test_only_the_recording_organization_answers_and_an_answer_is_required(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    request = await asked(world, volunteer, record_id, message="时长不对", proposed_ended_at=at(ev, 100))
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    refused(
        await answer(world, other_admin, request["id"], accept=False, answer="不同意"), errors.OUT_OF_SCOPE
    )
    refused(
        await answer(world, await world.auditor(), request["id"], accept=False, answer="不同意"),
        errors.FORBIDDEN,
    )
    refused(await answer(world, ev.admin, request["id"], accept=True, answer=" "), errors.ANSWER_REQUIRED)
    refused(
        await answer(world, ev.admin, str(uuid.uuid4()), accept=True, answer="好"),
        errors.CORRECTION_REQUEST_NOT_FOUND,
    )
    # Accepting with times equal to the record's changes nothing: refused, and the request stays open.
    same = await answer(world, ev.admin, request["id"], accept=True, answer="同意", ended_at=at(ev, 120))
    refused(same, errors.CORRECTION_NO_CHANGE)
    assert (await listed(world, volunteer, "/volunteers/me/correction-requests"))[0]["status"] == "open"


async def test_the_organization_and_its_auditors_see_its_requests(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    _, other_volunteer, other_id = await settled(world, org=(ev.org_id, ev.admin))
    first = await asked(world, volunteer, record_id, message="时长不对")
    world.clock.now += timedelta(minutes=5)
    second = await asked(world, other_volunteer, other_id, message="地点不对")
    await answer(world, ev.admin, second["id"], accept=False, answer="地点无误")
    url = f"/organizations/{ev.org_id}/correction-requests"
    assert [r["id"] for r in await listed(world, ev.admin, url)] == [first["id"], second["id"]]
    assert [r["id"] for r in await listed(world, await world.auditor(), url, status="open")] == [first["id"]]
    assert [r["id"] for r in await listed(world, ev.admin, url, status="declined")] == [second["id"]]
    _, other_admin = await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY)
    for who in (other_admin, await world.auditor(OTHER_STREET)):
        refused(await world.client.get(url, headers=fresh(world, who)), errors.OUT_OF_SCOPE)
    refused(await world.client.get(url, headers=fresh(world, volunteer)), errors.FORBIDDEN)


async def test_answers_are_logged_and_the_chain_verifies(world: World) -> None:
    ev, volunteer, record_id = await settled(world)
    request = await asked(world, volunteer, record_id, message="时长不对", proposed_ended_at=at(ev, 100))
    before = await AuditEntry.count()
    done = (await answer(world, ev.admin, request["id"], accept=True, answer="同意")).json()
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
        ("record.correct", done["correction_id"]),
        ("correction_request.answer", request["id"]),
    ]
    assert ours[1][2] == {
        "status_to": "accepted",
        "record": str(record_id),
        "correction": done["correction_id"],
    }
    report = await world.client.get("/audit-log/verify", headers=await world.auditor())
    assert report.status_code == 200 and report.json()["ok"] is True
