"""Organizations: registration, verification within the auditor's jurisdiction, admins and members."""

from __future__ import annotations

from typing import Any

from tests.builders import COMMUNITY, OTHER_COMMUNITY, World, uscc
from volunteer.tables import Organization


def org_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "崇明区青年志愿者协会",
        "kind": "volunteer_association",
        "region_code": "310151",
        "contact_name": "陈会长",
        "contact_phone": "021-69690000",
        "uscc": uscc(),
    }
    body.update(overrides)
    return body


async def test_registered_organizations_need_a_valid_credit_code(world: World) -> None:
    headers = world.headers(await world.account())
    missing = await world.client.post("/organizations", json=org_body(uscc=None), headers=headers)
    assert missing.status_code == 422 and missing.json()["code"] == "USCC_REQUIRED"
    good = uscc()
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    bad = await world.client.post("/organizations", json=org_body(uscc=wrong), headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "USCC_INVALID"
    ok = await world.client.post("/organizations", json=org_body(uscc=good.lower()), headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["uscc"] == good and ok.json()["status"] == "pending"
    again = await world.client.post("/organizations", json=org_body(uscc=good), headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "USCC_ALREADY_REGISTERED"
    assert await Organization.count() == 1


async def test_community_teams_may_have_no_credit_code(world: World) -> None:
    org_id, _ = await world.organization(verified=False)
    assert (await Organization.objects().get(Organization.id == org_id)).uscc is None  # type: ignore[union-attr]


async def test_a_pending_organization_is_visible_only_to_its_admins_and_auditors(world: World) -> None:
    org_id, admin = await world.organization(verified=False)
    assert (await world.client.get(f"/organizations/{org_id}")).status_code == 404
    assert (await world.client.get(f"/organizations/{org_id}", headers=admin)).json()["status"] == "pending"
    auditor = await world.auditor("310151101")
    queue = await world.client.get(
        "/organizations", params={"region_code": "310151", "status": "pending"}, headers=auditor
    )
    assert queue.status_code == 200
    # The street auditor's query over the whole district still only shows what lies in their street.
    public = await world.client.get("/organizations", params={"region_code": "310151"})
    assert public.json() == []


async def test_auditor_verifies_only_within_their_jurisdiction(world: World) -> None:
    inside, _ = await world.organization(verified=False, region=COMMUNITY)
    outside, _ = await world.organization(verified=False, region=OTHER_COMMUNITY, name="堡镇志愿服务队")
    street_auditor = await world.auditor("310151101")
    refused = await world.client.post(
        f"/organizations/{outside}/decision", json={"approve": True}, headers=street_auditor
    )
    assert refused.status_code == 403 and refused.json()["code"] == "OUT_OF_SCOPE"
    verified = await world.client.post(
        f"/organizations/{inside}/decision", json={"approve": True}, headers=street_auditor
    )
    assert verified.status_code == 201 and verified.json()["status"] == "verified"
    twice = await world.client.post(
        f"/organizations/{inside}/decision", json={"approve": False, "reason": "x"}, headers=street_auditor
    )
    assert twice.status_code == 409 and twice.json()["code"] == "ORGANIZATION_ALREADY_DECIDED"
    listed = await world.client.get("/organizations", params={"region_code": "310151"})
    assert [o["id"] for o in listed.json()] == [str(inside)]


async def test_rejection_needs_a_reason_shown_only_to_the_organization(world: World) -> None:
    org_id, admin = await world.organization(verified=False)
    auditor = await world.auditor()
    no_reason = await world.client.post(
        f"/organizations/{org_id}/decision", json={"approve": False}, headers=auditor
    )
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "REASON_REQUIRED"
    rejected = await world.client.post(
        f"/organizations/{org_id}/decision", json={"approve": False, "reason": "材料不全"}, headers=auditor
    )
    assert rejected.json()["status"] == "rejected"
    own_view = (await world.client.get(f"/organizations/{org_id}", headers=admin)).json()
    assert own_view["status_reason"] == "材料不全"


async def test_volunteers_join_only_verified_organizations_and_admins_decide(world: World) -> None:
    pending_org, _ = await world.organization(verified=False)
    headers, profile = await world.volunteer()
    refused = await world.client.post(f"/organizations/{pending_org}/join", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "ORGANIZATION_NOT_VERIFIED"

    org_id, admin = await world.organization(name="第二支队伍")
    asked = await world.client.post(f"/organizations/{org_id}/join", headers=headers)
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    again = await world.client.post(f"/organizations/{org_id}/join", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "MEMBERSHIP_EXISTS"

    pending = (
        await world.client.get(
            f"/organizations/{org_id}/members", params={"status": "pending"}, headers=admin
        )
    ).json()
    assert [(m["volunteer_id"], m["name"]) for m in pending] == [(profile["id"], "张*明")]
    decision = await world.client.post(
        f"/organizations/{org_id}/members/{pending[0]['id']}/decision", json={"approve": True}, headers=admin
    )
    assert decision.json()["status"] == "approved"
    mine = (await world.client.get("/volunteers/me/organizations", headers=headers)).json()
    assert [(m["organization_id"], m["status"]) for m in mine] == [(str(org_id), "approved")]


async def test_unregistered_accounts_cannot_join(world: World) -> None:
    org_id, _ = await world.organization()
    tokens = await world.wechat_login()
    reply = await world.client.post(
        f"/organizations/{org_id}/join", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert reply.status_code == 404 and reply.json()["code"] == "VOLUNTEER_NOT_REGISTERED"


async def test_an_org_admin_manages_only_their_own_organization(world: World) -> None:
    org_id, _ = await world.organization()
    _, other_admin = await world.organization(name="另一支队伍")
    for method, path in [
        ("GET", f"/organizations/{org_id}/members"),
        ("GET", f"/organizations/{org_id}/admins"),
    ]:
        reply = await world.client.request(method, path, headers=other_admin)
        assert reply.status_code == 403 and reply.json()["code"] == "OUT_OF_SCOPE"


async def test_admins_invite_admins_and_never_remove_the_last_one(world: World) -> None:
    org_id, admin = await world.organization()
    colleague = await world.account(name="副队长")
    invited = await world.client.post(
        f"/organizations/{org_id}/admins/invites", json={"account_id": str(colleague)}, headers=admin
    )
    assert invited.status_code == 201 and invited.json()["status"] == "pending"
    colleague_headers = world.headers(colleague)
    inbox = (await world.client.get("/me/invites", headers=colleague_headers)).json()
    assert [i["organization_id"] for i in inbox] == [str(org_id)]
    accepted = await world.client.post(f"/me/invites/{inbox[0]['id']}/accept", headers=colleague_headers)
    assert accepted.json()["status"] == "accepted"
    admins = (await world.client.get(f"/organizations/{org_id}/admins", headers=colleague_headers)).json()
    assert len(admins) == 2
    again = await world.client.post(
        f"/organizations/{org_id}/admins/invites", json={"account_id": str(colleague)}, headers=admin
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_ADMIN"

    first_admin = next(a["account_id"] for a in admins if a["account_id"] != str(colleague))
    removed = await world.client.post(
        f"/organizations/{org_id}/admins/{first_admin}/remove", headers=colleague_headers
    )
    assert removed.status_code == 204
    # The removed admin's existing token loses the organization at once.
    assert (await world.client.get(f"/organizations/{org_id}/admins", headers=admin)).status_code == 403
    last = await world.client.post(
        f"/organizations/{org_id}/admins/{colleague}/remove", headers=colleague_headers
    )
    assert last.status_code == 409 and last.json()["code"] == "LAST_ADMIN"
