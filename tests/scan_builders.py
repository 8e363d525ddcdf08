"""Sessions, sign-ups and codes for check-in tests, written straight to the tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from httpx import Response

from tests.builders import COMMUNITY, World
from volunteer.codes import CodeSigner
from volunteer.regions import region_by_code
from volunteer.tables import Project, ProjectStatus, ServiceSession, Signup, SignupStatus, Volunteer

SITE = (31.6228, 121.3976)  # 崇明 城桥镇


@dataclass
class Event:
    org_id: uuid.UUID
    admin: dict[str, str]
    project_id: uuid.UUID
    session_id: uuid.UUID
    seq: int
    starts_at: datetime
    ends_at: datetime


def signer(world: World) -> CodeSigner:
    return CodeSigner(world.settings.code_key, window_s=world.settings.code_window_s)


async def event(
    world: World,
    *,
    starts_in: timedelta = timedelta(minutes=10),
    hours: float = 2,
    capacity: int = 10,
    geofence_m: int | None = None,
    walk_in: bool = False,
    org: tuple[uuid.UUID, dict[str, str]] | None = None,
) -> Event:
    org_id, admin = org or await world.organization()
    region = await region_by_code(COMMUNITY)
    now = world.clock()
    project = Project(
        organization=org_id,
        region=region.id,
        title="鳌山社区敬老院陪伴",
        category="elderly_and_disabled",
        description="陪伴老人聊天、读报",
        address="城桥镇鳌山路1号",
        latitude=SITE[0],
        longitude=SITE[1],
        geofence_m=geofence_m,
        person_in_charge="李队长",
        contact_phone="021-59612345",
        headcount=capacity,
        allow_walk_in=walk_in,
        status=ProjectStatus.published,
        created_by=(await _any_account()),
        created_at=now,
    )
    await project.save()
    starts = now + starts_in
    session = ServiceSession(
        project=project.id,
        code_seq=uuid.uuid4().int % 2**39 + 1,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        capacity=capacity,
        created_at=now,
    )
    await session.save()
    return Event(org_id, admin, project.id, session.id, session.code_seq, session.starts_at, session.ends_at)


async def _any_account() -> uuid.UUID:
    from volunteer.tables import Account

    row = await Account.select(Account.id).first()
    assert row is not None
    return row["id"]  # type: ignore[no-any-return]


async def signed_up_volunteer(
    world: World, ev: Event, status: SignupStatus = SignupStatus.approved, **registration: Any
) -> tuple[dict[str, str], dict[str, Any]]:
    headers, profile = await world.volunteer(**registration)
    await Signup(
        session=ev.session_id, volunteer=profile["id"], status=status, applied_at=world.clock()
    ).save()
    return headers, profile


async def code_seq_of(volunteer_id: str) -> int:
    row = await Volunteer.select(Volunteer.code_seq).where(Volunteer.id == volunteer_id).first()
    assert row is not None
    return int(row["code_seq"])


def scan_body(code: str, kind: str = "check_in", **extra: Any) -> dict[str, Any]:
    return {
        "nonce": uuid.uuid4().hex,
        "code": code,
        "kind": kind,
        "latitude": SITE[0],
        "longitude": SITE[1],
        **extra,
    }


async def scan(world: World, headers: dict[str, str], body: dict[str, Any]) -> Response:
    return await world.client.post("/scans", json=body, headers=headers)


def fresh(world: World, headers: dict[str, str]) -> dict[str, str]:
    """The same person's token, minted at the test clock's now (tests jump hours ahead)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return world.headers(uuid.UUID(claims["sub"]))


GRACE = timedelta(minutes=30)


async def offline_scans(world: World, ev: Event, people: list[tuple[str, int, int | None]]) -> None:
    """Organizer uploads (volunteer id, check-in minute, check-out minute or None) after the session ended
    (plus grace): the test clock moves there."""
    s = signer(world)
    batch: list[dict[str, Any]] = []
    for volunteer_id, in_min, out_min in people:
        seq = await code_seq_of(volunteer_id)
        at = ev.starts_at + timedelta(minutes=in_min)
        batch.append(scan_body(s.personal_code(seq, at), device_time=at.isoformat()))
        if out_min is not None:
            at = ev.starts_at + timedelta(minutes=out_min)
            batch.append(scan_body(s.personal_code(seq, at), "check_out", device_time=at.isoformat()))
    world.clock.now = ev.ends_at + GRACE + timedelta(minutes=1)
    url = f"/sessions/{ev.session_id}/scans/offline"
    reply = await world.client.post(url, json={"scans": batch}, headers=fresh(world, ev.admin))
    assert reply.status_code == 200, reply.text
    assert all(r["accepted"] for r in reply.json()), reply.text
