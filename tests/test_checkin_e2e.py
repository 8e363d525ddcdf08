"""From a posted project to minutes a volunteer can see, with the settlement run by a real arq worker:
a separate `python -m jobs` process against Redis when REDIS_URL is set (CI), else the embedded one."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from jobs.outbox import relay
from jobs.runtime import job_runtime
from jobs.settlement import schedule_settlements
from tests.builders import World
from tests.scan_builders import fresh, signer
from volunteer.tables import ServiceRecord, Volunteer

ROOT = Path(__file__).resolve().parents[1]


@asynccontextmanager
async def job_worker(world: World, tmp_path: Path) -> AsyncIterator[None]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        async with job_runtime(None, data_dir=tmp_path, clock=world.clock, settings=world.settings) as arq:
            # Schedule and relay now rather than wait for the crons' ticks; the worker still runs the job.
            await schedule_settlements(world.clock(), world.settings)
            await relay(arq, world.clock())
            yield
        return
    env = {**os.environ, "DATABASE_URL": world.settings.database_url, "DATA_DIR": str(tmp_path)}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "jobs", cwd=ROOT, env=env)
    try:
        yield
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), timeout=20)


async def settled_minutes(volunteer_id: str, *, within_s: float = 90) -> int:
    """Wait for the worker to write the volunteer's record; the minutes it credited."""
    for _ in range(int(within_s * 4)):
        rows = await ServiceRecord.select(ServiceRecord.credited_minutes).where(
            ServiceRecord.volunteer == volunteer_id
        )
        if rows:
            return int(rows[0]["credited_minutes"])
        await asyncio.sleep(0.25)
    raise AssertionError("the worker did not settle the session in time")


async def posted_session(world: World) -> tuple[dict[str, str], dict[str, Any]]:
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin)
    session = await world.session(project["id"], admin, starts_at=world.clock() + timedelta(minutes=5))
    return admin, session


async def test_post_sign_up_scan_in_and_out_settle_and_see_the_minutes(world: World, tmp_path: Path) -> None:
    client, clock = world.client, world.clock
    admin, session = await posted_session(world)
    volunteer, profile = await world.volunteer()
    signed = await world.signed_up(volunteer, session["id"], admin)
    assert signed["status"] == "approved"

    start = clock()
    shown = await client.get(f"/sessions/{session['id']}/code", headers=admin)
    scanned_in = await client.post(
        "/scans",
        json={"nonce": "e2e-in-0001", "code": shown.json()["code"], "kind": "check_in"},
        headers=volunteer,
    )
    assert scanned_in.status_code == 201, scanned_in.text

    clock.now = start + timedelta(minutes=65)
    shown = await client.get(f"/sessions/{session['id']}/code", headers=fresh(world, admin))
    scanned_out = await client.post(
        "/scans",
        json={"nonce": "e2e-out-0001", "code": shown.json()["code"], "kind": "check_out"},
        headers=fresh(world, volunteer),
    )
    assert scanned_out.status_code == 201, scanned_out.text

    clock.now = start + timedelta(hours=3)
    async with job_worker(world, tmp_path):
        # In at start-5 min, out at start+65 min: the session began 5 minutes in, so 60 minutes count.
        assert await settled_minutes(profile["id"]) == 60
    summary = await client.get("/volunteers/me/service", headers=fresh(world, volunteer))
    assert summary.json()["total_minutes"] == 60 and summary.json()["total_hours"] == "1.0"


async def test_the_organizer_scans_personal_codes_offline_and_the_minutes_arrive(
    world: World, tmp_path: Path
) -> None:
    client, clock = world.client, world.clock
    admin, session = await posted_session(world)
    volunteer, profile = await world.volunteer()
    await world.signed_up(volunteer, session["id"], admin)
    seq = (await Volunteer.select(Volunteer.code_seq).where(Volunteer.id == profile["id"]).first() or {})[
        "code_seq"
    ]

    start = clock()
    at_in, at_out = start + timedelta(minutes=10), start + timedelta(minutes=100)
    batch = [
        {
            "nonce": "off-in-0001",
            "code": signer(world).personal_code(seq, at_in),
            "kind": "check_in",
            "device_time": at_in.isoformat(),
        },
        {
            "nonce": "off-out-0001",
            "code": signer(world).personal_code(seq, at_out),
            "kind": "check_out",
            "device_time": at_out.isoformat(),
        },
    ]
    clock.now = start + timedelta(hours=3)  # the device was offline all along; it uploads afterwards
    uploaded = await client.post(
        f"/sessions/{session['id']}/scans/offline", json={"scans": batch}, headers=fresh(world, admin)
    )
    assert [r["accepted"] for r in uploaded.json()] == [True, True], uploaded.text
    async with job_worker(world, tmp_path):
        assert await settled_minutes(profile["id"]) == 90
    records = (await client.get("/volunteers/me/records", headers=fresh(world, volunteer))).json()
    assert [(r["source"], r["credited_minutes"], r["verified"]) for r in records] == [
        ("offline_scan", 90, True)
    ]
