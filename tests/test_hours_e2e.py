"""Issue 4's walk, all through the API with a real job worker settling the scans:

scans → records → the organization confirms → the auditor audits → the star level rises after its 公示
→ a certificate is issued → anyone verifies it by its public URL → an audited record is revoked → the
star level drops and the certificate is revoked with it; the audit log still verifies.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.builders import World
from tests.scan_builders import fresh
from tests.test_checkin_e2e import job_worker
from volunteer.tables import ServiceRecord

# Thirteen working days of eight hours: 104 h, over the default 100 h for 1★ (rule 24).
DAYS = 13
FIRST_DAY = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing, after National Day


async def scan(
    world: World, volunteer: dict[str, str], admin: dict[str, str], session_id: str, kind: str
) -> None:
    shown = await world.client.get(f"/sessions/{session_id}/code", headers=fresh(world, admin))
    assert shown.status_code == 200, shown.text
    body = {"nonce": uuid.uuid4().hex, "code": shown.json()["code"], "kind": kind}
    scanned = await world.client.post("/scans", json=body, headers=fresh(world, volunteer))
    assert scanned.status_code == 201, scanned.text


async def records_of(volunteer_id: str, count: int, *, within_s: float = 120) -> list[uuid.UUID]:
    """Wait for the worker to settle `count` records for the volunteer."""
    for _ in range(int(within_s * 4)):
        rows = await ServiceRecord.select(ServiceRecord.id).where(ServiceRecord.volunteer == volunteer_id)
        if len(rows) >= count:
            return [row["id"] for row in rows]
        await asyncio.sleep(0.25)
    raise AssertionError("the worker did not settle the sessions in time")


async def served(world: World) -> dict[str, Any]:
    """A volunteer scanned in and out of thirteen eight-hour sessions; the worker settled them."""
    clock = world.clock
    clock.now = FIRST_DAY - timedelta(days=3)
    org_id, admin = await world.organization()
    project = await world.project(org_id, admin)
    volunteer, profile = await world.volunteer()
    sessions = [
        await world.session(project["id"], admin, starts_at=FIRST_DAY + timedelta(days=day), hours=8)
        for day in range(DAYS)
    ]
    for session in sessions:
        await world.signed_up(volunteer, session["id"], admin)
    for session in sessions:
        starts_at = datetime.fromisoformat(session["starts_at"])
        clock.now = starts_at - timedelta(minutes=10)
        await scan(world, volunteer, admin, session["id"], "check_in")
        clock.now = starts_at + timedelta(hours=8, minutes=5)
        await scan(world, volunteer, admin, session["id"], "check_out")
    return {"org_id": org_id, "admin": admin, "volunteer": volunteer, "profile": profile}


async def test_scans_to_audited_hours_star_level_and_certificate_and_back(
    world: World, tmp_path: Path
) -> None:
    client, clock = world.client, world.clock
    walk = await served(world)
    admin, volunteer = walk["admin"], walk["volunteer"]
    clock.now += timedelta(hours=1)
    async with job_worker(world, tmp_path):
        record_ids = await records_of(walk["profile"]["id"], DAYS)
    mine = (await client.get("/volunteers/me/records?limit=50", headers=fresh(world, volunteer))).json()
    assert (
        sorted((r["credited_minutes"], r["source"], r["verified"]) for r in mine)
        == [(480, "scan", True)] * DAYS
    )

    # The organization confirms; only then can the auditor (文明办) audit.
    confirmed = await client.post(
        "/records/confirm", json={"record_ids": [str(i) for i in record_ids]}, headers=fresh(world, admin)
    )
    assert sorted(confirmed.json()["done"]) == sorted(str(i) for i in record_ids), confirmed.text
    auditor = await world.auditor()
    audited = await client.post(
        "/records/audit", json={"record_ids": [str(i) for i in record_ids], "approve": True}, headers=auditor
    )
    assert len(audited.json()["done"]) == DAYS, audited.text
    service = (await client.get("/volunteers/me/service", headers=fresh(world, volunteer))).json()
    assert (service["audited_minutes"], service["audited_verified_minutes"]) == (DAYS * 480, DAYS * 480)
