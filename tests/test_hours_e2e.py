"""Issue 4's walk, all through the API with a real job worker settling the scans:

scans → records → the organization confirms → the auditor audits → the star level rises after its 公示
→ a certificate is issued → anyone verifies it by its public URL → an audited record is revoked → the
star level drops and the certificate is revoked with it; the audit log still verifies.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tests.builders import World
from tests.scan_builders import fresh
from tests.test_checkin_e2e import job_worker
from volunteer.hours import CHINA
from volunteer.record_rules import RecordRules
from volunteer.star_levels import publish_due
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

    # 104 audited hours reach 1★, published only after 5 working days of 公示.
    stars = await star_level(world, volunteer)
    assert (stars["level"], stars["pending_level"]) == (0, 1)
    last_day = date.fromisoformat(stars["publicity_ends_on"])
    assert last_day == rules(world).calendar.add_working_days(china_today(world), 5)
    clock.now = datetime.combine(last_day, time(23, 0), CHINA).astimezone(UTC)
    assert await publish_due(rules(world), clock()) == 0
    clock.now += timedelta(hours=1, minutes=1)
    assert await publish_due(rules(world), clock()) == 1
    stars = await star_level(world, volunteer)
    assert (stars["level"], stars["pending_level"]) == (1, None)

    # The next day the volunteer asks for a certificate of the period; anyone can check it by its QR's URL.
    clock.now += timedelta(days=1)
    issued = await client.post(
        "/volunteers/me/certificates",
        json={"period_from": "2026-10-01", "period_to": "2026-10-31"},
        headers=fresh(world, volunteer),
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert (issued.json()["hours"], issued.json()["record_count"]) == ("104.0", DAYS)
    pdf = await client.get(f"/volunteers/me/certificates/{number}.pdf", headers=fresh(world, volunteer))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    public = await client.get(f"/public/certificates/{number}")
    assert public.json() == {
        "number": number,
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "hours": "104.0",
        "status": "valid",
    }

    # The 文明办 revokes one audited day: 96 h is under 1★, and the certificate that counted it falls.
    revoked = await client.post(
        f"/records/{record_ids[0]}/revoke",
        json={"reason": "核查发现当日未实际参加服务"},
        headers=fresh(world, auditor),
    )
    assert revoked.status_code == 200, revoked.text
    stars = await star_level(world, volunteer)
    assert (stars["level"], stars["audited_minutes"]) == (0, (DAYS - 1) * 480)
    history = (await client.get("/volunteers/me/star-level", headers=fresh(world, volunteer))).json()[
        "history"
    ]
    assert [event["kind"] for event in history] == ["demoted", "published", "proposed"]
    public = (await client.get(f"/public/certificates/{number}")).json()
    assert public["status"] == "revoked"
    service = (await client.get("/volunteers/me/service", headers=fresh(world, volunteer))).json()
    assert service["audited_minutes"] == (DAYS - 1) * 480

    # Every step above is in the hash chain, and the chain holds.
    verified = await client.get("/audit-log/verify", headers=fresh(world, auditor))
    assert verified.json()["ok"] is True, verified.text
    actions = [
        e["action"] for e in (await client.get("/audit-log?limit=200", headers=fresh(world, auditor))).json()
    ]
    for action in ("record.confirm", "record.audit", "star.propose", "star.publish", "certificate.issue"):
        assert action in actions
    for action in ("record.revoke", "certificate.revoke", "star.demote"):
        assert action in actions


def rules(world: World) -> RecordRules:
    return RecordRules.from_settings(world.settings)


def china_today(world: World) -> date:
    return world.clock().astimezone(CHINA).date()


async def star_level(world: World, volunteer: dict[str, str]) -> dict[str, Any]:
    reply = await world.client.get("/volunteers/me/star-level", headers=fresh(world, volunteer))
    assert reply.status_code == 200, reply.text
    periods = reply.json()["periods"]
    assert [p["period"] for p in periods] == ["all"]
    period: dict[str, Any] = periods[0]
    return period
