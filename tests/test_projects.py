"""Projects (rule 9): drafted by verified organizations, published once insured, browsed by the public."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tests.builders import COMMUNITY, DISTRICT, OTHER_COMMUNITY, OTHER_STREET, STREET, World, session_body
from volunteer import projects
from volunteer.tables import ServiceSession


async def test_an_unverified_organization_cannot_create_projects(world: World) -> None:
    org_id, admin = await world.organization(verified=False)
    reply = await world.client.post("/projects", json=world.project_body(org_id), headers=admin)
    assert reply.status_code == 409 and reply.json()["code"] == "ORGANIZATION_NOT_VERIFIED"


async def test_only_the_organizations_own_admins_manage_its_projects(world: World) -> None:
    org_id, admin = await world.organization()
    _, other_admin = await world.organization(name="另一支队伍")
    created = await world.client.post("/projects", json=world.project_body(org_id), headers=other_admin)
    assert created.status_code == 403 and created.json()["code"] == "OUT_OF_SCOPE"
    project = await world.project(org_id, admin, publish=False)
    for action in ("publish", "close", "insurance"):
        reply = await world.client.post(f"/projects/{project['id']}/{action}", headers=other_admin)
        assert reply.status_code == 403 and reply.json()["code"] == "OUT_OF_SCOPE", action
    volunteer, _ = await world.volunteer()
    refused = await world.client.post("/projects", json=world.project_body(org_id), headers=volunteer)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"


async def test_a_geofence_needs_the_places_coordinates(world: World) -> None:
    org_id, admin = await world.organization()
    body = world.project_body(org_id, latitude=None, longitude=None, geofence_m=200)
    reply = await world.client.post("/projects", json=body, headers=admin)
    assert reply.status_code == 422 and reply.json()["code"] == "GEOFENCE_NEEDS_LOCATION"
    with_place = await world.project(org_id, admin, publish=False, geofence_m=200)
    assert with_place["geofence_m"] == 200


async def test_a_session_ends_after_it_starts_and_lasts_at_most_a_day(world: World) -> None:
    org_id, admin = await world.organization()
    start = world.clock() + timedelta(days=2)
    for bad in (session_body(start, hours=-1), session_body(start, hours=0), session_body(start, hours=24.5)):
        reply = await world.client.post(
            "/projects", json=world.project_body(org_id, sessions=[bad]), headers=admin
        )
        assert reply.status_code == 422 and reply.json()["code"] == "SESSION_TIME_INVALID"
    project = await world.project(org_id, admin, publish=False, sessions=[session_body(start, hours=24)])
    added = await world.client.post(
        f"/projects/{project['id']}/sessions", json=session_body(start, hours=-2), headers=admin
    )
    assert added.status_code == 422 and added.json()["code"] == "SESSION_TIME_INVALID"


async def test_only_volunteer_service_categories_are_accepted(world: World) -> None:
    org_id, admin = await world.organization()
    reply = await world.client.post(
        "/projects", json=world.project_body(org_id, category="staff_meeting"), headers=admin
    )
    assert reply.status_code == 400 and reply.json()["code"] == "REQUEST_INVALID"


async def test_an_unknown_region_is_refused(world: World) -> None:
    org_id, admin = await world.organization()
    reply = await world.client.post(
        "/projects", json=world.project_body(org_id, region_code="310151999"), headers=admin
    )
    assert reply.status_code == 404 and reply.json()["code"] == "REGION_NOT_FOUND"


async def test_a_risky_project_opens_only_after_insurance_is_recorded(world: World) -> None:
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin, publish=False, insurance_required=True)
    refused = await world.client.post(f"/projects/{project['id']}/publish", headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "INSURANCE_REQUIRED"
    insured = await world.client.post(f"/projects/{project['id']}/insurance", headers=admin)
    assert insured.status_code == 201 and insured.json()["insured"] is True
    published = await world.client.post(f"/projects/{project['id']}/publish", headers=admin)
    assert published.status_code == 201 and published.json()["status"] == "published"
    again = await world.client.post(f"/projects/{project['id']}/publish", headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "PROJECT_NOT_EDITABLE"


async def test_a_closed_project_takes_no_more_sessions_and_leaves_the_public_list(world: World) -> None:
    org_id, admin = await world.organization()
    draft = await world.project(org_id, admin, publish=False)
    early = await world.client.post(f"/projects/{draft['id']}/close", headers=admin)
    assert early.status_code == 409 and early.json()["code"] == "PROJECT_NOT_EDITABLE"
    project = await world.project(org_id, admin)
    added = await world.session(project["id"], admin)
    assert added["capacity"] == 10 and added["spots_left"] == 10
    closed = await world.client.post(f"/projects/{project['id']}/close", headers=admin)
    assert closed.status_code == 201 and closed.json()["status"] == "closed"
    more = await world.client.post(
        f"/projects/{project['id']}/sessions",
        json=session_body(world.clock() + timedelta(days=5)),
        headers=admin,
    )
    assert more.status_code == 409 and more.json()["code"] == "PROJECT_NOT_EDITABLE"
    assert (await world.client.get(f"/projects/{project['id']}")).status_code == 404
    assert (await world.client.get("/projects")).json() == []


async def test_a_draft_is_visible_only_to_its_admins_and_the_auditors_of_its_region(world: World) -> None:
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin, publish=False)
    public = await world.client.get(f"/projects/{project['id']}")
    assert public.status_code == 404 and public.json()["code"] == "PROJECT_NOT_FOUND"
    own = await world.client.get(f"/projects/{project['id']}", headers=admin)
    assert own.json()["status"] == "draft" and len(own.json()["sessions"]) == 1
    assert (
        await world.client.get(f"/projects/{project['id']}", headers=await world.auditor(STREET))
    ).is_success
    elsewhere = await world.auditor(OTHER_STREET)
    assert (await world.client.get(f"/projects/{project['id']}", headers=elsewhere)).status_code == 404
    assert (await world.client.get("/projects", params={"region_code": DISTRICT})).json() == []


async def test_browsing_by_region_covers_the_whole_subtree(world: World) -> None:
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin, region_code=COMMUNITY)
    await world.project(org_id, admin, region_code=OTHER_COMMUNITY, title="堡镇河道清洁")

    async def titles(region: str) -> list[str]:
        reply = await world.client.get("/projects", params={"region_code": region})
        assert reply.status_code == 200, reply.text
        return sorted(p["title"] for p in reply.json())

    assert await titles(DISTRICT) == sorted([project["title"], "堡镇河道清洁"])
    assert await titles(STREET) == [project["title"]]
    assert await titles(OTHER_STREET) == ["堡镇河道清洁"]
    missing = await world.client.get("/projects", params={"region_code": "310151999"})
    assert missing.status_code == 404 and missing.json()["code"] == "REGION_NOT_FOUND"


async def test_browsing_by_category(world: World) -> None:
    org_id, admin = await world.organization()
    await world.project(org_id, admin, category="elderly_and_disabled")
    green = await world.project(org_id, admin, category="environment", title="植树")
    listed = (await world.client.get("/projects", params={"category": "environment"})).json()
    assert [p["id"] for p in listed] == [green["id"]]


async def test_browsing_by_date_uses_china_calendar_days(world: World) -> None:
    org_id, admin = await world.organization()
    # 17:00 UTC on the 24th is 01:00 on the 25th in China.
    late = await world.project(
        org_id, admin, title="夜间巡逻", sessions=[session_body(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))]
    )
    await world.project(org_id, admin, sessions=[session_body(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))])

    async def ids(**params: str) -> list[str]:
        return [p["id"] for p in (await world.client.get("/projects", params=params)).json()]

    assert await ids(date_from="2026-11-25", date_to="2026-11-25") == [late["id"]]
    assert await ids(date_from="2026-11-24", date_to="2026-11-24") == []
    assert len(await ids(date_from="2026-11-25")) == 2
    assert await ids(date_to="2026-11-27") == [late["id"]]


async def test_near_me_lists_the_nearest_first_within_the_radius(world: World) -> None:
    org_id, admin = await world.organization()
    here = (31.6229, 121.3970)
    far = await world.project(org_id, admin, title="较远", latitude=31.6229, longitude=121.4500)  # ~5 km east
    near = await world.project(org_id, admin, title="较近", latitude=31.6300, longitude=121.3970)  # ~0.8 km
    await world.project(org_id, admin, title="太远", latitude=31.5000, longitude=121.8000)
    await world.project(org_id, admin, title="没有坐标", latitude=None, longitude=None)
    reply = await world.client.get("/projects", params={"lat": here[0], "lng": here[1], "radius_km": 10})
    listed = reply.json()
    assert [p["id"] for p in listed] == [near["id"], far["id"]]
    assert 700 < listed[0]["distance_m"] < 900 and 4500 < listed[1]["distance_m"] < 5500
    narrow = await world.client.get("/projects", params={"lat": here[0], "lng": here[1], "radius_km": 1})
    assert [p["id"] for p in narrow.json()] == [near["id"]]
    half = await world.client.get("/projects", params={"lat": here[0]})
    assert half.status_code == 400 and half.json()["code"] == "REQUEST_INVALID"


async def test_listed_projects_carry_only_upcoming_sessions(world: World) -> None:
    org_id, admin = await world.organization()
    soon = world.clock() + timedelta(hours=1)
    project = await world.project(
        org_id, admin, sessions=[session_body(soon), session_body(soon + timedelta(days=1))]
    )
    world.clock.now += timedelta(hours=2)
    (listed,) = (await world.client.get("/projects")).json()
    assert [s["starts_at"] for s in listed["sessions"]] == [project["sessions"][1]["starts_at"]]
    detail = (await world.client.get(f"/projects/{project['id']}")).json()
    assert len(detail["sessions"]) == 2


async def test_a_colliding_session_code_subject_is_drawn_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_id, admin = await world.organization()
    draws = iter([41, 41, 77])
    monkeypatch.setattr(projects, "secrets", SimpleNamespace(randbits=lambda bits: next(draws)))
    first = await world.project(org_id, admin, publish=False)
    second = await world.project(org_id, admin, publish=False)
    rows = await ServiceSession.select(ServiceSession.project, ServiceSession.code_seq)
    assert {str(r["project"]): r["code_seq"] for r in rows} == {first["id"]: 42, second["id"]: 78}
