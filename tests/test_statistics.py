"""Monthly statistics of a region in China time: only audited minutes count, scan and manual apart."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.builders import COMMUNITY, DISTRICT, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import Event, event
from volunteer.regions import region_by_code
from volunteer.tables import Project, ServiceRecord, ServiceSession, Volunteer

NOV = "2026-11"


def record(
    ev: Event,
    volunteer_id: uuid.UUID,
    day: date,
    minutes: int,
    *,
    status: str = "audited",
    verified: bool = True,
    start_hour_utc: int = 1,
) -> ServiceRecord:
    """A record written straight to the table, starting at start_hour_utc on `day` (UTC)."""
    started = datetime(day.year, day.month, day.day, start_hour_utc, tzinfo=UTC)
    return ServiceRecord(
        volunteer=volunteer_id,
        organization=ev.org_id,
        project=ev.project_id,
        session=ev.session_id,
        activity_name="敬老院陪伴",
        service_date=day,
        place="城桥镇鳌山路1号",
        content="陪伴老人聊天、读报",
        started_at=started,
        ended_at=started + timedelta(minutes=minutes),
        credited_minutes=minutes,
        person_in_charge="李队长",
        recorder=None,
        source="scan" if verified else "manual",
        status=status,
        verified=verified,
        flags=[],
        created_at=started,
    )


async def volunteer(world: World, created_at: datetime, **registration: Any) -> uuid.UUID:
    _, profile = await world.volunteer(**registration)
    volunteer_id = uuid.UUID(profile["id"])
    await Volunteer.update({Volunteer.created_at: created_at}).where(Volunteer.id == volunteer_id)
    return volunteer_id


async def add_session(ev: Event, starts_at: datetime) -> None:
    await ServiceSession(
        project=ev.project_id,
        code_seq=uuid.uuid4().int % 2**39 + 1,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=10,
        created_at=starts_at,
    ).save()


async def two_streets(world: World) -> None:
    """城桥镇 (STREET) and 堡镇 (OTHER_STREET), with records in October, November and December."""
    here = await event(world)  # its session starts on 2026-11-21
    there = await event(world, org=await world.organization(name="堡镇志愿服务队", region=OTHER_COMMUNITY))
    other = await region_by_code(OTHER_COMMUNITY)
    await Project.update({Project.region: other.id}).where(Project.id == there.project_id)
    await add_session(here, datetime(2026, 11, 25, 1, tzinfo=UTC))
    await add_session(here, datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # 1 December in China
    old = await volunteer(world, datetime(2026, 10, 5, tzinfo=UTC), name="王老志")
    new = await volunteer(world, datetime(2026, 10, 31, 16, 30, tzinfo=UTC), name="李新")  # 1 Nov in China
    await volunteer(world, datetime(2026, 11, 30, 16, 30, tzinfo=UTC), name="赵迟")  # 1 Dec in China
    far = await volunteer(world, datetime(2026, 11, 10, tzinfo=UTC), name="钱远", region_code=OTHER_COMMUNITY)
    await ServiceRecord.insert(
        record(here, old, date(2026, 11, 3), 120),
        record(here, old, date(2026, 11, 5), 60, verified=False),
        record(here, new, date(2026, 11, 10), 90, status="pending"),
        record(here, old, date(2026, 11, 20), 45, status="rejected"),
        record(here, old, date(2026, 10, 31), 300),
        record(here, new, date(2026, 12, 1), 300),
        record(there, far, date(2026, 11, 15), 30),
        record(there, old, date(2026, 11, 16), 50, status="confirmed", verified=False),
    )


async def statistics(world: World, region: str, headers: dict[str, str], month: str = NOV) -> Any:
    return await world.client.get(
        "/reports/statistics", params={"region_code": region, "month": month}, headers=headers
    )


async def test_district_figures_count_registrations_activity_and_audited_minutes(world: World) -> None:
    await two_streets(world)
    reply = await statistics(world, DISTRICT, await world.auditor(DISTRICT))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["month"] == NOV
    total = body["total"]
    assert total == {
        "region_code": DISTRICT,
        "region_name": total["region_name"],
        "registered_volunteers": 3,
        "new_volunteers": 2,
        "active_volunteers": 3,  # 王老志 served in both streets and counts once
        "audited_minutes": 210,
        "audited_hours": "3.5",
        "verified_minutes": 150,
        "manual_minutes": 60,
        "verified_share": 0.7143,
        "projects": 2,
        "sessions": 3,
        "average_audited_hours": "1.2",
    }
    streets = {row["region_code"]: row for row in body["by_region"]}
    assert set(streets) == {STREET, OTHER_STREET}
    assert (streets[STREET]["active_volunteers"], streets[OTHER_STREET]["active_volunteers"]) == (2, 2)
    assert streets[STREET]["audited_minutes"] == 180
    assert streets[STREET]["average_audited_hours"] == "1.5"
    assert (streets[STREET]["registered_volunteers"], streets[STREET]["new_volunteers"]) == (2, 1)
    assert (streets[STREET]["projects"], streets[STREET]["sessions"]) == (1, 2)
    assert streets[OTHER_STREET]["verified_share"] == 1.0


async def test_a_street_auditor_sees_their_street_with_its_communities(world: World) -> None:
    await two_streets(world)
    reply = await statistics(world, STREET, await world.auditor(STREET))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"]["audited_minutes"] == 180
    assert [row["region_code"] for row in body["by_region"]] == [COMMUNITY]


async def test_a_month_without_service_reports_zeros(world: World) -> None:
    await two_streets(world)
    body = (await statistics(world, DISTRICT, await world.auditor(), month="2027-02")).json()
    assert body["total"]["audited_minutes"] == 0
    assert body["total"]["verified_share"] is None
    assert body["total"]["registered_volunteers"] == 4


async def test_a_street_auditor_cannot_see_the_district(world: World) -> None:
    reply = await statistics(world, DISTRICT, await world.auditor(STREET))
    assert reply.status_code == 403
    assert reply.json()["code"] == "OUT_OF_SCOPE"


async def test_a_street_auditor_cannot_see_another_street(world: World) -> None:
    reply = await statistics(world, OTHER_STREET, await world.auditor(STREET))
    assert reply.status_code == 403
    assert reply.json()["code"] == "OUT_OF_SCOPE"


async def test_an_organization_admin_gets_no_statistics(world: World) -> None:
    _, admin = await world.organization()
    reply = await statistics(world, COMMUNITY, admin)
    assert reply.status_code == 403
    assert reply.json()["code"] == "FORBIDDEN"


async def test_a_malformed_month_is_refused(world: World) -> None:
    reply = await statistics(world, DISTRICT, await world.auditor(), month="2026-13")
    assert reply.status_code == 400
    assert reply.json()["code"] == "REQUEST_INVALID"


async def test_the_monthly_report_is_a_one_sheet_workbook_with_chinese_headers(world: World) -> None:
    await two_streets(world)
    reply = await world.client.get(
        "/reports/statistics.xlsx",
        params={"region_code": DISTRICT, "month": NOV},
        headers=await world.auditor(),
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in reply.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets == ["xl/worksheets/sheet1.xml"]
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    for header in ("注册志愿者（月末累计）", "活跃志愿者", "审核通过时长（小时）", "扫码时长占比", "合计（"):
        assert header in strings
    assert "<v>3.5</v>" in sheet  # the district's audited hours
