"""Rule 22: anomalies across records, on the auditor's queue and counted per organization.

Data is written straight to the tables: each test builds exactly the pattern it looks for, then the
same pattern one step short of it.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.builders import COMMUNITY, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import SITE, Event, event
from volunteer import anomalies
from volunteer.anomalies import counts_by_organization, flags_for_records
from volunteer.hours import CHINA
from volunteer.regions import region_by_code
from volunteer.tables import Scan, ServiceRecord, ServiceSession, Signup, Volunteer

_no = itertools.count(1)


async def volunteers(world: World, n: int) -> list[uuid.UUID]:
    region = await region_by_code(COMMUNITY)
    ids = []
    for _ in range(n):
        k = next(_no)
        v = Volunteer(
            volunteer_no=f"T{k:08d}",
            name="测试志愿者",
            gender="female",
            birth_date=date(1990, 1, 1),
            id_type="resident_id",
            id_number_enc="x",
            id_number_hash=f"{k:064d}",
            id_number_masked="3101**********0000",
            phone_enc="x",
            phone_masked="138****0000",
            region=region.id,
            created_at=world.clock(),
            updated_at=world.clock(),
        )
        await v.save()
        ids.append(v.id)
    return ids


async def record(
    ev: Event,
    volunteer_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    minutes: int | None = None,
    source: str = "scan",
    status: str = "confirmed",
    recorder: uuid.UUID | None = None,
    created_at: datetime | None = None,
) -> uuid.UUID:
    r = ServiceRecord(
        volunteer=volunteer_id,
        organization=ev.org_id,
        project=ev.project_id,
        session=ev.session_id,
        activity_name="鳌山社区敬老院陪伴",
        service_date=start.astimezone(CHINA).date(),
        place="城桥镇鳌山路1号",
        content="陪伴老人",
        started_at=start,
        ended_at=end,
        credited_minutes=(end - start) // timedelta(minutes=1) if minutes is None else minutes,
        person_in_charge="李队长",
        recorder=recorder,
        source=source,
        status=status,
        verified=source != "manual",
        created_at=created_at or start,
    )
    await r.save()
    return r.id


async def scan(ev: Event, volunteer_id: uuid.UUID, lat: float, lng: float, device: str | None = None) -> None:
    await Scan(
        nonce=uuid.uuid4().hex,
        body_hash="0" * 64,
        session=ev.session_id,
        volunteer=volunteer_id,
        kind="check_in",
        method="volunteer_scans_session",
        accepted=True,
        server_time=ev.starts_at,
        effective_time=ev.starts_at,
        latitude=lat,
        longitude=lng,
        device_id=device,
    ).save()


async def attended(
    ev: Event, people: list[uuid.UUID], fixes: list[tuple[float, float]], device: str | None = None
) -> list[uuid.UUID]:
    """Each volunteer checked in at the given fix and got a record of the whole session."""
    ids = []
    for volunteer_id, (lat, lng) in zip(people, fixes, strict=True):
        await scan(ev, volunteer_id, lat, lng, device)
        ids.append(await record(ev, volunteer_id, ev.starts_at, ev.ends_at))
    return ids


def jitter(n: int) -> list[tuple[float, float]]:
    return [(SITE[0] + i * 1e-5, SITE[1] + i * 1e-5) for i in range(n)]


def at(hour: int, minute: int = 0) -> datetime:
    """A China wall-clock time on the test day (2026-11-21)."""
    return datetime(2026, 11, 21, hour, minute, tzinfo=CHINA).astimezone(UTC)


async def anomalies_of(*ids: uuid.UUID) -> list[list[str]]:
    flags = await flags_for_records(list(ids))
    return [flags[i] for i in ids]


async def test_records_of_one_volunteer_that_overlap_are_flagged_and_touching_ones_not(world: World) -> None:
    ev = await event(world)
    (v,) = await volunteers(world, 1)
    first = await record(ev, v, at(9), at(11))
    overlapping = await record(ev, v, at(10), at(12))
    touching = await record(ev, v, at(12), at(13))
    assert await anomalies_of(first, overlapping, touching) == [
        ["overlapping_sessions"],
        ["overlapping_sessions"],
        [],
    ]


async def test_an_overlap_with_a_rejected_record_is_not_flagged(world: World) -> None:
    ev = await event(world)
    (v,) = await volunteers(world, 1)
    kept = await record(ev, v, at(9), at(11))
    await record(ev, v, at(10), at(12), status="rejected")
    assert await anomalies_of(kept) == [[]]


async def test_more_credited_minutes_than_a_china_day_has_is_flagged(world: World) -> None:
    ev = await event(world)
    (v,) = await volunteers(world, 1)
    # Credited minutes are summed per service date; the records need not overlap to be suspect.
    a = await record(ev, v, at(1), at(2), minutes=1000)
    b = await record(ev, v, at(3), at(4), minutes=441)
    assert await anomalies_of(a, b) == [["over_24h_day"], ["over_24h_day"]]


async def test_exactly_twenty_four_hours_on_a_day_is_not_flagged(world: World) -> None:
    ev = await event(world)
    (v,) = await volunteers(world, 1)
    a = await record(ev, v, at(1), at(2), minutes=1000)
    b = await record(ev, v, at(3), at(4), minutes=440)
    # Another day's minutes do not add up with these.
    c = await record(ev, v, at(1) + timedelta(days=1), at(2) + timedelta(days=1), minutes=100)
    assert await anomalies_of(a, b, c) == [[], [], []]


async def test_twenty_manual_entries_within_an_hour_are_a_burst(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 20)
    recorder = await world.account(name="补录员")
    t0 = at(20)
    ids = [
        await record(
            ev, v, at(9), at(10), source="manual", recorder=recorder, created_at=t0 + timedelta(minutes=3 * i)
        )
        for i, v in enumerate(people)
    ]
    assert await anomalies_of(*ids) == [["manual_burst"]] * 20


async def test_twenty_manual_entries_spread_over_more_than_an_hour_are_not_a_burst(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 21)
    recorder, other = await world.account(name="补录员"), await world.account(name="另一补录员")
    t0 = at(20)
    # 20 entries 61 minutes end to end, plus one more within the hour by another recorder.
    spaced = [t0 + timedelta(minutes=i * 61 / 19) for i in range(20)]
    ids = [
        await record(ev, v, at(9), at(10), source="manual", recorder=recorder, created_at=t)
        for v, t in zip(people, spaced, strict=False)
    ]
    ids.append(await record(ev, people[20], at(9), at(10), source="manual", recorder=other, created_at=t0))
    assert await anomalies_of(*ids) == [[]] * 21


async def test_a_burst_is_found_from_its_last_entry_alone(world: World) -> None:
    """Only the entries within an hour of the asked records are read: the burst's first entries, 57
    minutes before its last, must be among them; an entry 61 minutes after the burst is in none."""
    ev = await event(world)
    people = await volunteers(world, 21)
    recorder = await world.account(name="补录员")
    t0 = at(20)
    times = [t0 + timedelta(minutes=3 * i) for i in range(20)] + [t0 + timedelta(minutes=57 + 61)]
    ids = [
        await record(ev, v, at(9), at(10), source="manual", recorder=recorder, created_at=t)
        for v, t in zip(people, times, strict=True)
    ]
    assert await anomalies_of(ids[19], ids[20]) == [["manual_burst"], []]
    assert await anomalies_of(ids[0]) == [["manual_burst"]]


async def test_many_spread_out_manual_records_are_read_in_one_range(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_WINDOWS separate hours, one range covering them all is read: the same answers."""
    ev = await event(world)
    people = await volunteers(world, 21)
    recorder = await world.account(name="补录员")
    t0 = at(20)
    times = [t0 + timedelta(minutes=3 * i) for i in range(20)] + [t0 + timedelta(hours=5)]
    ids = [
        await record(ev, v, at(9), at(10), source="manual", recorder=recorder, created_at=t)
        for v, t in zip(people, times, strict=True)
    ]
    monkeypatch.setattr(anomalies, "MAX_WINDOWS", 0)
    assert await anomalies_of(ids[19], ids[20]) == [["manual_burst"], []]


async def test_ten_scans_at_exactly_the_same_coordinates_flag_their_records(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 11)
    same = await attended(ev, people[:10], [SITE] * 10)
    elsewhere = await attended(ev, people[10:], jitter(2)[1:])
    assert await anomalies_of(*same, *elsewhere) == [["identical_coordinates"]] * 10 + [[]]


async def test_nine_identical_fixes_and_the_rest_jittering_are_not_flagged(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 12)
    ids = await attended(ev, people, [SITE] * 9 + jitter(4)[1:])
    assert await anomalies_of(*ids) == [[]] * 12


async def test_one_device_checking_in_ten_volunteers_two_km_away_is_flagged(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 11)
    far = [(SITE[0] + 0.018 + i * 1e-5, SITE[1]) for i in range(10)]  # about 2 km north
    flagged = await attended(ev, people[:10], far, device="phone-A")
    on_site = await attended(ev, people[10:], [SITE], device="phone-A")
    assert await anomalies_of(*flagged, *on_site) == [["device_far_from_site"]] * 10 + [[]]


async def test_a_device_checking_in_volunteers_within_one_km_is_not_flagged(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 19)
    near = [(SITE[0] + 0.008 + i * 1e-5, SITE[1]) for i in range(10)]  # about 900 m
    ids = await attended(ev, people[:10], near, device="phone-A")
    far = [(SITE[0] + 0.018 + i * 1e-5, SITE[1]) for i in range(9)]  # nine is not enough
    ids += await attended(ev, people[10:], far, device="phone-B")
    assert await anomalies_of(*ids) == [[]] * 19


async def signups(ev: Event, people: list[uuid.UUID], status: str, now: datetime) -> None:
    for v in people:
        await Signup(session=ev.session_id, volunteer=v, status=status, applied_at=now).save()


async def settle(ev: Event) -> None:
    await ServiceSession.update({ServiceSession.settled_at: ev.ends_at}).where(
        ServiceSession.id == ev.session_id
    )


async def test_a_settled_session_with_ten_signups_and_no_scans_is_counted(world: World) -> None:
    ev = await event(world)
    people = await volunteers(world, 10)
    await signups(ev, people[:6], "no_show", world.clock())
    await signups(ev, people[6:], "approved", world.clock())
    await settle(ev)
    day = ev.starts_at.astimezone(CHINA).date()
    (row,) = await counts_by_organization("310151/", day, day)
    assert (row.organization_id, row.signups_without_scans) == (ev.org_id, 1)
    assert await counts_by_organization("310151/", day + timedelta(days=1), day + timedelta(days=1)) == []


async def test_sessions_with_nine_signups_or_one_scan_or_not_settled_are_not_counted(world: World) -> None:
    org = await world.organization()
    people = await volunteers(world, 10)
    nine = await event(world, org=org)
    await signups(nine, people[:9], "approved", world.clock())
    await signups(nine, people[9:], "cancelled", world.clock())
    scanned = await event(world, org=org)
    await signups(scanned, people, "approved", world.clock())
    await scan(scanned, people[0], *SITE)
    unsettled = await event(world, org=org)
    await signups(unsettled, people, "approved", world.clock())
    await settle(nine)
    await settle(scanned)
    day = nine.starts_at.astimezone(CHINA).date()
    assert await counts_by_organization("310151/", day, day) == []


async def test_the_audit_queue_rows_carry_their_anomalies(world: World) -> None:
    ev = await event(world)
    v, w = await volunteers(world, 2)
    first = await record(ev, v, at(9), at(11))
    second = await record(ev, v, at(10), at(12))
    plain = await record(ev, w, at(9), at(11), status="confirmed")
    reply = await world.client.get("/records/audit-queue", headers=await world.auditor())
    assert reply.status_code == 200, reply.text
    rows = {r["id"]: (r["flags"], r["anomalies"]) for r in reply.json()}
    assert rows == {
        str(first): ([], ["overlapping_sessions"]),
        str(second): ([], ["overlapping_sessions"]),
        str(plain): ([], []),
    }


async def test_the_audit_queue_shows_versions_late_reasons_and_evidence(world: World) -> None:
    ev = await event(world)
    (v,) = await volunteers(world, 1)
    recorder = await world.account(name="补录员")
    manual = await record(ev, v, at(9), at(10), source="manual", recorder=recorder)
    await ServiceRecord.update(
        {
            ServiceRecord.evidence: ["uploads/签到表.jpg", "uploads/照片.png"],
            ServiceRecord.late_reason: "活动结束后系统故障，延迟录入",
            ServiceRecord.version: 2,
        }
    ).where(ServiceRecord.id == manual)
    scanned = await record(ev, v, at(14), at(15))
    reply = await world.client.get("/records/audit-queue", headers=await world.auditor())
    assert reply.status_code == 200, reply.text
    rows = {r["id"]: (r["verified"], r["version"], r["late_reason"], r["evidence"]) for r in reply.json()}
    assert rows == {
        str(manual): (False, 2, "活动结束后系统故障，延迟录入", ["uploads/签到表.jpg", "uploads/照片.png"]),
        str(scanned): (True, 1, None, []),
    }


async def test_counts_per_organization_stay_within_the_auditors_region(world: World) -> None:
    here = await event(world)
    there = await event(world, org=await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY))
    v, w = await volunteers(world, 2)
    for ev, person in ((here, v), (there, w)):
        await record(ev, person, at(9), at(11))
        await record(ev, person, at(10), at(12))
    query = {"region_code": STREET, "date_from": "2026-11-21", "date_to": "2026-11-21"}

    street = await world.client.get("/records/anomalies", params=query, headers=await world.auditor(STREET))
    assert street.status_code == 200, street.text
    assert [(r["organization_id"], r["overlapping_sessions"], r["over_24h_day"]) for r in street.json()] == [
        (str(here.org_id), 2, 0)
    ]

    district = await world.client.get(
        "/records/anomalies", params={**query, "region_code": "310151"}, headers=await world.auditor()
    )
    assert sorted(r["organization_id"] for r in district.json()) == sorted(
        [str(here.org_id), str(there.org_id)]
    )

    refused = await world.client.get(
        "/records/anomalies", params=query, headers=await world.auditor(OTHER_STREET)
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "OUT_OF_SCOPE"
