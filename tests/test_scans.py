"""Scans through the API: every minute served is counted once, every refusal has its own code."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

import errors
from tests.builders import World
from tests.scan_builders import SITE, code_seq_of, event, scan, scan_body, signed_up_volunteer, signer
from volunteer.tables import Scan, Signup, SignupStatus


def refused(reply: Any, code: str) -> None:
    assert reply.status_code == errors.CATALOG[code].status, reply.text
    body = reply.json()
    assert body["code"] == code
    assert body["message"] == errors.CATALOG[code].message


async def test_check_in_and_out_are_accepted_and_stored(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=5))
    headers, profile = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    checked_in = await scan(world, headers, scan_body(code))
    assert checked_in.status_code == 201, checked_in.text
    assert checked_in.json()["accepted"] is True and checked_in.json()["volunteer_id"] == profile["id"]

    world.clock.now += timedelta(minutes=14)
    code = signer(world).session_code(ev.seq, world.clock())
    checked_out = await scan(world, headers, scan_body(code, "check_out"))
    assert checked_out.status_code == 201, checked_out.text
    accepted = await Scan.select(Scan.kind).where(Scan.accepted == True).order_by(Scan.effective_time)  # noqa: E712
    assert [r["kind"] for r in accepted] == ["check_in", "check_out"]


async def test_the_same_nonce_again_returns_the_first_result_and_writes_nothing(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    body = scan_body(signer(world).session_code(ev.seq, world.clock()))
    first = await scan(world, headers, body)
    again = await scan(world, headers, body)
    assert again.status_code == 201
    assert again.json()["scan_id"] == first.json()["scan_id"] and again.json()["replayed"] is True
    assert await Scan.count() == 1


async def test_the_same_nonce_with_a_different_body_is_a_conflict(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    body = scan_body(signer(world).session_code(ev.seq, world.clock()))
    await scan(world, headers, body)
    refused(await scan(world, headers, {**body, "latitude": 31.0}), "NONCE_REUSED")
    assert await Scan.count() == 1


async def test_a_repeated_refusal_is_replayed_too(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev, SignupStatus.pending)
    body = scan_body(signer(world).session_code(ev.seq, world.clock()))
    refused(await scan(world, headers, body), "NOT_SIGNED_UP")
    refused(await scan(world, headers, body), "NOT_SIGNED_UP")
    assert await Scan.count() == 1


async def test_an_expired_code_is_refused_and_the_attempt_is_stored(world: World) -> None:
    ev = await event(world)
    headers, profile = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    world.clock.now += timedelta(minutes=2)
    refused(await scan(world, headers, scan_body(code)), "CODE_EXPIRED")
    stored = await Scan.objects().first()
    assert stored is not None and not stored.accepted and stored.refusal == "CODE_EXPIRED"
    assert str(stored.volunteer) == profile["id"] and stored.session == ev.session_id


async def test_a_code_signed_by_someone_else_is_invalid(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    refused(
        await scan(world, headers, scan_body(code[:-1] + ("A" if code[-1] != "A" else "B"))), "CODE_INVALID"
    )


async def test_a_code_from_another_session_is_refused(world: World) -> None:
    ev = await event(world)
    other = await event(world, org=(ev.org_id, ev.admin))
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(other.seq, world.clock())
    refused(await scan(world, headers, scan_body(code, session_id=str(ev.session_id))), "CODE_WRONG_SESSION")


async def test_a_volunteer_who_did_not_sign_up_is_refused(world: World) -> None:
    ev = await event(world)
    headers, _ = await world.volunteer()
    refused(
        await scan(world, headers, scan_body(signer(world).session_code(ev.seq, world.clock()))),
        "NOT_SIGNED_UP",
    )


async def test_check_in_long_before_the_session_is_outside_the_window(world: World) -> None:
    ev = await event(world, starts_in=timedelta(hours=2))
    headers, _ = await signed_up_volunteer(world, ev)
    reply = await scan(world, headers, scan_body(signer(world).session_code(ev.seq, world.clock())))
    refused(reply, "CHECKIN_OUTSIDE_WINDOW")


async def test_checking_in_twice_is_refused(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    await scan(world, headers, scan_body(code))
    refused(await scan(world, headers, scan_body(code)), "ALREADY_CHECKED_IN")


async def test_check_out_before_check_in_is_refused(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    refused(await scan(world, headers, scan_body(code, "check_out")), "CHECKOUT_BEFORE_CHECKIN")


async def test_a_scan_outside_the_geofence_is_refused(world: World) -> None:
    ev = await event(world, geofence_m=200)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    far = scan_body(code, latitude=SITE[0] + 0.01)  # about 1.1 km north
    refused(await scan(world, headers, far), "OUTSIDE_GEOFENCE")


async def test_a_missing_location_is_accepted_but_flagged(world: World) -> None:
    ev = await event(world, geofence_m=200)
    headers, _ = await signed_up_volunteer(world, ev)
    body = scan_body(signer(world).session_code(ev.seq, world.clock()))
    del body["latitude"], body["longitude"]
    reply = await scan(world, headers, body)
    assert reply.status_code == 201 and reply.json()["flags"] == ["location_missing"]


async def test_a_volunteer_with_five_no_shows_this_year_is_suspended(world: World) -> None:
    ev = await event(world)
    headers, profile = await signed_up_volunteer(world, ev)
    for _ in range(5):
        past = await event(world, starts_in=-timedelta(days=30), org=(ev.org_id, ev.admin))
        await Signup(
            session=past.session_id,
            volunteer=profile["id"],
            status=SignupStatus.no_show,
            applied_at=world.clock(),
        ).save()
    refused(
        await scan(world, headers, scan_body(signer(world).session_code(ev.seq, world.clock()))),
        "VOLUNTEER_SUSPENDED",
    )


async def test_an_unregistered_person_is_told_how_to_register(world: World) -> None:
    ev = await event(world)
    tokens = await world.wechat_login()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    reply = await scan(world, headers, scan_body(signer(world).session_code(ev.seq, world.clock())))
    refused(reply, "SCAN_NOT_REGISTERED")
    assert "注册" in reply.json()["message"]


async def test_scanning_too_often_is_rate_limited(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev, SignupStatus.pending)
    code = signer(world).session_code(ev.seq, world.clock())
    for _ in range(world.settings.scan_attempts_per_min):
        refused(await scan(world, headers, scan_body(code)), "NOT_SIGNED_UP")
    refused(await scan(world, headers, scan_body(code)), "SCAN_RATE_LIMITED")
    assert await Scan.count() == world.settings.scan_attempts_per_min  # the flood is not stored


async def test_a_device_clock_far_from_the_codes_window_is_refused(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    skewed = (world.clock() - timedelta(minutes=30)).isoformat()
    refused(await scan(world, headers, scan_body(code, device_time=skewed)), "DEVICE_CLOCK_SKEWED")


async def test_walk_ins_are_signed_up_on_the_spot_while_capacity_lasts(world: World) -> None:
    ev = await event(world, walk_in=True, capacity=1)
    code = signer(world).session_code(ev.seq, world.clock())
    first, _ = await world.volunteer()
    reply = await scan(world, first, scan_body(code))
    assert reply.status_code == 201, reply.text
    signups = await Signup.select(Signup.status, Signup.walk_in)
    assert signups == [{"status": "approved", "walk_in": True}]
    second, _ = await world.volunteer()
    refused(await scan(world, second, scan_body(code)), "SESSION_FULL")


async def test_two_racing_check_ins_count_once(world: World) -> None:
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    replies = await asyncio.gather(*(scan(world, headers, scan_body(code)) for _ in range(4)))
    assert sorted(r.status_code for r in replies) == [201, 409, 409, 409]
    assert await Scan.count().where(Scan.accepted == True) == 1  # noqa: E712


async def test_the_organizer_scans_a_personal_code_once(world: World) -> None:
    ev = await event(world)
    _, profile = await signed_up_volunteer(world, ev)
    code = signer(world).personal_code(await code_seq_of(profile["id"]), world.clock())
    url = f"/sessions/{ev.session_id}/scans"
    reply = await world.client.post(url, json=scan_body(code), headers=ev.admin)
    assert reply.status_code == 201, reply.text
    world.clock.now += timedelta(seconds=5)
    # The same code shown again (a screenshot, say) cannot check the person out.
    refused(
        await world.client.post(url, json=scan_body(code, "check_out"), headers=ev.admin), "CODE_REPLAYED"
    )


async def test_only_the_sessions_organizer_may_scan_for_it(world: World) -> None:
    ev = await event(world)
    _, profile = await signed_up_volunteer(world, ev)
    _, stranger = await world.organization(name="另一支队伍")
    code = signer(world).personal_code(await code_seq_of(profile["id"]), world.clock())
    reply = await world.client.post(
        f"/sessions/{ev.session_id}/scans", json=scan_body(code), headers=stranger
    )
    refused(reply, "OUT_OF_SCOPE")
    assert await Scan.count() == 0


async def test_a_printed_card_works_only_for_the_organizer_and_until_it_is_replaced(world: World) -> None:
    ev = await event(world)
    headers, profile = await signed_up_volunteer(world, ev)
    await world.client.post(f"/organizations/{ev.org_id}/join", headers=headers)
    members = (await world.client.get(f"/organizations/{ev.org_id}/members", headers=ev.admin)).json()
    await world.client.post(
        f"/organizations/{ev.org_id}/members/{members[0]['id']}/decision",
        json={"approve": True},
        headers=ev.admin,
    )
    first = (await world.client.post(f"/volunteers/{profile['id']}/card", headers=ev.admin)).json()
    second = (await world.client.post(f"/volunteers/{profile['id']}/card", headers=ev.admin)).json()
    assert second["version"] == first["version"] + 1

    refused(await scan(world, headers, scan_body(second["code"])), "CARD_NEEDS_ORGANIZER")
    url = f"/sessions/{ev.session_id}/scans"
    refused(await world.client.post(url, json=scan_body(first["code"]), headers=ev.admin), "CARD_REVOKED")
    accepted = await world.client.post(url, json=scan_body(second["code"]), headers=ev.admin)
    assert accepted.status_code == 201, accepted.text


async def test_an_offline_batch_counts_once_however_often_it_is_uploaded(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=-60), hours=3)
    people = [await signed_up_volunteer(world, ev) for _ in range(3)]
    s = signer(world)
    batch: list[dict[str, Any]] = []
    for i, (_, profile) in enumerate(people):
        seq = await code_seq_of(profile["id"])
        t_in = world.clock() - timedelta(minutes=50 - i)
        t_out = world.clock() - timedelta(minutes=5 - i)
        batch.append(scan_body(s.personal_code(seq, t_in), device_time=t_in.isoformat()))
        batch.append(scan_body(s.personal_code(seq, t_out), "check_out", device_time=t_out.isoformat()))
    url = f"/sessions/{ev.session_id}/scans/offline"
    first = await world.client.post(url, json={"scans": batch}, headers=ev.admin)
    assert first.status_code == 200, first.text
    assert [r["accepted"] for r in first.json()] == [True] * 6
    again = await world.client.post(url, json={"scans": batch}, headers=ev.admin)
    assert [r["replayed"] for r in again.json()] == [True] * 6
    assert await Scan.count() == 6


async def test_a_changed_item_in_a_reuploaded_batch_is_refused_alone(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=-60), hours=3)
    people = [await signed_up_volunteer(world, ev) for _ in range(2)]
    at = world.clock() - timedelta(minutes=30)
    batch = [
        scan_body(signer(world).personal_code(await code_seq_of(p["id"]), at), device_time=at.isoformat())
        for _, p in people
    ]
    url = f"/sessions/{ev.session_id}/scans/offline"
    await world.client.post(url, json={"scans": batch}, headers=ev.admin)
    batch[1] = {**batch[1], "latitude": 30.0}
    again = (await world.client.post(url, json={"scans": batch}, headers=ev.admin)).json()
    assert [(r["replayed"], r["code"]) for r in again] == [(True, None), (False, "NONCE_REUSED")]
    assert await Scan.count() == 2


async def test_check_in_codes_never_reach_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ev = await event(world)
    headers, _ = await signed_up_volunteer(world, ev)
    code = signer(world).session_code(ev.seq, world.clock())
    await scan(world, headers, scan_body(code))
    await scan(world, headers, scan_body(code[:-2] + "ZZ"))  # refused, too
    shown = (await world.client.get(f"/sessions/{ev.session_id}/code", headers=ev.admin)).json()["code"]
    text = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert code not in text and shown not in text and code.split(".")[-1] not in text


async def test_a_late_offline_upload_is_flagged(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=-180), hours=4)
    _, profile = await signed_up_volunteer(world, ev)
    at = world.clock() - timedelta(minutes=170)
    code = signer(world).personal_code(await code_seq_of(profile["id"]), at)
    reply = await world.client.post(
        f"/sessions/{ev.session_id}/scans/offline",
        json={"scans": [scan_body(code, device_time=at.isoformat())]},
        headers=ev.admin,
    )
    assert reply.json()[0]["accepted"] is True and "late_upload" in reply.json()[0]["flags"]


@pytest.mark.parametrize("suffix", ["code", "code.png", "code.svg"])
async def test_the_organizer_screen_gets_the_rotating_code(world: World, suffix: str) -> None:
    ev = await event(world)
    reply = await world.client.get(f"/sessions/{ev.session_id}/{suffix}", headers=ev.admin)
    assert reply.status_code == 200, reply.text
    if suffix == "code":
        assert len(reply.json()["code"]) <= 32 and 0 < reply.json()["expires_in"] <= 30
    else:
        assert reply.headers["cache-control"] == "no-store"
        assert reply.content.startswith(b"\x89PNG") if suffix.endswith("png") else b"<svg" in reply.content
