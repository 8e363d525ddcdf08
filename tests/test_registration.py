"""Real-name registration (DOMAIN rules 1-5) through the API."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import pytest

from tests.builders import COMMUNITY, OTHER_COMMUNITY, World, id_number
from volunteer.tables import ConsentRecord, Volunteer


def entered_by_organization(number: str) -> dict[str, Any]:
    """What a team enters for an older resident who consented in writing."""
    return {
        "volunteer": {
            "name": "王阿姨",
            "id_type": "resident_id",
            "id_number": number,
            "region_code": COMMUNITY,
            "phone": "13611112222",
        },
        "consent": {
            "consenting_person": "王阿姨",
            "method": "written",
            "consented_at": "2026-11-20T08:00:00Z",
        },
    }


async def login_headers(world: World) -> dict[str, str]:
    tokens = await world.wechat_login()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_registration_takes_gender_and_birth_date_from_the_id_number(world: World) -> None:
    headers = await login_headers(world)
    number = id_number(date(1988, 12, 1), seq=135)  # odd sequence digit: male
    reply = await world.register(headers, id_number=number, gender="female", birth_date="2000-01-01")
    assert reply.status_code == 201, reply.text
    profile = reply.json()
    assert (profile["gender"], profile["birth_date"]) == ("male", "1988-12-01")
    assert profile["id_number"] == number and profile["masked"] is False
    assert len(profile["volunteer_no"]) == 12 and profile["volunteer_no"] not in number


async def test_id_number_and_phone_are_encrypted_at_rest(world: World) -> None:
    headers = await login_headers(world)
    number = id_number()
    await world.register(headers, id_number=number, phone="13812345678")
    row = await Volunteer.objects().first()
    assert row is not None
    assert number not in row.id_number_enc and "13812345678" not in row.phone_enc
    assert row.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert world.pii.decrypt(row.id_number_enc, purpose="id_number") == number


async def test_self_registration_records_the_persons_consent(world: World) -> None:
    _, profile = await world.volunteer()
    consents = await ConsentRecord.select().where(ConsentRecord.volunteer == profile["id"])
    assert [c["kind"] for c in consents] == ["self_registration"]


async def test_second_registration_with_the_same_id_number_is_rejected(world: World) -> None:
    number = id_number()
    await world.volunteer(id_number=number)
    reply = await world.register(await login_headers(world), id_number=number, name="李四")
    assert reply.status_code == 409
    assert reply.json()["code"] == "VOLUNTEER_ALREADY_REGISTERED"
    assert await Volunteer.count() == 1


async def test_two_registrations_racing_with_one_id_number_make_one_volunteer(world: World) -> None:
    number = id_number()
    first, second = await login_headers(world), await login_headers(world)
    replies = await asyncio.gather(
        world.register(first, id_number=number), world.register(second, id_number=number)
    )
    assert sorted(r.status_code for r in replies) == [201, 409]
    assert {r.json().get("code") for r in replies if r.status_code == 409} == {"VOLUNTEER_ALREADY_REGISTERED"}
    assert await Volunteer.count() == 1
    assert await ConsentRecord.count() == 1


async def test_one_account_registers_once(world: World) -> None:
    headers, _ = await world.volunteer()
    reply = await world.register(headers, id_number=id_number())
    assert reply.status_code == 409 and reply.json()["code"] == "ACCOUNT_ALREADY_REGISTERED"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("31015119900307123", "ID_NUMBER_INVALID"),  # 17 digits
        ("310151900307123", "ID_NUMBER_INVALID"),  # first-generation 15 digits
        (id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1"), "ID_CHECK_DIGIT_INVALID"),
        ("310151200002301235", "ID_BIRTH_DATE_INVALID"),  # 2月30日 (check digit fixed below)
        ("990151199003071235", "ID_REGION_INVALID"),
    ],
)
async def test_bad_id_numbers_get_their_own_code(world: World, number: str, code: str) -> None:
    from volunteer.identity import check_digit_mod11_2

    if code in ("ID_BIRTH_DATE_INVALID", "ID_REGION_INVALID"):
        number = number[:17] + check_digit_mod11_2(number[:17])
    if code == "ID_CHECK_DIGIT_INVALID":
        good = id_number()
        number = good[:17] + next(c for c in "0123456789X" if c != good[17])
    reply = await world.register(await login_headers(world), id_number=number)
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == code
    assert number not in reply.text  # the reply never echoes the number
    assert await Volunteer.count() == 0


async def test_a_birth_date_in_the_future_is_rejected(world: World) -> None:
    tomorrow = (world.clock() + timedelta(days=2)).date()
    reply = await world.register(await login_headers(world), id_number=id_number(tomorrow))
    assert reply.status_code == 422 and reply.json()["code"] == "ID_BIRTH_DATE_INVALID"


async def test_a_number_issued_under_a_former_district_code_stays_valid(world: World) -> None:
    # 310230 was 崇明县 until it became 崇明区 (310151) in 2016.
    reply = await world.register(await login_headers(world), id_number=id_number(prefix="310230"))
    assert reply.status_code == 201, reply.text


async def test_under_fourteen_is_refused(world: World) -> None:
    today = world.clock().date()
    thirteen = date(today.year - 13, today.month, 1)
    reply = await world.register(await login_headers(world), id_number=id_number(thirteen))
    assert reply.status_code == 422
    assert reply.json() == {
        "code": "UNDER_MINIMUM_AGE",
        "message": "未达到志愿者注册的最低年龄",
        "detail": {"min_age": 14},
    }


async def test_a_minor_needs_guardian_consent(world: World) -> None:
    today = world.clock().date()
    sixteen = id_number(date(today.year - 16, 1, 15))
    headers = await login_headers(world)
    refused = await world.register(headers, id_number=sixteen)
    assert refused.status_code == 422 and refused.json()["code"] == "GUARDIAN_CONSENT_REQUIRED"
    guardian = {"name": "张大明", "relation": "父亲", "phone": "13900001111", "consent": True}
    accepted = await world.register(headers, id_number=sixteen, guardian=guardian)
    assert accepted.status_code == 201, accepted.text
    kinds = {c["kind"] for c in await ConsentRecord.select(ConsentRecord.kind)}
    assert kinds == {"self_registration", "guardian"}


async def test_other_id_types_need_a_stated_birth_date_and_gender(world: World) -> None:
    headers = await login_headers(world)
    missing = await world.register(headers, id_type="passport", id_number="E12345678")
    assert missing.status_code == 422 and missing.json()["code"] == "BIRTH_DATE_REQUIRED"
    ok = await world.register(
        headers, id_type="passport", id_number="e12345678", gender="female", birth_date="1995-05-05"
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["id_number"] == "E12345678"


async def test_unknown_region_is_rejected(world: World) -> None:
    reply = await world.register(await login_headers(world), region_code="310151999999")
    assert reply.status_code == 404 and reply.json()["code"] == "REGION_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "REQUEST_MALFORMED"),
        (b'{"name": 42}', "REQUEST_INVALID"),
        (b"{}", "REQUEST_INVALID"),
    ],
)
async def test_malformed_bodies_get_a_clear_400(world: World, body: bytes, code: str) -> None:
    reply = await world.client.post(
        "/volunteers/me",
        content=body,
        headers={**await login_headers(world), "content-type": "application/json"},
    )
    assert reply.status_code == 400 and reply.json()["code"] == code
    assert reply.json()["message"]


@pytest.mark.parametrize(
    "override",
    [
        {"name": "张" * 51},
        {"skills": ["急救"] * 21},
        {"skills": ["很长的技能" * 5]},
        {"service_categories": ["paid_work"]},
        {"unknown_field": 1},
        {"phone": 13812345678},
    ],
)
async def test_wrong_types_and_over_long_fields_are_refused_before_anything_is_written(
    world: World, override: dict[str, object]
) -> None:
    reply = await world.register(await login_headers(world), **override)
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "REQUEST_INVALID"
    assert await Volunteer.count() == 0


async def test_invalid_phone_gets_its_own_code(world: World) -> None:
    reply = await world.register(await login_headers(world), phone="12345678901")
    assert reply.status_code == 422 and reply.json()["code"] == "PHONE_INVALID"


async def test_profile_before_registration_tells_how_to_register(world: World) -> None:
    reply = await world.client.get("/volunteers/me", headers=await login_headers(world))
    assert reply.status_code == 404
    assert reply.json()["code"] == "VOLUNTEER_NOT_REGISTERED"
    assert "注册" in reply.json()["message"]


async def test_profile_edit_changes_contact_details_but_never_name_or_id(world: World) -> None:
    headers, profile = await world.volunteer()
    reply = await world.client.patch(
        "/volunteers/me",
        json={"phone": "13700000000", "region_code": OTHER_COMMUNITY, "skills": ["法律咨询"]},
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    updated = reply.json()
    assert (updated["phone"], updated["region_code"], updated["skills"]) == (
        "13700000000",
        OTHER_COMMUNITY,
        ["法律咨询"],
    )
    assert (updated["name"], updated["id_number"]) == (profile["name"], profile["id_number"])
    renamed = await world.client.patch("/volunteers/me", json={"name": "王五"}, headers=headers)
    assert renamed.status_code == 400


async def test_masking_depends_on_who_looks(world: World) -> None:
    from volunteer.tables import Role

    org_id, org_admin = await world.organization()
    headers, profile = await world.volunteer(name="欧阳小明")
    join = await world.client.post(f"/organizations/{org_id}/join", headers=headers)
    assert join.status_code == 201
    url = f"/volunteers/{profile['id']}"

    own = (await world.client.get(url, headers=headers)).json()
    assert own["masked"] is False and own["name"] == "欧阳小明"

    auditor = (await world.client.get(url, headers=await world.auditor("310151101"))).json()
    assert auditor["id_number"] == profile["id_number"]

    team = (await world.client.get(url, headers=org_admin)).json()
    assert team["masked"] is True and team["name"] == "欧**明"
    assert team["id_number"] == profile["id_number"][:4] + "*" * 10 + profile["id_number"][-4:]
    assert team["phone"] == "138****5678" and team["birth_date"] is None

    stranger_auditor = await world.auditor("310151102")
    assert (await world.client.get(url, headers=stranger_auditor)).status_code == 404
    _, other_admin = await world.organization(name="另一支队伍")
    assert (await world.client.get(url, headers=other_admin)).status_code == 404
    assert (await world.client.get(url, headers=await login_headers(world))).status_code == 404
    assert Role.auditor  # roles are scoped, not global


async def test_an_organization_registers_someone_with_their_consent_and_they_claim_it_later(
    world: World,
) -> None:
    org_id, org_admin = await world.organization()
    number = id_number()
    body = entered_by_organization(number)
    entered = await world.client.post(f"/organizations/{org_id}/volunteers", json=body, headers=org_admin)
    assert entered.status_code == 201, entered.text
    assert entered.json()["masked"] is True and entered.json()["name"] == "王*姨"
    consent = await ConsentRecord.objects().first()
    assert consent is not None and consent.kind == "by_organization" and consent.organization == org_id

    members = (await world.client.get(f"/organizations/{org_id}/members", headers=org_admin)).json()
    assert [m["status"] for m in members] == ["approved"]

    stranger = await world.register(
        await login_headers(world),
        id_number=number,
        name="王阿姨",
        phone="13699999999",
        region_code=COMMUNITY,
    )
    assert stranger.status_code == 409
    person = await login_headers(world)
    claimed = await world.register(person, id_number=number, name="王阿姨", phone="13611112222")
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["id"] == entered.json()["id"] and claimed.json()["masked"] is False
    assert await Volunteer.count() == 1


async def test_registration_by_an_unverified_organization_is_refused(world: World) -> None:
    org_id, org_admin = await world.organization(verified=False)
    body = entered_by_organization(id_number())
    reply = await world.client.post(f"/organizations/{org_id}/volunteers", json=body, headers=org_admin)
    assert reply.status_code == 409 and reply.json()["code"] == "ORGANIZATION_NOT_VERIFIED"
    assert await Volunteer.count() == 0


async def test_no_personal_data_reaches_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    number = id_number()
    headers, _ = await world.volunteer(id_number=number, name="赵六", phone="13512345678")
    await world.client.get("/volunteers/me", headers=headers)
    await world.register(await login_headers(world), id_number=number)  # a refusal, too
    text = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    for secret in (number, "赵六", "13512345678", number[-8:], world.settings.wechat_secret, "ok-"):
        assert secret not in text
