"""The whole first day of a district, through the API only."""

from __future__ import annotations

from tests.builders import COMMUNITY, World, id_number


async def test_staff_login_to_a_volunteer_seeing_their_own_data(world: World) -> None:
    client = world.client
    # A platform admin creates a district auditor and a team leader, who sign in with phone and password.
    admin = await world.admin()
    made = await client.post(
        "/admin/accounts",
        json={"phone": "13900000010", "name": "文明办王科长", "password": "Audit2026pass"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    granted = await client.post(
        f"/admin/accounts/{made.json()['id']}/roles",
        json={"role": "auditor", "region_code": "310151"},
        headers=admin,
    )
    assert granted.status_code == 201, granted.text
    leader_account = await world.account(name="李队长", phone="13900000011", password="Team2026pass")
    assert leader_account

    async def password_login(phone: str, password: str) -> dict[str, str]:
        reply = await client.post("/auth/login", json={"phone": phone, "password": password})
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    auditor = await password_login("13900000010", "Audit2026pass")
    leader = await password_login("13900000011", "Team2026pass")

    # The leader registers the team; the district auditor verifies it.
    created = await client.post(
        "/organizations",
        json={
            "name": "鳌山社区志愿服务队",
            "kind": "community_team",
            "region_code": COMMUNITY,
            "contact_name": "李队长",
            "contact_phone": "021-59612345",
        },
        headers=leader,
    )
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    queue = await client.get(
        "/organizations", params={"region_code": "310151", "status": "pending"}, headers=auditor
    )
    assert [o["id"] for o in queue.json()] == [org_id]
    verified = await client.post(f"/organizations/{org_id}/decision", json={"approve": True}, headers=auditor)
    assert verified.json()["status"] == "verified"

    # A volunteer signs in through WeChat (the stand-in server), registers with their real name and joins.
    login = await client.post("/auth/wechat", json={"code": "ok-zhang"})
    assert login.status_code == 200, login.text
    volunteer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    number = id_number()
    registered = await client.post(
        "/volunteers/me",
        json={
            "name": "张小明",
            "id_type": "resident_id",
            "id_number": number,
            "region_code": COMMUNITY,
            "phone": "13812345678",
            "skills": ["急救"],
            "service_categories": ["elderly_and_disabled"],
        },
        headers=volunteer,
    )
    assert registered.status_code == 201, registered.text
    volunteer_id = registered.json()["id"]
    joined = await client.post(f"/organizations/{org_id}/join", headers=volunteer)
    members = await client.get(
        f"/organizations/{org_id}/members", params={"status": "pending"}, headers=leader
    )
    assert [m["id"] for m in members.json()] == [joined.json()["id"]]
    approved = await client.post(
        f"/organizations/{org_id}/members/{joined.json()['id']}/decision",
        json={"approve": True},
        headers=leader,
    )
    assert approved.json()["status"] == "approved"

    # The person sees everything; the team sees it masked; the auditor of the district sees it whole.
    me = (await client.get("/volunteers/me", headers=volunteer)).json()
    assert (me["name"], me["id_number"], me["phone"], me["masked"]) == (
        "张小明",
        number,
        "13812345678",
        False,
    )
    team_view = (await client.get(f"/volunteers/{volunteer_id}", headers=leader)).json()
    assert (team_view["name"], team_view["id_number"], team_view["phone"]) == (
        "张*明",
        f"{number[:4]}**********{number[-4:]}",
        "138****5678",
    )
    audit_view = (await client.get(f"/volunteers/{volunteer_id}", headers=auditor)).json()
    assert audit_view["id_number"] == number
    whoami = (await client.get("/auth/me", headers=volunteer)).json()
    assert whoami["volunteer_no"] == me["volunteer_no"]
