"""Staff administration: who may reach it, creating staff, scoped roles granted and withdrawn, disabling."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.builders import COMMUNITY, DISTRICT, OTHER_COMMUNITY, STREET, World, phone
from volunteer.tables import Account, Organization, OrganizationStatus, Role

PASSWORD = "chongming2026"


def refused(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert body["code"] == code, body
    return body


async def grant(world: World, admin: dict[str, str], account_id: uuid.UUID, **body: Any) -> httpx.Response:
    return await world.client.post(f"/admin/accounts/{account_id}/roles", json=body, headers=admin)


async def withdraw(
    world: World, admin: dict[str, str], account_id: uuid.UUID, grant_id: str
) -> httpx.Response:
    return await world.client.post(f"/admin/accounts/{account_id}/roles/{grant_id}/withdraw", headers=admin)


async def decide(world: World, org_id: uuid.UUID, headers: dict[str, str]) -> httpx.Response:
    return await world.client.post(
        f"/organizations/{org_id}/decision", json={"approve": True}, headers=headers
    )


async def status_of(org_id: uuid.UUID) -> str:
    row = await Organization.select(Organization.status).where(Organization.id == org_id).first()
    assert row is not None
    return str(row["status"])


# --- Who may administer -------------------------------------------------------------------------


async def test_volunteer_cannot_reach_staff_administration(world: World) -> None:
    tokens = await world.wechat_login()

    reply = await world.client.get(
        "/admin/accounts", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    assert refused(reply, 403, "FORBIDDEN")["message"] == "无权执行此操作"


async def test_auditor_cannot_reach_staff_administration(world: World) -> None:
    reply = await world.client.post(
        "/admin/accounts",
        json={"phone": phone(), "name": "王审核", "password": PASSWORD},
        headers=await world.auditor(),
    )

    refused(reply, 403, "FORBIDDEN")
    assert await Account.count() == 1  # the auditor alone


async def test_staff_administration_without_token_asks_to_log_in(world: World) -> None:
    refused(await world.client.get("/admin/accounts"), 401, "TOKEN_MISSING")


# --- Creating staff accounts --------------------------------------------------------------------


async def test_admin_creates_staff_account_that_can_log_in(world: World) -> None:
    phone_no = phone()

    created = await world.client.post(
        "/admin/accounts",
        json={"phone": phone_no, "name": "王审核", "password": PASSWORD},
        headers=await world.admin(),
    )

    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == "王审核"
    assert created.json()["is_active"] is True
    assert created.json()["roles"] == []
    login = await world.client.post("/auth/login", json={"phone": phone_no, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["account_id"] == created.json()["id"]


async def test_staff_account_with_a_phone_already_used_is_refused(world: World) -> None:
    phone_no = phone()
    await world.account(phone=phone_no)

    reply = await world.client.post(
        "/admin/accounts",
        json={"phone": f"+86 {phone_no}", "name": "王审核", "password": PASSWORD},
        headers=await world.admin(),
    )

    assert refused(reply, 409, "PHONE_ALREADY_USED")["message"] == "该手机号已被其他账号使用"
    assert await Account.count() == 2  # the first holder and the admin


async def test_staff_account_with_a_malformed_phone_is_refused(world: World) -> None:
    reply = await world.client.post(
        "/admin/accounts",
        json={"phone": "12345678901", "name": "王审核", "password": PASSWORD},
        headers=await world.admin(),
    )

    assert refused(reply, 422, "PHONE_INVALID")["message"] == "手机号格式不正确"
    assert await Account.count() == 1


async def test_staff_account_with_a_weak_password_is_refused(world: World) -> None:
    reply = await world.client.post(
        "/admin/accounts",
        json={"phone": phone(), "name": "王审核", "password": "1234567890"},
        headers=await world.admin(),
    )

    assert refused(reply, 422, "PASSWORD_TOO_WEAK")["message"] == "密码至少 10 位，且需同时包含字母和数字"
    assert await Account.count() == 1


# --- Granting roles -----------------------------------------------------------------------------


async def test_granted_auditor_role_shows_on_the_accounts_own_profile(world: World) -> None:
    account_id = await world.account(name="王审核")

    reply = await grant(world, await world.admin(), account_id, role="auditor", region_code=STREET)

    assert reply.status_code == 201, reply.text
    me = await world.client.get("/auth/me", headers=world.headers(account_id))
    assert [(r["id"], r["role"], r["region_code"], r["organization_id"]) for r in me.json()["roles"]] == [
        (reply.json()["id"], "auditor", STREET, None)
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"role": "org_admin"},
        {"role": "org_admin", "region_code": STREET},
        {"role": "auditor"},
        {"role": "dispatcher"},
        {"role": "admin", "region_code": DISTRICT},
    ],
    ids=["org_admin-no-org", "org_admin-region", "auditor-no-region", "dispatcher-no-region", "admin-region"],
)
async def test_role_granted_with_the_wrong_scope_is_refused(world: World, body: dict[str, Any]) -> None:
    account_id = await world.account()

    reply = await grant(world, await world.admin(), account_id, **body)

    assert refused(reply, 422, "ROLE_SCOPE_INVALID")["message"] == "角色的管理范围不正确"
    assert (await world.client.get("/auth/me", headers=world.headers(account_id))).json()["roles"] == []


async def test_role_scoped_to_an_unknown_region_is_refused(world: World) -> None:
    account_id = await world.account()

    reply = await grant(world, await world.admin(), account_id, role="auditor", region_code="310151199")

    assert refused(reply, 404, "REGION_NOT_FOUND")["message"] == "行政区划不存在"


async def test_org_admin_role_for_an_unknown_organization_is_refused(world: World) -> None:
    account_id = await world.account()

    reply = await grant(
        world, await world.admin(), account_id, role="org_admin", organization_id=str(uuid.uuid4())
    )

    assert refused(reply, 404, "ORGANIZATION_NOT_FOUND")["message"] == "组织不存在"


async def test_role_for_an_unknown_account_is_refused(world: World) -> None:
    reply = await grant(world, await world.admin(), uuid.uuid4(), role="auditor", region_code=STREET)

    assert refused(reply, 404, "ACCOUNT_NOT_FOUND")["message"] == "账号不存在"


async def test_same_role_granted_twice_is_refused(world: World) -> None:
    account_id = await world.account()
    admin = await world.admin()
    assert (await grant(world, admin, account_id, role="auditor", region_code=STREET)).status_code == 201

    reply = await grant(world, admin, account_id, role="auditor", region_code=STREET)

    assert refused(reply, 409, "ROLE_ALREADY_GRANTED")["message"] == "该账号已拥有此角色"


async def test_same_role_over_another_region_is_a_second_grant(world: World) -> None:
    account_id = await world.account()
    admin = await world.admin()
    assert (await grant(world, admin, account_id, role="auditor", region_code=STREET)).status_code == 201

    reply = await grant(world, admin, account_id, role="auditor", region_code=DISTRICT)

    assert reply.status_code == 201, reply.text


# --- Withdrawing roles and disabling accounts ---------------------------------------------------


async def test_withdrawn_role_stops_working_for_the_already_issued_token(world: World) -> None:
    account_id = await world.account((Role.auditor, None, STREET))
    auditor = world.headers(account_id)
    org_id, _ = await world.organization(verified=False)
    pending = {"region_code": STREET, "status": "pending"}
    queue = await world.client.get("/organizations", params=pending, headers=auditor)
    assert [o["id"] for o in queue.json()] == [str(org_id)]
    me = await world.client.get("/auth/me", headers=auditor)

    withdrawn = await withdraw(world, await world.admin(), account_id, me.json()["roles"][0]["id"])

    assert withdrawn.status_code == 204, withdrawn.text
    refused(await decide(world, org_id, auditor), 403, "FORBIDDEN")
    assert (await world.client.get("/organizations", params=pending, headers=auditor)).json() == []
    assert await status_of(org_id) == OrganizationStatus.pending


async def test_withdrawing_a_role_twice_is_refused(world: World) -> None:
    account_id = await world.account()
    admin = await world.admin()
    granted = await grant(world, admin, account_id, role="auditor", region_code=STREET)
    assert (await withdraw(world, admin, account_id, granted.json()["id"])).status_code == 204

    reply = await withdraw(world, admin, account_id, granted.json()["id"])

    assert refused(reply, 404, "ROLE_GRANT_NOT_FOUND")["message"] == "角色授权不存在或已撤销"


async def test_withdrawn_role_can_be_granted_again(world: World) -> None:
    account_id = await world.account()
    admin = await world.admin()
    granted = await grant(world, admin, account_id, role="auditor", region_code=STREET)
    await withdraw(world, admin, account_id, granted.json()["id"])

    reply = await grant(world, admin, account_id, role="auditor", region_code=STREET)

    assert reply.status_code == 201, reply.text


async def test_disabled_account_is_signed_out_everywhere_at_once(world: World) -> None:
    tokens = await world.wechat_login("leaving")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    disabled = await world.client.post(
        f"/admin/accounts/{tokens['account_id']}/disable", headers=await world.admin()
    )

    assert disabled.status_code == 204, disabled.text
    body = refused(await world.client.get("/auth/me", headers=headers), 401, "TOKEN_REVOKED")
    assert body["message"] == "登录状态已失效，请重新登录"
    refresh = await world.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401, refresh.text
    login = await world.client.post("/auth/wechat", json={"code": "ok-leaving"})
    assert refused(login, 403, "ACCOUNT_DISABLED")["message"] == "账号已停用，请联系管理员"


async def test_disabling_an_unknown_account_is_refused(world: World) -> None:
    reply = await world.client.post(f"/admin/accounts/{uuid.uuid4()}/disable", headers=await world.admin())

    refused(reply, 404, "ACCOUNT_NOT_FOUND")


# --- Auditor scope ------------------------------------------------------------------------------


async def test_street_auditor_verifies_organizations_only_in_their_street(world: World) -> None:
    auditor = await world.auditor(STREET)
    inside, _ = await world.organization(verified=False, region=COMMUNITY)
    outside, _ = await world.organization(
        verified=False, region=OTHER_COMMUNITY, name="堡镇光明社区志愿服务队"
    )

    accepted = await decide(world, inside, auditor)
    out_of_scope = await decide(world, outside, auditor)

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["status"] == "verified"
    assert refused(out_of_scope, 403, "OUT_OF_SCOPE")["message"] == "超出您的管理范围"
    assert await status_of(outside) == OrganizationStatus.pending


async def test_district_auditor_verifies_organizations_in_every_street(world: World) -> None:
    auditor = await world.auditor(DISTRICT)
    first, _ = await world.organization(verified=False, region=COMMUNITY)
    second, _ = await world.organization(
        verified=False, region=OTHER_COMMUNITY, name="堡镇光明社区志愿服务队"
    )

    for org_id in (first, second):
        reply = await decide(world, org_id, auditor)
        assert reply.status_code == 201, reply.text

    assert [await status_of(first), await status_of(second)] == ["verified", "verified"]
