"""Sign-ups (rules 9, 15): review within capacity, wait-list and promotion, cut-offs, suspension."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from tests.builders import World, session_body
from volunteer.signups import NO_SHOW_LIMIT, is_suspended
from volunteer.tables import Signup, SignupStatus, Volunteer


async def advance(world: World, by: timedelta, profile: dict[str, Any]) -> dict[str, str]:
    """Move the app's clock on; returns fresh headers for the volunteer, whose old token has expired."""
    world.clock.now += by
    account = await Volunteer.select(Volunteer.account).where(Volunteer.id == profile["id"]).first()
    assert account is not None
    return world.headers(account["account"])


async def open_session(world: World, **session: Any) -> tuple[str, dict[str, str], uuid.UUID]:
    """A published project with one session; returns the session id, the admin's headers and the org."""
    org_id, admin = await world.organization()
    project = await world.project(
        org_id, admin, sessions=[session_body(world.clock() + timedelta(days=3), **session)]
    )
    return project["sessions"][0]["id"], admin, org_id


async def apply(world: World, headers: dict[str, str], session_id: str) -> Any:
    return await world.client.post(f"/sessions/{session_id}/signups", headers=headers)


async def decide(world: World, signup_id: str, admin: dict[str, str], **body: Any) -> Any:
    return await world.client.post(f"/signups/{signup_id}/decision", json=body, headers=admin)


async def test_approval_fills_the_session_then_waitlists_and_a_cancellation_promotes(world: World) -> None:
    session_id, admin, _ = await open_session(world, capacity=1)
    first, _ = await world.volunteer(name="张小明")
    second, _ = await world.volunteer(name="李四")
    applied = await apply(world, first, session_id)
    assert applied.status_code == 201 and applied.json()["status"] == "pending"
    approved = await decide(world, applied.json()["id"], admin, approve=True)
    assert approved.status_code == 201 and approved.json()["status"] == "approved"
    waiting = await world.signed_up(second, session_id, admin)
    assert waiting["status"] == "waitlisted"
    (listed,) = (await world.client.get("/projects")).json()
    assert listed["sessions"][0]["approved"] == 1 and listed["sessions"][0]["spots_left"] == 0

    cancelled = await world.client.post(f"/signups/{applied.json()['id']}/cancel", headers=first)
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "cancelled"
    roster = (await world.client.get(f"/sessions/{session_id}/signups", headers=admin)).json()
    assert sorted((s["name"], s["status"]) for s in roster) == [("张*明", "cancelled"), ("李*", "approved")]
    approved_only = await world.client.get(
        f"/sessions/{session_id}/signups", params={"status": "approved"}, headers=admin
    )
    assert [s["id"] for s in approved_only.json()] == [waiting["id"]]


async def test_approvals_racing_for_the_last_place_give_it_to_one(world: World) -> None:
    session_id, admin, _ = await open_session(world, capacity=1)
    pending = []
    for _ in range(6):
        headers, _ = await world.volunteer()
        pending.append(await world.signed_up(headers, session_id, admin, approve=False))
    replies = await asyncio.gather(*(decide(world, s["id"], admin, approve=True) for s in pending))
    assert sorted(r.json()["status"] for r in replies) == ["approved", *["waitlisted"] * 5]
    assert await Signup.count().where(Signup.status == SignupStatus.approved) == 1


async def test_approving_a_waitlisted_signup_while_still_full_keeps_its_place(world: World) -> None:
    session_id, admin, _ = await open_session(world, capacity=1)
    first, _ = await world.volunteer()
    second, _ = await world.volunteer()
    await world.signed_up(first, session_id, admin)
    waiting = await world.signed_up(second, session_id, admin)
    again = await decide(world, waiting["id"], admin, approve=True)
    assert again.status_code == 201 and again.json()["status"] == "waitlisted"
    assert again.json()["decided_at"] == waiting["decided_at"]


async def test_rejection_needs_a_reason_the_volunteer_sees(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    headers, _ = await world.volunteer()
    signup = await world.signed_up(headers, session_id, admin, approve=False)
    silent = await decide(world, signup["id"], admin, approve=False)
    assert silent.status_code == 422 and silent.json()["code"] == "REASON_REQUIRED"
    rejected = await decide(world, signup["id"], admin, approve=False, reason="名额留给本社区居民")
    assert rejected.json()["status"] == "rejected"
    twice = await decide(world, signup["id"], admin, approve=True)
    assert twice.status_code == 409 and twice.json()["code"] == "SIGNUP_NOT_PENDING"
    (mine,) = (await world.client.get("/volunteers/me/signups", headers=headers)).json()
    assert mine["status"] == "rejected" and mine["reason"] == "名额留给本社区居民"


async def test_another_organizations_admin_cannot_review_or_list(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    _, other_admin = await world.organization(name="另一支队伍")
    headers, _ = await world.volunteer()
    signup = await world.signed_up(headers, session_id, admin, approve=False)
    decided = await decide(world, signup["id"], other_admin, approve=True)
    assert decided.status_code == 403 and decided.json()["code"] == "OUT_OF_SCOPE"
    listed = await world.client.get(f"/sessions/{session_id}/signups", headers=other_admin)
    assert listed.status_code == 403 and listed.json()["code"] == "OUT_OF_SCOPE"


async def test_a_duplicate_signup_is_refused(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    headers, _ = await world.volunteer()
    await world.signed_up(headers, session_id, admin)
    again = await apply(world, headers, session_id)
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_SIGNED_UP"


async def test_a_cancelled_or_rejected_signup_may_apply_again(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    headers, _ = await world.volunteer()
    signup = await world.signed_up(headers, session_id, admin)
    await world.client.post(f"/signups/{signup['id']}/cancel", headers=headers)
    again = await apply(world, headers, session_id)
    assert again.status_code == 201 and again.json()["status"] == "pending"
    assert again.json()["id"] == signup["id"]
    await decide(world, signup["id"], admin, approve=False, reason="人数已够")
    third = await apply(world, headers, session_id)
    assert third.status_code == 201 and third.json()["status"] == "pending" and third.json()["reason"] is None


async def test_cancelling_after_the_cutoff_is_refused(world: World) -> None:
    session_id, admin, _ = await open_session(world, cancel_cutoff_min=120)
    headers, profile = await world.volunteer()
    signup = await world.signed_up(headers, session_id, admin)
    headers = await advance(world, timedelta(days=3) - timedelta(minutes=119), profile)
    late = await world.client.post(f"/signups/{signup['id']}/cancel", headers=headers)
    assert late.status_code == 409 and late.json()["code"] == "CANCEL_TOO_LATE"


async def test_only_the_volunteer_cancels_their_signup(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    headers, _ = await world.volunteer()
    other, _ = await world.volunteer()
    signup = await world.signed_up(headers, session_id, admin)
    reply = await world.client.post(f"/signups/{signup['id']}/cancel", headers=other)
    assert reply.status_code == 404 and reply.json()["code"] == "SIGNUP_NOT_FOUND"
    twice = await world.client.post(f"/signups/{signup['id']}/cancel", headers=headers)
    assert twice.status_code == 201
    thrice = await world.client.post(f"/signups/{signup['id']}/cancel", headers=headers)
    assert thrice.status_code == 409 and thrice.json()["code"] == "SIGNUP_NOT_PENDING"


async def test_signing_up_after_the_session_starts_is_refused(world: World) -> None:
    session_id, _, _ = await open_session(world)
    _, profile = await world.volunteer()
    headers = await advance(world, timedelta(days=3), profile)
    reply = await apply(world, headers, session_id)
    assert reply.status_code == 409 and reply.json()["code"] == "SIGNUP_CLOSED"


async def test_a_draft_projects_sessions_take_no_signups(world: World) -> None:
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin, publish=False)
    headers, _ = await world.volunteer()
    reply = await apply(world, headers, project["sessions"][0]["id"])
    assert reply.status_code == 409 and reply.json()["code"] == "SIGNUP_CLOSED"
    missing = await apply(world, headers, str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["code"] == "SESSION_NOT_FOUND"


async def test_an_unregistered_account_cannot_sign_up(world: World) -> None:
    session_id, _, _ = await open_session(world)
    tokens = await world.wechat_login()
    reply = await apply(world, {"Authorization": f"Bearer {tokens['access_token']}"}, session_id)
    assert reply.status_code == 404 and reply.json()["code"] == "VOLUNTEER_NOT_REGISTERED"


async def test_five_no_shows_in_a_year_suspend_signing_up(world: World) -> None:
    org_id, admin = await world.organization()
    start = world.clock() + timedelta(days=1)
    past = [session_body(start + timedelta(days=d)) for d in range(NO_SHOW_LIMIT)]
    project = await world.project(org_id, admin, sessions=[*past, session_body(start + timedelta(days=30))])
    headers, profile = await world.volunteer()
    for session in project["sessions"][:NO_SHOW_LIMIT]:
        await world.signed_up(headers, session["id"], admin)
    await Signup.update({Signup.status: SignupStatus.no_show}).where(
        Signup.volunteer == uuid.UUID(profile["id"])
    )
    headers = await advance(world, timedelta(days=10), profile)
    volunteer_id = uuid.UUID(profile["id"])
    assert not await is_suspended(volunteer_id, world.clock(), limit=NO_SHOW_LIMIT + 1)
    refused = await apply(world, headers, project["sessions"][-1]["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "SIGNUP_SUSPENDED"
    # No-shows older than a year no longer count.
    assert not await is_suspended(volunteer_id, world.clock() + timedelta(days=366))


async def test_volunteers_see_their_signups_with_session_times_and_project(world: World) -> None:
    session_id, admin, _ = await open_session(world)
    headers, _ = await world.volunteer()
    await world.signed_up(headers, session_id, admin)
    (mine,) = (await world.client.get("/volunteers/me/signups", headers=headers)).json()
    assert mine["session_id"] == session_id and mine["project_title"] == "鳌山社区敬老院陪伴"
    assert mine["status"] == "approved" and mine["cancel_until"] < mine["starts_at"] < mine["ends_at"]
