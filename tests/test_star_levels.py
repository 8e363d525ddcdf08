"""Rule 24: star levels from audited hours only, published after 5 working days of 公示 (调休 included),
dropped at once when revoked hours take the total below them, with their history kept."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import errors
from jobs import star_levels as star_job
from tests.builders import OTHER_STREET, STREET, World
from tests.scan_builders import event, fresh
from volunteer import audited_hours, star_levels
from volunteer.db import write_transaction
from volunteer.hours import CHINA
from volunteer.record_rules import RecordRules
from volunteer.star_levels import Standing, follow, level_for
from volunteer.tables import AuditEntry, RecordStatus, ServiceRecord, StarLevel, StarLevelEvent

HOURS = (100, 300, 600, 1000, 1500)
SMALL = RecordRules(star_thresholds_h=(1, 2))  # 60 minutes for 1★, 120 for 2★


# --- arithmetic ---


@given(st.integers(0, 2000 * 60), st.integers(0, 2000 * 60))
def test_more_audited_minutes_never_mean_fewer_stars(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert level_for(low, HOURS) <= level_for(high, HOURS)


@given(st.integers(0, 2000 * 60))
def test_the_level_counts_the_thresholds_reached(minutes: int) -> None:
    assert level_for(minutes, HOURS) == sum(1 for h in HOURS if h <= minutes / 60)


def test_a_threshold_counts_from_its_exact_minute() -> None:
    assert level_for(100 * 60 - 1, HOURS) == 0  # 99 h 59 min
    assert level_for(100 * 60, HOURS) == 1
    assert level_for(1500 * 60 - 1, HOURS) == 4
    assert level_for(10_000 * 60, HOURS) == 5


@given(st.lists(st.integers(0, 5), min_size=1, max_size=12))
def test_any_sequence_of_totals_leaves_a_consistent_standing(reached_levels: list[int]) -> None:
    """After every change: the published level never exceeds what is reached, and whatever is reached
    above it is on 公示."""
    standing, ends = Standing(), date(2026, 12, 1)
    for reached in reached_levels:
        before = standing
        standing, steps = follow(standing, reached, ends)
        assert standing.level == min(before.level, reached)
        assert standing.pending_level == (reached if reached > standing.level else None)
        assert (standing.publicity_ends_on is None) == (standing.pending_level is None)
        assert all(s.from_level != s.to_level for s in steps)


# --- test data ---


async def audited_volunteer(
    world: World, minutes: list[int], *, on: date | None = None, **registration: Any
) -> tuple[dict[str, str], str, list[uuid.UUID]]:
    """A volunteer with confirmed records of these minutes, audited through POST /records/audit so the
    real hook runs: (volunteer headers, volunteer id, record ids)."""
    headers, profile = await world.volunteer(**registration)
    ids = await confirmed_records(world, profile["id"], minutes, on=on)
    await audit(world, ids)
    return headers, profile["id"], ids


async def confirmed_records(
    world: World, volunteer_id: str, minutes: list[int], *, on: date | None = None
) -> list[uuid.UUID]:
    ev = await event(world)
    day = on or world.clock().astimezone(CHINA).date()
    ids = []
    for n in minutes:
        started = datetime(day.year, day.month, day.day, 8, tzinfo=CHINA).astimezone(UTC)
        record = ServiceRecord(
            volunteer=volunteer_id,
            organization=ev.org_id,
            project=ev.project_id,
            activity_name="鳌山社区敬老院陪伴",
            service_date=day,
            place="城桥镇鳌山路1号",
            content="陪伴老人聊天、读报",
            started_at=started,
            ended_at=started + timedelta(minutes=n),
            credited_minutes=n,
            person_in_charge="李队长",
            source="scan",
            status=RecordStatus.confirmed,
            verified=True,
            created_at=world.clock(),
        )
        await record.save()
        ids.append(record.id)
    return ids


async def audit(world: World, ids: list[uuid.UUID]) -> None:
    reply = await world.client.post(
        "/records/audit",
        json={"record_ids": [str(i) for i in ids], "approve": True},
        headers=await world.auditor(),
    )
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["done"]) == len(ids), reply.text


async def my_level(world: World, headers: dict[str, str]) -> dict[str, Any]:
    reply = await world.client.get("/volunteers/me/star-level", headers=fresh(world, headers))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def run_publication_job(world: World) -> int:
    """What the hourly cron runs, with the settings and clock the worker would get."""
    return await star_job._publish_star_levels({"settings": world.settings, "clock": world.clock})


def china(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=CHINA).astimezone(UTC)


async def revoke(record_id: uuid.UUID, volunteer_id: str, now: datetime) -> None:
    """What the revoke endpoint does to star levels: the record stops being audited, then the hook."""
    async with write_transaction():
        await ServiceRecord.update({ServiceRecord.status: RecordStatus.revoked}).where(
            ServiceRecord.id == record_id
        )
        await audited_hours.withdrawn(
            [(record_id, uuid.UUID(volunteer_id))], "重复记录", None, RecordRules(), now
        )


async def events_of(volunteer_id: str) -> list[tuple[str, int, int]]:
    rows = await StarLevelEvent.select().where(StarLevelEvent.volunteer == volunteer_id)
    return sorted((r["kind"], r["from_level"], r["to_level"]) for r in rows)


# --- through the API ---


async def test_a_level_reached_is_on_publicity_for_five_working_days_then_published(world: World) -> None:
    # The clock starts on Saturday 2026-11-21 (China): 5 working days later is Friday 2026-11-27.
    headers, volunteer_id, _ = await audited_volunteer(world, [60 * 60, 40 * 60])
    body = await my_level(world, headers)
    assert body["mode"] == "cumulative"
    assert body["periods"] == [
        {
            "period": "all",
            "level": 0,
            "audited_minutes": 6000,
            "audited_hours": "100.0",
            "pending_level": 1,
            "publicity_ends_on": "2026-11-27",
            "next_level_hours": 300,
            "minutes_to_next": 200 * 60,
            "hours_to_next": "200.0",
        }
    ]
    assert [(e["kind"], e["from_level"], e["to_level"]) for e in body["history"]] == [("proposed", 0, 1)]

    world.clock.now = china(2026, 11, 27, 23, 59)  # the 公示's last day: not yet
    assert await run_publication_job(world) == 0
    assert (await my_level(world, headers))["periods"][0]["level"] == 0

    world.clock.now = china(2026, 11, 28)  # the next China day
    assert await run_publication_job(world) == 1
    body = await my_level(world, headers)
    assert (
        body["periods"][0] | {"level": 1, "pending_level": None, "publicity_ends_on": None}
        == body["periods"][0]
    )
    assert [e["kind"] for e in body["history"]] == ["published", "proposed"]
    assert await run_publication_job(world) == 0  # published once
    actions = await AuditEntry.select(AuditEntry.action).where(AuditEntry.subject_type == "star_level")
    assert sorted(a["action"] for a in actions) == ["star.propose", "star.publish"]
    assert await events_of(volunteer_id) == [("proposed", 0, 1), ("published", 0, 1)]


async def test_pending_and_confirmed_minutes_do_not_count(world: World) -> None:
    headers, profile = await world.volunteer()
    await confirmed_records(world, profile["id"], [200 * 60])  # confirmed, never audited
    audited = await confirmed_records(world, profile["id"], [99 * 60 + 59])
    await audit(world, audited)
    period = (await my_level(world, headers))["periods"][0]
    assert (period["level"], period["pending_level"], period["audited_minutes"]) == (0, None, 5999)
    assert period["minutes_to_next"] == 1


async def test_revoked_hours_below_the_published_level_demote_at_once(world: World) -> None:
    headers, volunteer_id, ids = await audited_volunteer(world, [60 * 60, 40 * 60])
    world.clock.now = china(2026, 11, 28)
    assert await run_publication_job(world) == 1

    world.clock.now += timedelta(hours=9)
    await revoke(ids[1], volunteer_id, world.clock())
    body = await my_level(world, headers)
    period = body["periods"][0]
    assert (period["level"], period["pending_level"], period["audited_minutes"]) == (0, None, 3600)
    assert [(e["kind"], e["from_level"], e["to_level"]) for e in body["history"]] == [
        ("demoted", 1, 0),
        ("published", 0, 1),
        ("proposed", 0, 1),
    ]
    demoted = await AuditEntry.select().where(AuditEntry.action == "star.demote")
    assert len(demoted) == 1 and demoted[0]["actor"] is None


async def test_an_auditor_revoking_a_record_through_the_api_demotes_the_volunteer(world: World) -> None:
    headers, _, ids = await audited_volunteer(world, [100 * 60, 200 * 60])  # 300 h: 2★ on 公示
    world.clock.now = china(2026, 11, 28)
    assert await run_publication_job(world) == 1
    world.clock.now += timedelta(hours=9)
    reply = await world.client.post(
        f"/records/{ids[1]}/revoke", json={"reason": "活动不实"}, headers=await world.auditor()
    )
    assert reply.status_code == 200, reply.text
    body = await my_level(world, headers)
    assert (body["periods"][0]["level"], body["periods"][0]["audited_minutes"]) == (1, 6000)
    assert [(e["kind"], e["from_level"], e["to_level"]) for e in body["history"]] == [
        ("demoted", 2, 1),
        ("published", 0, 2),
        ("proposed", 0, 2),
    ]


async def test_hours_revoked_during_publicity_withdraw_it(world: World) -> None:
    headers, volunteer_id, ids = await audited_volunteer(world, [60 * 60, 40 * 60])
    world.clock.now += timedelta(hours=1)
    await revoke(ids[0], volunteer_id, world.clock())
    world.clock.now = china(2026, 11, 28)
    assert await run_publication_job(world) == 0
    body = await my_level(world, headers)
    assert (body["periods"][0]["level"], body["periods"][0]["pending_level"]) == (0, None)
    assert [(e["kind"], e["from_level"], e["to_level"]) for e in body["history"]] == [
        ("withdrawn", 1, 0),
        ("proposed", 0, 1),
    ]


async def test_publicity_over_national_day_counts_the_make_up_saturday(world: World) -> None:
    # 2026: Oct 1-7 off, Saturday Oct 10 worked (调休): Oct 8, 9, 10, 12, 13.
    world.clock.now = china(2026, 9, 30, 10)
    headers, _, _ = await audited_volunteer(world, [100 * 60], on=date(2026, 9, 29))
    assert (await my_level(world, headers))["periods"][0]["publicity_ends_on"] == "2026-10-13"
    world.clock.now = china(2026, 10, 13, 23)
    assert await run_publication_job(world) == 0
    world.clock.now = china(2026, 10, 14, 0, 10)
    assert await run_publication_job(world) == 1


async def test_the_public_list_shows_masked_names_during_publicity_only(world: World) -> None:
    _, profile = await world.volunteer(name="张小明")
    await audit(world, await confirmed_records(world, profile["id"], [300 * 60]))
    reply = await world.client.get("/star-levels/publicity", params={"region_code": STREET})
    assert reply.status_code == 200, reply.text
    assert reply.json() == [
        {
            "name": "张*明",
            "volunteer_no": profile["volunteer_no"],
            "period": "all",
            "level": 2,
            "published_level": 0,
            "publicity_ends_on": "2026-11-27",
        }
    ]
    elsewhere = await world.client.get("/star-levels/publicity", params={"region_code": OTHER_STREET})
    assert elsewhere.json() == []
    world.clock.now = china(2026, 11, 28)
    await run_publication_job(world)
    after = await world.client.get("/star-levels/publicity", params={"region_code": STREET})
    assert after.json() == []


async def test_the_public_list_refuses_an_unknown_region(world: World) -> None:
    reply = await world.client.get("/star-levels/publicity", params={"region_code": "999999"})
    assert reply.status_code == 404
    assert (reply.json()["code"], reply.json()["message"]) == ("REGION_NOT_FOUND", "行政区划不存在")


async def test_auditors_see_a_volunteers_level_and_other_organizations_do_not(world: World) -> None:
    _, volunteer_id, _ = await audited_volunteer(world, [100 * 60])
    url = f"/volunteers/{volunteer_id}/star-level"
    seen = await world.client.get(url, headers=await world.auditor(STREET))
    assert seen.status_code == 200, seen.text
    assert seen.json()["periods"][0]["pending_level"] == 1
    _, other_admin = await world.organization(name="堡镇志愿服务队", region="310151102001")
    refused = await world.client.get(url, headers=other_admin)
    assert refused.status_code == 404
    assert (refused.json()["code"], refused.json()["message"]) == ("VOLUNTEER_NOT_FOUND", "志愿者不存在")
    elsewhere = await world.client.get(url, headers=await world.auditor(OTHER_STREET))
    assert elsewhere.json()["code"] == "VOLUNTEER_NOT_FOUND"


async def test_someone_not_registered_has_no_star_level(world: World) -> None:
    headers = world.headers(await world.account(name="路人"))
    reply = await world.client.get("/volunteers/me/star-level", headers=headers)
    assert reply.status_code == 404
    assert reply.json()["code"] == "VOLUNTEER_NOT_REGISTERED"
    assert reply.json()["message"] == errors.VOLUNTEER_NOT_REGISTERED.message


# --- the service, with small thresholds ---


async def audited_rows(world: World, volunteer_id: str, minutes: list[int], on: date) -> list[uuid.UUID]:
    """Audited records written directly, for calls to the service below the API."""
    ids = await confirmed_records(world, volunteer_id, minutes, on=on)
    await ServiceRecord.update({ServiceRecord.status: RecordStatus.audited}).where(
        ServiceRecord.id.is_in(ids)
    )
    return ids


async def recompute(volunteer_id: str, rules: RecordRules, now: datetime) -> None:
    async with write_transaction():
        await star_levels.recompute({uuid.UUID(volunteer_id)}, rules, now)


async def levels(volunteer_id: str) -> dict[str, tuple[int, int | None]]:
    rows = await StarLevel.select().where(StarLevel.volunteer == volunteer_id)
    return {r["period"]: (r["level"], r["pending_level"]) for r in rows}


async def test_yearly_mode_counts_each_calendar_year_apart(world: World) -> None:
    yearly = RecordRules(star_thresholds_h=(1, 2), star_mode="yearly")
    _, profile = await world.volunteer()
    await audited_rows(world, profile["id"], [90], on=date(2025, 12, 31))
    await audited_rows(world, profile["id"], [50], on=date(2026, 1, 1))
    await recompute(profile["id"], yearly, world.clock())
    assert await levels(profile["id"]) == {"2025": (0, 1), "2026": (0, None)}
    await audited_rows(world, profile["id"], [70], on=date(2026, 6, 1))
    await recompute(profile["id"], yearly, world.clock())
    assert await levels(profile["id"]) == {"2025": (0, 1), "2026": (0, 2)}
    world.clock.now = china(2026, 11, 28)
    assert await star_levels.publish_due(yearly, world.clock()) == 2
    assert await levels(profile["id"]) == {"2025": (1, None), "2026": (2, None)}


async def test_a_higher_level_during_publicity_restarts_it(world: World) -> None:
    _, profile = await world.volunteer()
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 20))
    await recompute(profile["id"], SMALL, world.clock())  # Saturday 11-21: ends Friday 11-27
    world.clock.now = china(2026, 11, 24, 9)
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 23))
    await recompute(profile["id"], SMALL, world.clock())  # Tuesday 11-24: ends Tuesday 12-01
    row = await StarLevel.select().where(StarLevel.volunteer == profile["id"]).first()
    assert row is not None
    assert (row["level"], row["pending_level"], row["publicity_ends_on"]) == (0, 2, date(2026, 12, 1))
    world.clock.now = china(2026, 11, 28)
    assert await star_levels.publish_due(SMALL, world.clock()) == 0
    world.clock.now = china(2026, 12, 2)
    assert await star_levels.publish_due(SMALL, world.clock()) == 1
    assert await levels(profile["id"]) == {"all": (2, None)}
    assert await events_of(profile["id"]) == [
        ("proposed", 0, 1),
        ("proposed", 0, 2),
        ("published", 0, 2),
    ]


async def test_a_fall_during_publicity_lowers_it_and_keeps_its_end(world: World) -> None:
    _, profile = await world.volunteer()
    _, second = await audited_rows(world, profile["id"], [60, 60], on=date(2026, 11, 20))
    await recompute(profile["id"], SMALL, world.clock())
    await ServiceRecord.update({ServiceRecord.status: RecordStatus.revoked}).where(ServiceRecord.id == second)
    world.clock.now = china(2026, 11, 25)
    await recompute(profile["id"], SMALL, world.clock())
    row = await StarLevel.select().where(StarLevel.volunteer == profile["id"]).first()
    assert row is not None
    assert (row["level"], row["pending_level"], row["publicity_ends_on"]) == (0, 1, date(2026, 11, 27))
    assert await events_of(profile["id"]) == [("proposed", 0, 2), ("withdrawn", 2, 1)]


async def test_recomputing_without_a_change_writes_nothing(world: World) -> None:
    _, profile = await world.volunteer()
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 20))
    await recompute(profile["id"], SMALL, world.clock())
    await recompute(profile["id"], SMALL, world.clock())
    assert await events_of(profile["id"]) == [("proposed", 0, 1)]
    assert await AuditEntry.count().where(AuditEntry.action == "star.propose") == 1


async def test_two_workers_publishing_at_once_publish_once(world: World) -> None:
    _, profile = await world.volunteer()
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 20))
    await recompute(profile["id"], SMALL, world.clock())
    now = china(2026, 11, 28)
    counts = await asyncio.gather(star_levels.publish_due(SMALL, now), star_levels.publish_due(SMALL, now))
    assert sorted(counts) == [0, 1]
    assert await events_of(profile["id"]) == [("proposed", 0, 1), ("published", 0, 1)]
    assert await AuditEntry.count().where(AuditEntry.action == "star.publish") == 1


async def test_one_recompute_serves_many_volunteers(world: World) -> None:
    people = [(await world.volunteer())[1]["id"] for _ in range(3)]
    for n, volunteer_id in enumerate(people):
        await audited_rows(world, volunteer_id, [60 * n], on=date(2026, 11, 20))
    async with write_transaction():
        await star_levels.recompute({uuid.UUID(v) for v in people}, SMALL, world.clock())
    assert [await levels(v) for v in people] == [{}, {"all": (0, 1)}, {"all": (0, 2)}]


async def test_a_publicity_already_passed_is_published_before_a_higher_level_is_proposed(
    world: World,
) -> None:
    _, profile = await world.volunteer()
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 20))
    await recompute(profile["id"], SMALL, world.clock())  # 1★ on 公示 until Friday 11-27
    world.clock.now = china(2026, 11, 28, 0, 5)  # before the job's run
    await audited_rows(world, profile["id"], [60], on=date(2026, 11, 27))
    await recompute(profile["id"], SMALL, world.clock())
    row = await StarLevel.select().where(StarLevel.volunteer == profile["id"]).first()
    assert row is not None
    assert (row["level"], row["pending_level"], row["publicity_ends_on"]) == (1, 2, date(2026, 12, 4))
    assert await events_of(profile["id"]) == [("proposed", 0, 1), ("proposed", 1, 2), ("published", 0, 1)]
    assert await star_levels.publish_due(SMALL, world.clock()) == 0
