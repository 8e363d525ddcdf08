"""Settling ended sessions into service records: exact minutes, once, whatever happens to the job."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.builders import World
from tests.scan_builders import GRACE, Event, event, fresh, offline_scans, signed_up_volunteer
from volunteer import settlement
from volunteer.tables import Scan, ServiceRecord, ServiceSession, Signup, SignupStatus


async def settled_world(world: World) -> tuple[Event, dict[str, str]]:
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    on_time = await signed_up_volunteer(world, ev)
    forgot_out = await signed_up_volunteer(world, ev)
    no_show = await signed_up_volunteer(world, ev)
    await offline_scans(world, ev, [(on_time[1]["id"], -10, 95), (forgot_out[1]["id"], 20, None)])
    names = {"on_time": on_time[1]["id"], "forgot_out": forgot_out[1]["id"], "no_show": no_show[1]["id"]}
    return ev, names


async def snapshot() -> dict[str, Any]:
    records = await ServiceRecord.select(
        ServiceRecord.volunteer,
        ServiceRecord.credited_minutes,
        ServiceRecord.flags,
        ServiceRecord.started_at,
        ServiceRecord.ended_at,
        ServiceRecord.source,
        ServiceRecord.verified,
    ).order_by(ServiceRecord.credited_minutes)
    signups = await Signup.select(Signup.volunteer, Signup.status).order_by(Signup.volunteer)
    scans = await Scan.count()
    settled = await ServiceSession.select(ServiceSession.settled_at)
    return {"records": records, "signups": signups, "scans": scans, "settled": settled}


async def test_an_ended_session_settles_into_exact_records(world: World) -> None:
    ev, who = await settled_world(world)
    assert await settlement.sessions_due(world.clock(), GRACE) == [ev.session_id]
    result = await settlement.settle_session(ev.session_id, world.clock())
    assert result is not None and (result.records, result.closed_check_outs, result.no_shows) == (2, 1, 1)

    records = {str(r.volunteer): r for r in await ServiceRecord.objects()}
    # Checked in before the start, out at 95 min: credited from the start, 95 minutes.
    assert records[who["on_time"]].credited_minutes == 95
    # Never checked out: closed at the session's end (120 - 20 minutes) and flagged for the organization.
    forgot = records[who["forgot_out"]]
    assert forgot.credited_minutes == 100 and "missing_checkout" in json.loads(forgot.flags)
    assert (forgot.source, forgot.verified, forgot.status) == ("offline_scan", True, "pending")
    statuses = {
        str(s["volunteer"]): s["status"] for s in await Signup.select(Signup.volunteer, Signup.status)
    }
    assert statuses[who["no_show"]] == SignupStatus.no_show
    assert await settlement.sessions_due(world.clock(), GRACE) == []


async def test_settling_twice_changes_nothing(world: World) -> None:
    ev, _ = await settled_world(world)
    await settlement.settle_session(ev.session_id, world.clock())
    once = await snapshot()
    assert await settlement.settle_session(ev.session_id, world.clock()) is None
    assert await snapshot() == once


async def test_a_settlement_killed_halfway_leaves_nothing_and_the_rerun_matches_a_clean_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev, _ = await settled_world(world)
    before = await snapshot()
    real_insert = settlement._insert_records

    async def dies_after_writing_records(rows: list[tuple[object, ...]]) -> int:
        await real_insert(rows)
        raise RuntimeError("worker killed before marking the session settled")

    monkeypatch.setattr(settlement, "_insert_records", dies_after_writing_records)
    with pytest.raises(RuntimeError):
        await settlement.settle_session(ev.session_id, world.clock())
    assert await snapshot() == before  # the whole transaction rolled back
    monkeypatch.setattr(settlement, "_insert_records", real_insert)
    await settlement.settle_session(ev.session_id, world.clock())
    after_rerun = await snapshot()
    assert len(after_rerun["records"]) == 2 and after_rerun["settled"][0]["settled_at"] is not None


async def test_the_daily_cap_holds_across_sessions(world: World) -> None:
    world.settings  # noqa: B018
    first = await event(world, starts_in=timedelta(minutes=5), hours=2)
    second = await event(world, starts_in=timedelta(minutes=65), hours=2, org=(first.org_id, first.admin))
    _, profile = await signed_up_volunteer(world, first)
    await Signup(
        session=second.session_id, volunteer=profile["id"], status="approved", applied_at=world.clock()
    ).save()
    start = world.clock()
    await offline_scans(world, first, [(profile["id"], 0, 120)])
    world.clock.now = start
    await offline_scans(world, second, [(profile["id"], 0, 120)])
    await settlement.settle_session(first.session_id, world.clock(), daily_cap=150)
    await settlement.settle_session(second.session_id, world.clock(), daily_cap=150)
    records = await ServiceRecord.select(ServiceRecord.credited_minutes, ServiceRecord.flags).order_by(
        ServiceRecord.started_at
    )
    # The sessions overlap by an hour: that hour counts once, and the day stops at the cap.
    assert [r["credited_minutes"] for r in records] == [120, 30]
    assert "overlapping_sessions" in json.loads(records[1]["flags"])


async def test_the_volunteer_sees_their_minutes(world: World) -> None:
    ev = await event(world, starts_in=timedelta(minutes=5), hours=2)
    headers, profile = await signed_up_volunteer(world, ev)
    await offline_scans(world, ev, [(profile["id"], 0, 90)])
    await settlement.settle_session(ev.session_id, world.clock())
    summary = await world.client.get("/volunteers/me/service", headers=fresh(world, headers))
    assert summary.status_code == 200, summary.text
    assert summary.json() == {
        "total_minutes": 90,
        "total_hours": "1.5",
        "audited_minutes": 0,
        "audited_hours": "0.0",
        "audited_verified_minutes": 0,
        "audited_manual_minutes": 0,
        "pending_minutes": 90,
        "records": 1,
        "sessions_attended": 1,
    }
    records = (await world.client.get("/volunteers/me/records", headers=fresh(world, headers))).json()
    assert [(r["credited_minutes"], r["hours"], r["verified"]) for r in records] == [(90, "1.5", True)]
