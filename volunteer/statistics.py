"""Monthly figures for an auditor's region (rule 20: only audited minutes count), and the sheet they publish.

Each figure is one set-based query grouped by the direct child region; the total adds them up, except
active volunteers, counted once more over the whole region (a volunteer active in two streets counts once
in the district).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import xlsxwriter

from volunteer.access import Principal, require_auditor_of
from volunteer.db import planned_for_each_call
from volunteer.hours import CHINA, format_hours
from volunteer.regions import RegionRef, region_by_code
from volunteer.tables import LIVE_SQL, Region


class Figures(msgspec.Struct):
    region_code: str
    region_name: str
    registered_volunteers: int  # registered by the month's end (China time)
    new_volunteers: int  # registered during the month
    active_volunteers: int  # distinct volunteers with a non-rejected record dated in the month
    audited_minutes: int
    audited_hours: str
    verified_minutes: int  # 信用时长: audited minutes from scans
    manual_minutes: int  # 荣誉时长: audited minutes entered by hand
    verified_share: float | None  # verified / audited minutes, None when nothing was audited
    projects: int  # distinct projects with a session starting in the month
    sessions: int  # sessions starting in the month
    average_audited_hours: str  # audited hours per active volunteer


class StatisticsOut(msgspec.Struct):
    month: str
    total: Figures
    by_region: list[Figures]  # one row per direct child region; the region's own units under its code


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    next_first: date

    @classmethod
    def parse(cls, text: str) -> Month:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
        return cls(first, date(year + month // 12, month % 12 + 1, 1))

    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), CHINA).astimezone(UTC)

    def end(self) -> datetime:
        return datetime.combine(self.next_first, datetime.min.time(), CHINA).astimezone(UTC)

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"


async def monthly_statistics(actor: Principal, region_code: str, month: str) -> StatisticsOut:
    region = await region_by_code(region_code)
    require_auditor_of(actor, region.path)
    when = Month.parse(month)
    child_key = len(region.path) + len(region.code) + 4  # a child's code is 3 digits longer, plus "/"
    async with planned_for_each_call():
        rows = await _figures(region, when, child_key, _QUERIES)
        # Every figure but active volunteers adds up over the children (a volunteer, project or record
        # belongs to one region); a volunteer active in two streets counts once in the district.
        whole = await _figures(region, when, len(region.path), ("records",))
    total = {name: sum(values.get(name, 0) for values in rows.values()) for name in _ADDITIVE}
    total |= whole.get(region.path, {})
    names = await _names(list(rows))
    by_region = [
        _build(names.get(key, (region.code, region.name)), values) for key, values in sorted(rows.items())
    ]
    return StatisticsOut(
        month=when.label, total=_build((region.code, region.name), total), by_region=by_region
    )


_QUERIES = ("volunteers", "records", "sessions")
_ADDITIVE = ("registered_volunteers", "new_volunteers", "projects", "sessions")


async def _figures(
    region: RegionRef, when: Month, key_len: int, which: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """Figures keyed by the first key_len characters of the region path (a whole region's own path)."""
    key = f"substr(g.path, 1, {int(key_len)})"
    prefix = f"{region.path}%"
    queries: dict[str, tuple[str, list[Any]]] = {
        "volunteers": (
            f"SELECT {key} AS k, COUNT(*) AS registered_volunteers, "
            "SUM(CASE WHEN v.created_at >= {} THEN 1 ELSE 0 END) AS new_volunteers "
            "FROM volunteer v JOIN region g ON g.id = v.region "
            "WHERE g.path LIKE {} AND v.created_at < {} GROUP BY 1",
            [when.start(), prefix, when.end()],
        ),
        "records": (
            # Records belong to the region of their recording organization, as in the audit queue.
            f"SELECT {key} AS k, "
            f"COUNT(DISTINCT CASE WHEN r.status IN {LIVE_SQL} THEN r.volunteer END) AS active_volunteers, "
            "SUM(CASE WHEN r.status = 'audited' THEN r.credited_minutes ELSE 0 END) AS audited_minutes, "
            "SUM(CASE WHEN r.status = 'audited' AND r.verified THEN r.credited_minutes ELSE 0 END) "
            "AS verified_minutes "
            "FROM service_record r JOIN organization o ON o.id = r.organization "
            "JOIN region g ON g.id = o.region "
            "WHERE g.path LIKE {} AND r.service_date >= {} AND r.service_date < {} GROUP BY 1",
            [prefix, when.first, when.next_first],
        ),
        "sessions": (
            # Sessions belong to the region of their project, where they are held.
            f"SELECT {key} AS k, COUNT(DISTINCT s.project) AS projects, COUNT(*) AS sessions "
            "FROM service_session s JOIN project p ON p.id = s.project JOIN region g ON g.id = p.region "
            "WHERE g.path LIKE {} AND p.status <> 'draft' AND s.starts_at >= {} AND s.starts_at < {} "
            "GROUP BY 1",
            [prefix, when.start(), when.end()],
        ),
    }
    result: dict[str, dict[str, int]] = {}
    for query in which:
        sql, args = queries[query]
        for row in await Region.raw(sql, *args):
            slot = result.setdefault(str(row.pop("k")), {})
            slot.update({name: int(value or 0) for name, value in row.items()})
    return result


async def _names(keys: list[str]) -> dict[str, tuple[str, str]]:
    if not keys:
        return {}
    rows = await Region.select(Region.path, Region.code, Region.name).where(Region.path.is_in(keys))
    return {r["path"]: (r["code"], r["name"]) for r in rows}


def _build(region: tuple[str, str], values: dict[str, int]) -> Figures:
    audited = values.get("audited_minutes", 0)
    verified = values.get("verified_minutes", 0)
    active = values.get("active_volunteers", 0)
    return Figures(
        region_code=region[0],
        region_name=region[1],
        registered_volunteers=values.get("registered_volunteers", 0),
        new_volunteers=values.get("new_volunteers", 0),
        active_volunteers=active,
        audited_minutes=audited,
        audited_hours=format_hours(audited),
        verified_minutes=verified,
        manual_minutes=audited - verified,
        verified_share=round(verified / audited, 4) if audited else None,
        projects=values.get("projects", 0),
        sessions=values.get("sessions", 0),
        average_audited_hours=format_hours(round(audited / active)) if active else "0.0",
    )


HEADERS = [
    "区域代码",
    "区域",
    "注册志愿者（月末累计）",
    "本月新注册",
    "活跃志愿者",
    "审核通过时长（小时）",
    "信用时长（扫码，小时）",
    "荣誉时长（补录，小时）",
    "扫码时长占比",
    "项目数",
    "活动场次",
    "人均审核时长（小时）",
]


def statistics_xlsx(report: StatisticsOut) -> bytes:
    """One sheet: a title, the child regions, then the total; small enough to build in memory."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(f"{report.month} 统计")
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    sheet.write_string(0, 0, f"{report.total.region_name} {report.month} 志愿服务统计月报", bold)
    sheet.write_row(2, 0, HEADERS, bold)
    for i, row in enumerate([*report.by_region, report.total], start=3):
        values: list[Any] = [
            row.region_code,
            row.region_name if row is not report.total else f"合计（{row.region_name}）",
            row.registered_volunteers,
            row.new_volunteers,
            row.active_volunteers,
            float(row.audited_hours),
            float(format_hours(row.verified_minutes)),
            float(format_hours(row.manual_minutes)),
        ]
        sheet.write_row(i, 0, values)
        if row.verified_share is None:
            sheet.write_blank(i, 8, None)
        else:
            sheet.write_number(i, 8, row.verified_share, percent)
        sheet.write_row(i, 9, [row.projects, row.sessions, float(row.average_audited_hours)])
    sheet.set_column(0, 1, 16)
    sheet.set_column(2, len(HEADERS) - 1, 14)
    book.close()
    return buffer.getvalue()
