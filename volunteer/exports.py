"""Rule 16 records of an auditor's jurisdiction as CSV or XLSX, read page by page so memory stays flat.

Auditors see names in full (rule 3 masks them on public pages only). Pages are keyset-paginated on
(service_date, id) and each is its own query: a long download holds no connection or transaction.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import xlsxwriter

from errors import OUT_OF_SCOPE, REQUEST_INVALID, DomainError
from volunteer.access import Principal, require_auditor_of
from volunteer.hours import format_hours
from volunteer.regions import region_by_code
from volunteer.tables import Role, ServiceRecord

CHINA = timezone(timedelta(hours=8))
PAGE_SIZE = 2000
MAX_DAYS = 366
CHUNK_BYTES = 64 * 1024

HEADERS = [
    "志愿者编号",
    "姓名",
    "服务组织",
    "项目",
    "活动名称",
    "服务日期",
    "地点",
    "服务内容",
    "开始时间",
    "结束时间",
    "认定时长（小时）",
    "负责人",
    "记录人",
    "来源",
    "状态",
    "已核验",
    "标记",
]
HOURS_COLUMN = HEADERS.index("认定时长（小时）")
SOURCES = {"scan": "扫码", "offline_scan": "离线扫码", "manual": "补录", "correction": "更正"}
STATUSES = {"pending": "待确认", "confirmed": "已确认", "audited": "已审核", "rejected": "已驳回"}


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Region path prefixes the export covers, and the period by service date (both ends included)."""

    paths: tuple[str, ...]
    date_from: date
    date_to: date
    label: str  # for the file name: the region's name, or 辖区


async def export_scope(
    actor: Principal, region_code: str | None, date_from: date, date_to: date
) -> ExportScope:
    """Checked before the response starts: a refusal must still be a 403, not a broken download."""
    if date_to < date_from or (date_to - date_from).days >= MAX_DAYS:
        raise DomainError(REQUEST_INVALID, {"date_to": f"须不早于 date_from，且期间不超过 {MAX_DAYS} 天"})
    if region_code is not None:
        region = await region_by_code(region_code)
        require_auditor_of(actor, region.path)
        return ExportScope((region.path,), date_from, date_to, region.name)
    paths = tuple(actor.regions(Role.auditor))
    if not paths:
        raise DomainError(OUT_OF_SCOPE)
    return ExportScope(paths, date_from, date_to, "辖区")


def file_name(scope: ExportScope, extension: str) -> str:
    return f"服务记录_{scope.label}_{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.{extension}"


def content_disposition(name: str) -> str:
    """RFC 6266/5987: an ASCII fallback for old clients, the UTF-8 name for everyone else."""
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def fetch_page(scope: ExportScope, after: tuple[Any, Any] | None, size: int) -> list[dict[str, Any]]:
    clauses = [
        "(" + " OR ".join(["g.path LIKE {}"] * len(scope.paths)) + ")",
        "r.service_date >= {}",
        "r.service_date <= {}",
    ]
    args: list[Any] = [f"{p}%" for p in scope.paths] + [scope.date_from, scope.date_to]
    if after is not None:
        # A row comparison, so the (service_date, id) index serves the keyset (an OR of two ranges
        # made PostgreSQL sort the rest of the year on every page: 5.5 s against 13 ms, bench audit).
        clauses.append("(r.service_date, r.id) > ({}, {})")
        args += [after[0], after[1]]
    rows: list[dict[str, Any]] = await ServiceRecord.raw(
        "SELECT r.id, r.service_date, v.volunteer_no, v.name AS volunteer_name, o.name AS organization_name, "
        "p.title AS project_title, r.activity_name, r.place, r.content, r.started_at, r.ended_at, "
        "r.credited_minutes, r.person_in_charge, a.display_name AS recorder_name, r.recorder, r.source, "
        "r.status, r.verified, r.flags FROM service_record r "
        "JOIN volunteer v ON v.id = r.volunteer JOIN organization o ON o.id = r.organization "
        "JOIN project p ON p.id = r.project JOIN region g ON g.id = o.region "
        "LEFT JOIN account a ON a.id = r.recorder WHERE " + " AND ".join(clauses) + " "
        "ORDER BY r.service_date, r.id LIMIT {}",
        *args,
        size,
    )
    return rows


async def record_rows(scope: ExportScope) -> AsyncIterator[list[list[str]]]:
    """Pages of rows in the HEADERS order; PAGE_SIZE is read per page so tests can shrink it."""
    after: tuple[Any, Any] | None = None
    while True:
        size = PAGE_SIZE
        page = await fetch_page(scope, after, size)
        if page:
            yield [_cells(row) for row in page]
        if len(page) < size:
            return
        after = (page[-1]["service_date"], page[-1]["id"])


def _cells(row: dict[str, Any]) -> list[str]:
    flags = json.loads(row["flags"]) if isinstance(row["flags"], str) else list(row["flags"] or [])
    recorder = (row["recorder_name"] or "") if row["recorder"] is not None else "系统"
    return [
        row["volunteer_no"],
        row["volunteer_name"],
        row["organization_name"],
        row["project_title"],
        row["activity_name"],
        _date(row["service_date"]).isoformat(),
        row["place"],
        row["content"],
        _china(row["started_at"]),
        _china(row["ended_at"]),
        format_hours(int(row["credited_minutes"])),
        row["person_in_charge"],
        recorder,
        SOURCES.get(row["source"], row["source"]),
        STATUSES.get(row["status"], row["status"]),
        "是" if row["verified"] else "否",
        "；".join(str(f) for f in flags),
    ]


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _china(value: datetime | str) -> str:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


async def csv_chunks(scope: ExportScope) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, which Excel needs to read Chinese from a CSV; one chunk per page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    async for rows in record_rows(scope):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue().encode()


async def xlsx_file(scope: ExportScope) -> io.BufferedReader:
    """The workbook in an already-unlinked temp file: its space is freed when the reader is closed,
    even if the client goes away mid-download."""
    fd, path = tempfile.mkstemp(prefix="records-", suffix=".xlsx")
    os.close(fd)
    try:
        # constant_memory writes each row to disk as it comes; rows must then be written in order.
        book = xlsxwriter.Workbook(path, {"constant_memory": True})
        sheet = book.add_worksheet("服务记录")
        sheet.write_row(0, 0, HEADERS, book.add_format({"bold": True}))
        line = 1
        async for rows in record_rows(scope):
            for cells in rows:
                sheet.write_row(line, 0, cells)
                sheet.write_number(line, HOURS_COLUMN, float(cells[HOURS_COLUMN]))
                line += 1
        await asyncio.to_thread(book.close)  # zips the sheet: CPU and disk, off the event loop
        # Handed to the streaming response, which closes it.
        reader: io.BufferedReader = await asyncio.to_thread(open, path, "rb")
    finally:
        os.unlink(path)
    return reader


async def file_chunks(reader: io.BufferedReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(reader.read, CHUNK_BYTES):
            yield chunk
    finally:
        reader.close()
