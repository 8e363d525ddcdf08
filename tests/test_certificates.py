"""Rule 23: certificates are free, built only from audited records, verified publicly by number with
nothing about the person, and revoked with a reason — by an auditor, or when a record they counted goes."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.builders import COMMUNITY, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import fresh
from tests.test_certificate_pdf import page_texts
from tests.test_records import decide
from volunteer import certificates
from volunteer.certificates import NUMBER_ALPHABET, new_number, normalize_number
from volunteer.db import write_transaction
from volunteer.hours import CHINA
from volunteer.tables import AuditEntry, Certificate, CertificateRecord, ServiceRecord

NUMBER = re.compile(rf"^ZYZM2026[{NUMBER_ALPHABET}]{{10}}$")
NOVEMBER = {"period_from": "2026-11-01", "period_to": "2026-11-20"}


@dataclass
class Setup:
    volunteer: dict[str, str]  # headers
    volunteer_id: str
    auditor: dict[str, str]
    org_a: uuid.UUID
    project_a: str
    org_b: uuid.UUID
    project_b: str


async def setup(world: World, *, org_b_region: str = COMMUNITY) -> Setup:
    org_a, admin_a = await world.organization()
    org_b, admin_b = await world.organization(name="鳌山社区环保志愿服务队", region=org_b_region)
    project_a = await world.project(org_a, admin_a)
    project_b = await world.project(
        org_b,
        admin_b,
        title="江边垃圾清理",
        category="environment",
        region_code=org_b_region,
        person_in_charge="王老师",
        contact_phone="021-59610000",
    )
    headers, profile = await world.volunteer()
    return Setup(
        headers, profile["id"], await world.auditor(), org_a, project_a["id"], org_b, project_b["id"]
    )


async def record(
    s: Setup,
    *,
    day: date,
    minutes: int,
    org: str = "a",
    status: str = "confirmed",
    activity: str = "鳌山社区敬老院陪伴",
    person: str = "李队长",
) -> uuid.UUID:
    """A record as settlement leaves it (test setup); audit it through the API with `audited`."""
    start = datetime.combine(day, time(9), CHINA)
    row = ServiceRecord(
        volunteer=s.volunteer_id,
        organization=s.org_a if org == "a" else s.org_b,
        project=s.project_a if org == "a" else s.project_b,
        activity_name=activity,
        service_date=day,
        place="上海市崇明区城桥镇鳌山路 1 号",
        content="陪伴老人聊天、读报",
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        credited_minutes=minutes,
        person_in_charge=person,
        source="scan",
        status=status,
        verified=True,
        created_at=start + timedelta(days=1),
    )
    await row.save()
    return row.id


async def audited(world: World, s: Setup, *ids: uuid.UUID) -> None:
    result = await decide(world, s.auditor, *ids, approve=True)
    assert result["done"] == [str(i) for i in ids], result


async def issue(world: World, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    reply = await world.client.post(
        "/volunteers/me/certificates", json={**NOVEMBER, **body}, headers=fresh(world, headers)
    )
    assert reply.status_code == 201, reply.text
    issued: dict[str, Any] = reply.json()
    return issued


async def issue_refused(world: World, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    reply = await world.client.post(
        "/volunteers/me/certificates", json={**NOVEMBER, **body}, headers=fresh(world, headers)
    )
    assert reply.status_code >= 400, reply.text
    refused: dict[str, Any] = reply.json()
    return {"status": reply.status_code, "code": refused["code"], "message": refused["message"]}


async def public(world: World, number: str) -> tuple[int, dict[str, Any]]:
    reply = await world.client.get(f"/public/certificates/{number}")
    return reply.status_code, reply.json()


async def revoke(
    world: World, headers: dict[str, str], number: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    reply = await world.client.post(
        f"/certificates/{number}/revoke", json=body, headers=fresh(world, headers)
    )
    return reply.status_code, reply.json()


async def audited_november(world: World) -> tuple[Setup, uuid.UUID, uuid.UUID]:
    """120 audited minutes at org A on 11-10, 90 at org B on 11-12: (setup, record A, record B)."""
    s = await setup(world)
    a = await record(s, day=date(2026, 11, 10), minutes=120)
    b = await record(s, day=date(2026, 11, 12), minutes=90, org="b", activity="江边垃圾清理", person="王老师")
    await audited(world, s, a, b)
    return s, a, b


async def test_only_audited_minutes_of_the_period_are_certified(world: World) -> None:
    s, _, _ = await audited_november(world)
    await record(s, day=date(2026, 11, 11), minutes=60)  # confirmed, not audited
    rejected = await record(s, day=date(2026, 11, 13), minutes=45)
    assert (await decide(world, s.auditor, rejected, approve=False, reason="重复记录"))["done"]
    outside = await record(s, day=date(2026, 10, 31), minutes=30)
    await audited(world, s, outside)

    issued = await issue(world, s.volunteer)

    assert NUMBER.match(issued["number"]), issued["number"]
    assert issued["minutes"] == 210
    assert issued["hours"] == "3.5"
    assert issued["record_count"] == 2
    assert issued["status"] == "valid"
    assert issued["organization_id"] is None
    assert (issued["period_from"], issued["period_to"]) == ("2026-11-01", "2026-11-20")
    content = (await Certificate.select(Certificate.content).first())["content"]  # type: ignore[index]
    units = json.loads(content) if isinstance(content, str) else content
    assert [(u["name"], u["person_in_charge"], u["phone"], u["minutes"]) for u in units["units"]] == [
        ("城桥镇鳌山社区志愿服务队", "李队长", "021-59612345", 120),
        ("鳌山社区环保志愿服务队", "王老师", "021-59612345", 90),
    ]
    assert units["issuer"] == "上海市崇明区精神文明建设委员会办公室"


async def test_one_organization_only_counts_its_records(world: World) -> None:
    s, _, _ = await audited_november(world)

    issued = await issue(world, s.volunteer, organization_id=str(s.org_b))

    assert (issued["minutes"], issued["record_count"], issued["hours"]) == (90, 1, "1.5")
    assert issued["organization_id"] == str(s.org_b)


async def test_issuing_appends_an_audit_entry_without_personal_data(world: World) -> None:
    s, _, _ = await audited_november(world)

    issued = await issue(world, s.volunteer)

    entry = await AuditEntry.select().where(AuditEntry.action == "certificate.issue").first()
    assert entry is not None
    detail = json.loads(entry["detail"]) if isinstance(entry["detail"], str) else entry["detail"]
    assert detail == {"number": issued["number"], "minutes": 210, "record_count": 2}
    assert entry["subject_type"] == "certificate"
    assert entry["region_path"].startswith("310151/310151101/")


async def test_numbers_are_unique_per_certificate(world: World) -> None:
    s, _, _ = await audited_november(world)

    numbers = {(await issue(world, s.volunteer))["number"] for _ in range(3)}

    assert len(numbers) == 3
    listed = await world.client.get("/volunteers/me/certificates", headers=fresh(world, s.volunteer))
    assert {c["number"] for c in listed.json()} == numbers


async def test_the_pdf_states_what_rule_23_lists(world: World) -> None:
    s, _, _ = await audited_november(world)
    issued = await issue(world, s.volunteer)

    reply = await world.client.get(issued["pdf_url"], headers=fresh(world, s.volunteer))

    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/pdf")
    assert reply.content.startswith(b"%PDF-")
    (text,) = page_texts(reply.content)
    profile = (await world.client.get("/volunteers/me", headers=fresh(world, s.volunteer))).json()
    masked = profile["id_number"][:4] + "**********" + profile["id_number"][-4:]
    for expected in (
        f"兹证明张小明（身份证号{masked}，志愿者编号{profile['volunteer_no']}）",
        "于2026年11月1日至2026年11月20日期间参加志愿服务，累计服务时长3.5小时",
        "城桥镇鳌山社区志愿服务队负责人：李队长联系电话：021-59612345",
        "鳌山社区敬老院陪伴",
        "江边垃圾清理",
        f"证明编号：{issued['number']}",
        "出具日期：2026年11月21日",
    ):
        assert expected in text, expected
    assert profile["id_number"] not in text


async def test_another_volunteer_cannot_download_my_pdf(world: World) -> None:
    s, _, _ = await audited_november(world)
    issued = await issue(world, s.volunteer)
    other, _ = await world.volunteer(name="李四")

    reply = await world.client.get(issued["pdf_url"], headers=other)

    assert reply.status_code == 404
    assert reply.json()["code"] == "CERTIFICATE_NOT_FOUND"
    mine = await world.client.get("/volunteers/me/certificates", headers=other)
    assert mine.json() == []


async def test_anyone_verifies_by_number_and_sees_nothing_about_the_person(world: World) -> None:
    s, _, _ = await audited_november(world)
    issued = await issue(world, s.volunteer)

    status, body = await public(world, issued["number"])

    assert status == 200
    assert body == {
        "number": issued["number"],
        "period_from": "2026-11-01",
        "period_to": "2026-11-20",
        "hours": "3.5",
        "status": "valid",
    }
    assert (await public(world, issued["number"].lower()))[1] == body  # typed from paper


async def test_an_unknown_number_is_not_found(world: World) -> None:
    for number in (new_number(2026), "nonsense"):
        status, body = await public(world, number)
        assert (status, body["code"], body["message"]) == (
            404,
            "CERTIFICATE_NOT_FOUND",
            "未找到该志愿服务记录证明",
        )


async def test_an_auditor_revokes_with_a_reason_and_the_public_answer_follows(world: World) -> None:
    s, _, _ = await audited_november(world)
    number = (await issue(world, s.volunteer))["number"]

    status, body = await revoke(world, s.auditor, number, reason="服务记录经核查不实")

    assert status == 200, body
    assert (body["status"], body["revoke_reason"]) == ("revoked", "服务记录经核查不实")
    status, verified = await public(world, number)
    assert verified["status"] == "revoked"
    assert set(verified) == {"number", "period_from", "period_to", "hours", "status", "revoked_at"}
    assert datetime.fromisoformat(verified["revoked_at"]) == world.clock()
    entry = await AuditEntry.select().where(AuditEntry.action == "certificate.revoke").first()
    assert entry is not None

    again = await revoke(world, s.auditor, number, reason="再次撤销")
    assert again[0] == 409
    assert (again[1]["code"], again[1]["message"]) == ("CERTIFICATE_ALREADY_REVOKED", "该证明已被撤销")
    pdf = await world.client.get(
        f"/volunteers/me/certificates/{number}.pdf", headers=fresh(world, s.volunteer)
    )
    assert (pdf.status_code, pdf.json()["code"]) == (409, "CERTIFICATE_ALREADY_REVOKED")


async def test_revoking_needs_a_reason(world: World) -> None:
    s, _, _ = await audited_november(world)
    number = (await issue(world, s.volunteer))["number"]

    for body in ({}, {"reason": "  "}):
        status, refused = await revoke(world, s.auditor, number, **body)
        assert (status, refused["code"], refused["message"]) == (422, "REASON_REQUIRED", "请填写原因")
    assert (await public(world, number))[1]["status"] == "valid"


async def test_an_auditor_of_another_region_cannot_revoke(world: World) -> None:
    s, _, _ = await audited_november(world)
    number = (await issue(world, s.volunteer))["number"]

    status, refused = await revoke(world, await world.auditor(OTHER_STREET), number, reason="越权")
    assert (status, refused["code"]) == (403, "OUT_OF_SCOPE")
    status, refused = await revoke(world, s.volunteer, number, reason="本人")
    assert (status, refused["code"]) == (403, "FORBIDDEN")
    assert (await public(world, number))[1]["status"] == "valid"
    assert (await revoke(world, await world.auditor(STREET), number, reason="核查不实"))[0] == 200


async def test_the_auditor_of_a_recording_units_region_may_revoke(world: World) -> None:
    s = await setup(world, org_b_region=OTHER_COMMUNITY)
    b = await record(s, day=date(2026, 11, 12), minutes=90, org="b")
    await audited(world, s, b)
    number = (await issue(world, s.volunteer))["number"]

    status, body = await revoke(world, await world.auditor(OTHER_STREET), number, reason="记录单位核查不实")

    assert (status, body["status"]) == (200, "revoked")


async def test_a_withdrawn_record_revokes_the_certificates_that_counted_it(world: World) -> None:
    s, a, _ = await audited_november(world)
    counted = await issue(world, s.volunteer)  # records A and B
    not_counted = await issue(world, s.volunteer, organization_id=str(s.org_b))  # record B only

    async with write_transaction():
        await ServiceRecord.update({ServiceRecord.status: "revoked"}).where(ServiceRecord.id == a)
        revoked = await certificates.records_withdrawn([a], "虚报时长", None, world.clock())

    rows = await Certificate.select(
        Certificate.id, Certificate.number, Certificate.status, Certificate.revoke_reason
    )
    by_number = {r["number"]: r for r in rows}
    assert revoked == [by_number[counted["number"]]["id"]]
    assert by_number[counted["number"]]["status"] == "revoked"
    assert by_number[counted["number"]]["revoke_reason"] == "所含服务记录已撤销：虚报时长"
    assert by_number[not_counted["number"]]["status"] == "valid"
    assert (await public(world, counted["number"]))[1]["status"] == "revoked"
    entry = await AuditEntry.select().where(AuditEntry.action == "certificate.revoke").first()
    assert entry is not None
    detail = json.loads(entry["detail"]) if isinstance(entry["detail"], str) else entry["detail"]
    assert detail == {
        "number": counted["number"],
        "cause": "record_withdrawn",
        "records": [str(a)],
        "reason": "虚报时长",
    }

    async with write_transaction():  # again: nothing left to revoke
        assert await certificates.records_withdrawn([a], "虚报时长", None, world.clock()) == []


async def test_a_busy_year_is_counted_record_by_record(world: World) -> None:
    s = await setup(world)
    start = datetime.combine(date(2026, 1, 1), time(9), CHINA)
    rows = [
        ServiceRecord(
            volunteer=s.volunteer_id,
            organization=s.org_a,
            project=s.project_a,
            activity_name=f"第{n}次陪伴",
            service_date=(start + timedelta(hours=13 * n)).astimezone(CHINA).date(),
            place="鳌山路 1 号",
            content="陪伴",
            started_at=start + timedelta(hours=13 * n),
            ended_at=start + timedelta(hours=13 * n, minutes=30),
            credited_minutes=30,
            person_in_charge="李队长",
            source="scan",
            status="audited",  # setup only: the audit path is exercised above
            verified=True,
            created_at=start,
        )
        for n in range(501)
    ]
    await ServiceRecord.insert(*rows)

    issued = await issue(world, s.volunteer, period_from="2026-01-01", period_to="2026-11-20")

    assert (issued["record_count"], issued["minutes"]) == (501, 501 * 30)
    assert await CertificateRecord.count() == 501


async def test_a_period_without_audited_minutes_gets_no_certificate(world: World) -> None:
    s = await setup(world)
    await record(s, day=date(2026, 11, 10), minutes=120)  # confirmed only

    refused = await issue_refused(world, s.volunteer)

    assert refused == {
        "status": 422,
        "code": "CERTIFICATE_NO_HOURS",
        "message": "该期间没有已审核的服务时长，无法开具证明",
    }
    assert await Certificate.count() == 0


async def test_a_backwards_or_future_period_is_refused(world: World) -> None:
    s, _, _ = await audited_november(world)
    expected = {"status": 422, "code": "PERIOD_INVALID", "message": "起止日期不正确"}

    assert (
        await issue_refused(world, s.volunteer, period_from="2026-11-20", period_to="2026-11-01") == expected
    )
    # The clock's China date is 2026-11-21: tomorrow is the future.
    assert await issue_refused(world, s.volunteer, period_to="2026-11-22") == expected
    assert (await issue(world, s.volunteer, period_to="2026-11-21"))["minutes"] == 210


async def test_an_unregistered_account_is_told_to_register(world: World) -> None:
    tokens = await world.wechat_login()
    refused = await issue_refused(world, {"Authorization": f"Bearer {tokens['access_token']}"})
    assert (refused["status"], refused["code"]) == (404, "VOLUNTEER_NOT_REGISTERED")


def test_the_public_route_needs_no_token_in_the_schema(app: Any) -> None:
    schema = app.openapi_schema.to_schema()
    public_op = schema["paths"]["/public/certificates/{number}"]["get"]
    assert not public_op.get("security")  # no requirement: anyone may call it
    assert "401" not in public_op["responses"]
    assert schema["paths"]["/certificates/{number}/revoke"]["post"]["security"] == [{"BearerToken": []}]


@given(st.integers(min_value=2000, max_value=2099))
def test_a_number_survives_being_typed_back(year: int) -> None:
    number = new_number(year)
    assert normalize_number(number) == number
    assert normalize_number(f" {number[:8].lower()}-{number[8:13]} {number[13:]} ") == number
    assert normalize_number(number.replace(number[-1], "O")) is None
