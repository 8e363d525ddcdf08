"""Record exports of an auditor's jurisdiction: Chinese headers, China time, read page by page."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

import errors
from tests.builders import DISTRICT, OTHER_COMMUNITY, OTHER_STREET, STREET, World
from tests.scan_builders import Event, event
from tests.test_statistics import record, volunteer
from volunteer import exports
from volunteer.tables import ServiceRecord

PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
BOM = "\ufeff"


async def one_street(world: World) -> tuple[Event, uuid.UUID]:
    ev = await event(world)
    return ev, await volunteer(world, datetime(2026, 10, 5, tzinfo=UTC), name="王老志")


async def export(world: World, kind: str, headers: dict[str, str], **params: str) -> Any:
    return await world.client.get(f"/reports/records.{kind}", params={**PERIOD, **params}, headers=headers)


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM))))


async def test_the_csv_has_chinese_headers_full_names_and_china_time(world: World) -> None:
    ev, person = await one_street(world)
    late = record(ev, person, date(2026, 11, 3), 90, start_hour_utc=16)  # 00:00 on 4 Nov in China
    late.service_date = date(2026, 11, 4)
    await ServiceRecord.insert(
        record(ev, person, date(2026, 11, 3), 120),
        late,
        record(ev, person, date(2026, 10, 31), 60),
        record(ev, person, date(2026, 12, 1), 60),
        record(ev, person, date(2026, 11, 5), 30, status="pending", verified=False),
    )
    reply = await export(world, "csv", await world.auditor(STREET))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote('服务记录_辖区_20261101-20261130.csv')}" in disposition
    rows = csv_rows(reply.content)
    assert rows[0] == exports.HEADERS
    assert len(rows) == 1 + 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["姓名"] == "王老志"
    assert first["服务日期"] == "2026-11-03"
    assert (first["开始时间"], first["结束时间"]) == ("2026-11-03 09:00", "2026-11-03 11:00")
    assert (first["认定时长（小时）"], first["来源"], first["状态"], first["已核验"]) == (
        "2.0",
        "扫码",
        "已审核",
        "是",
    )
    assert first["记录人"] == "系统"
    assert first["项目"] == "鳌山社区敬老院陪伴"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["开始时间"], second["结束时间"]) == ("2026-11-04 00:00", "2026-11-04 01:30")
    third = dict(zip(rows[0], rows[3], strict=True))
    assert (third["来源"], third["状态"], third["已核验"]) == ("补录", "待确认", "否")


async def test_another_streets_auditor_exports_none_of_these_records(world: World) -> None:
    ev, person = await one_street(world)
    await ServiceRecord.insert(record(ev, person, date(2026, 11, 3), 120))
    reply = await export(world, "csv", await world.auditor(OTHER_STREET))
    assert reply.status_code == 200, reply.text
    assert csv_rows(reply.content) == [exports.HEADERS]


async def test_a_street_auditor_cannot_export_the_district(world: World) -> None:
    reply = await export(world, "csv", await world.auditor(STREET), region_code=DISTRICT)
    assert reply.status_code == 403
    assert reply.json()["code"] == "OUT_OF_SCOPE"


async def test_a_street_auditor_cannot_export_another_street_as_xlsx(world: World) -> None:
    reply = await export(world, "xlsx", await world.auditor(STREET), region_code=OTHER_COMMUNITY)
    assert reply.status_code == 403
    assert reply.json()["code"] == "OUT_OF_SCOPE"


async def test_a_period_ending_before_it_starts_is_refused(world: World) -> None:
    reply = await export(world, "csv", await world.auditor(), date_from="2026-11-30", date_to="2026-11-01")
    assert reply.status_code == 400
    assert reply.json()["code"] == "REQUEST_INVALID"


async def test_the_xlsx_is_one_sheet_with_headers_and_rows(world: World) -> None:
    ev, person = await one_street(world)
    await ServiceRecord.insert(
        record(ev, person, date(2026, 11, 3), 120), record(ev, person, date(2026, 11, 4), 45)
    )
    reply = await export(world, "xlsx", await world.auditor(), region_code=STREET)
    assert reply.status_code == 200, reply.text
    assert (
        f"filename*=UTF-8''{quote('服务记录_城桥镇_20261101-20261130.xlsx')}"
        in (reply.headers["content-disposition"])
    )
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        assert [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")] == [
            "xl/worksheets/sheet1.xml"
        ]
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
        )
    text = sheet + strings
    for expected in ("志愿者编号", "认定时长（小时）", "王老志", "2026-11-03 09:00", "2026-11-04 09:45"):
        assert expected in text
    assert sheet.count("<row ") == 3
    assert "<v>0.8</v>" in sheet  # 45 minutes, written as a number


async def test_more_rows_than_one_sheet_holds_is_refused_before_the_download(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev, person = await one_street(world)
    await ServiceRecord.insert(*(record(ev, person, date(2026, 11, day), 60) for day in (3, 4, 5)))
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    reply = await export(world, "xlsx", await world.auditor(), region_code=STREET)
    assert reply.status_code == 422, reply.text
    assert reply.json() == {
        "code": "EXPORT_TOO_MANY_ROWS",
        "message": errors.EXPORT_TOO_MANY_ROWS.message,
        "detail": {"max_rows": 2},
    }
    assert (await export(world, "csv", await world.auditor(), region_code=STREET)).status_code == 200
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    assert (await export(world, "xlsx", await world.auditor(), region_code=STREET)).status_code == 200


async def test_xlsx_cells_keep_markup_characters_and_edge_spaces(world: World) -> None:
    ev, person = await one_street(world)
    row = record(ev, person, date(2026, 11, 3), 60)
    row.place = "鳌山路 <1号> & 2号"
    row.content = " 陪伴老人\t"
    row.activity_name = "敬老\x01院"
    await ServiceRecord.insert(row)
    reply = await export(world, "xlsx", await world.auditor(), region_code=STREET)
    assert reply.status_code == 200, reply.text
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        assert book.testzip() is None
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    _, data = sheet.iter(f"{main}row")
    cells = {c.get("r"): "".join(c.itertext()) for c in data}
    assert (cells["E2"], cells["G2"], cells["H2"]) == ("敬老_x0001_院", "鳌山路 <1号> & 2号", " 陪伴老人\t")
    assert cells["K2"] == "1.0"


async def test_five_thousand_records_export_in_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ev, person = await one_street(world)
    rows = [record(ev, person, date(2026, 11, 1) + timedelta(days=i % 30), 60) for i in range(5000)]
    for start in range(0, len(rows), 1000):
        await ServiceRecord.insert(*rows[start : start + 1000])
    pages: list[int] = []
    fetch = exports.fetch_page

    async def counted(*args: Any) -> list[dict[str, Any]]:
        page = await fetch(*args)
        pages.append(len(page))
        return page

    monkeypatch.setattr(exports, "PAGE_SIZE", 100)
    monkeypatch.setattr(exports, "fetch_page", counted)
    auditor = await world.auditor()

    reply = await export(world, "csv", auditor)
    assert reply.status_code == 200, reply.text
    lines = csv_rows(reply.content)
    assert len(lines) == 1 + 5000
    dates = [line[5] for line in lines[1:]]
    assert dates == sorted(dates)
    assert pages == [100] * 50 + [0]

    pages.clear()
    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("records-")}
    reply = await export(world, "xlsx", auditor)
    assert reply.status_code == 200, reply.text
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        assert book.read("xl/worksheets/sheet1.xml").decode().count("<row ") == 1 + 5000
    assert pages == [100] * 50 + [0]
    after = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("records-")}
    assert after <= before  # this export's temp file is gone (others' may be there)
