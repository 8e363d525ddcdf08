"""An auditor publishes a month's statistics: frozen as published, versioned, readable by anyone, and the
audit log holds the SHA-256 of what was published."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import errors
from tests.builders import DISTRICT, OTHER_STREET, STREET, World
from tests.scan_builders import event, fresh
from tests.test_statistics import record, volunteer
from volunteer.tables import AuditEntry, ServiceRecord

OCT = "2026-10"


async def october(world: World) -> None:
    """One volunteer with 2 h audited in October 2026 in 城桥镇."""
    ev = await event(world)
    person = await volunteer(world, datetime(2026, 9, 1, tzinfo=UTC), name="王老志")
    await ServiceRecord.insert(record(ev, person, date(2026, 10, 12), 120))


async def publish(world: World, headers: dict[str, str], region_code: str, month: str = OCT) -> Any:
    return await world.client.post(
        "/reports/statistics/publish", json={"region_code": region_code, "month": month}, headers=headers
    )


def refused(reply: Any, error: errors.ErrorCode) -> None:
    assert reply.status_code == error.status, reply.text
    assert (reply.json()["code"], reply.json()["message"]) == (error.code, error.message)


async def test_a_published_month_is_public_frozen_and_versioned(world: World) -> None:
    await october(world)
    auditor = await world.auditor()
    reply = await publish(world, auditor, DISTRICT)
    assert reply.status_code == 201, reply.text
    first = reply.json()
    assert (first["version"], first["report"]["total"]["audited_minutes"]) == (1, 120)

    public = await world.client.get(
        "/public/reports/statistics", params={"region_code": DISTRICT, "month": OCT}
    )
    assert public.status_code == 200, public.text
    assert public.json()["report"] == first["report"]

    # A record audited later does not change what was published; publishing again makes version 2.
    late = await event(world)
    person = await volunteer(world, datetime(2026, 9, 1, tzinfo=UTC), name="李新")
    await ServiceRecord.insert(record(late, person, date(2026, 10, 20), 60))
    public = await world.client.get(
        "/public/reports/statistics", params={"region_code": DISTRICT, "month": OCT}
    )
    assert public.json()["report"]["total"]["audited_minutes"] == 120
    second = (await publish(world, fresh(world, auditor), DISTRICT)).json()
    assert (second["version"], second["report"]["total"]["audited_minutes"]) == (2, 180)
    public = await world.client.get(
        "/public/reports/statistics", params={"region_code": DISTRICT, "month": OCT}
    )
    assert (public.json()["version"], public.json()["report"]["total"]["audited_minutes"]) == (2, 180)

    # The log proves what was published.
    entries = await AuditEntry.select().where(AuditEntry.action == "report.publish").order_by(AuditEntry.seq)
    details = [json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"] for e in entries]
    assert [(d["month"], d["version"]) for d in details] == [(OCT, 1), (OCT, 2)]
    canonical = json.dumps(second["report"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert details[1]["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()


async def test_the_published_report_as_a_spreadsheet(world: World) -> None:
    await october(world)
    assert (await publish(world, await world.auditor(), STREET)).status_code == 201
    reply = await world.client.get(
        "/public/reports/statistics.xlsx", params={"region_code": STREET, "month": OCT}
    )
    assert reply.status_code == 200, reply.text
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        text = "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    assert "城桥镇 2026-10 志愿服务统计月报" in text


async def test_a_month_not_over_or_out_of_jurisdiction_is_refused(world: World) -> None:
    await october(world)
    refused(await publish(world, await world.auditor(), DISTRICT, "2026-11"), errors.REPORT_MONTH_NOT_OVER)
    refused(await publish(world, await world.auditor(OTHER_STREET), STREET), errors.OUT_OF_SCOPE)
    admin = world.headers(await world.account(name="组织管理员"))
    assert (await publish(world, admin, STREET)).status_code == 403


async def test_an_unpublished_month_answers_not_published(world: World) -> None:
    await october(world)
    reply = await world.client.get("/public/reports/statistics", params={"region_code": STREET, "month": OCT})
    refused(reply, errors.REPORT_NOT_PUBLISHED)
