"""Reports an auditor publishes or hands on: monthly statistics and record exports of their jurisdiction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.response import Stream

import errors
from volunteer import exports, published_reports, statistics
from volunteer.api.deps import CurrentPrincipal, Now, Today
from volunteer.api.security import BEARER, anyone, has_role
from volunteer.api.security import errors as documented
from volunteer.statistics import StatisticsOut
from volunteer.tables import Role

RegionCode = Annotated[str, QueryParameter(pattern=r"^\d{6}(\d{3}){0,2}$", description="行政区划代码")]
OptionalRegionCode = Annotated[
    str | None, QueryParameter(pattern=r"^\d{6}(\d{3}){0,2}$", description="行政区划代码，缺省为全部辖区")
]
Month = Annotated[str, QueryParameter(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="月份，如 2026-11")]
DateFrom = Annotated[date, QueryParameter(description="服务日期起（含）")]
DateTo = Annotated[date, QueryParameter(description="服务日期止（含），期间不超过 366 天")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
auditor = has_role(Role.auditor)


def statistics_xlsx_response(report: StatisticsOut) -> Response[bytes]:
    name = f"志愿服务统计月报_{report.total.region_name}_{report.month}.xlsx"
    return Response(
        statistics.statistics_xlsx(report),
        media_type=XLSX,
        headers={"Content-Disposition": exports.content_disposition(name)},
    )


class ReportController(Controller):
    path = "/reports"
    tags = ["统计与导出"]
    security = BEARER
    guards = [auditor]

    @get(
        "/statistics",
        summary="月度统计（本辖区）",
        description=(
            "区域（含下级）在某月（北京时间）的统计：注册志愿者（月末累计、本月新增）、活跃志愿者"
            "（本月有未驳回记录）、审核通过时长（只计已审核记录）、扫码与补录时长、项目数与场次、"
            "人均审核时长；另按直接下级区域分列。"
        ),
        responses=documented(errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND),
    )
    async def statistics(
        self, principal: CurrentPrincipal, region_code: RegionCode, month: Month
    ) -> StatisticsOut:
        return await statistics.monthly_statistics(principal, region_code, month)

    @get(
        "/statistics.xlsx",
        summary="月度统计报表（Excel）",
        description="与月度统计相同的数字，一张工作表，中文表头，可直接发布。",
        media_type=XLSX,
        responses=documented(errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND),
    )
    async def statistics_xlsx(
        self, principal: CurrentPrincipal, region_code: RegionCode, month: Month
    ) -> Response[bytes]:
        return statistics_xlsx_response(await statistics.monthly_statistics(principal, region_code, month))

    @get(
        "/records.csv",
        summary="导出服务记录（CSV）",
        description=(
            "辖区内（或指定区域内）按服务日期的服务记录，中文表头，UTF-8 带 BOM，时间为北京时间，"
            "姓名不脱敏。分页读取、边读边发。"
        ),
        media_type="text/csv; charset=utf-8",
        responses=documented(errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND),
    )
    async def records_csv(
        self,
        principal: CurrentPrincipal,
        date_from: DateFrom,
        date_to: DateTo,
        region_code: OptionalRegionCode = None,
    ) -> Stream:
        scope = await exports.export_scope(principal, region_code, date_from, date_to)
        return Stream(
            exports.csv_chunks(scope),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": exports.content_disposition(exports.file_name(scope, "csv"))},
        )

    @get(
        "/records.xlsx",
        summary="导出服务记录（Excel）",
        description="与 CSV 导出相同的内容，一张工作表；分页读取、边压缩边发送，不落临时文件。",
        media_type=XLSX,
        responses=documented(
            errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND, errors.EXPORT_TOO_MANY_ROWS
        ),
    )
    async def records_xlsx(
        self,
        principal: CurrentPrincipal,
        date_from: DateFrom,
        date_to: DateTo,
        region_code: OptionalRegionCode = None,
    ) -> Stream:
        scope = await exports.export_scope(principal, region_code, date_from, date_to)
        await exports.require_one_sheet(scope)
        return Stream(
            exports.xlsx_chunks(scope),
            media_type=XLSX,
            headers={"Content-Disposition": exports.content_disposition(exports.file_name(scope, "xlsx"))},
        )


class PublishIn(msgspec.Struct, forbid_unknown_fields=True):
    region_code: Annotated[str, msgspec.Meta(pattern=r"^\d{6}(\d{3}){0,2}$", description="行政区划代码")]
    month: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="月份，如 2026-10")]


class PublishedOut(msgspec.Struct):
    region_code: str
    month: str
    version: Annotated[int, msgspec.Meta(description="同一地区同一月份再次发布时版本加一，旧版本保留")]
    published_at: datetime
    report: StatisticsOut


def published_out(published: published_reports.Published) -> PublishedOut:
    return PublishedOut(
        published.region_code, published.month, published.version, published.published_at, published.report
    )


class PublishedReportController(Controller):
    path = "/"
    tags = ["统计与导出"]

    @post(
        "/reports/statistics/publish",
        guards=[auditor],
        security=BEARER,
        summary="发布统计月报",
        description=(
            "审核员发布辖区内某地区已结束月份（北京时间）的统计月报：数字按发布时冻结保存，任何人可公开查阅；"
            "再次发布产生新版本，旧版本保留。审计日志记录发布内容的 SHA-256。"
        ),
        responses=documented(
            errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND, errors.REPORT_MONTH_NOT_OVER
        ),
    )
    async def publish(
        self, data: JSONBody[PublishIn], principal: CurrentPrincipal, today: Today, now: Now
    ) -> PublishedOut:
        return published_out(
            await published_reports.publish(principal, data.region_code, data.month, today, now)
        )

    @get(
        "/public/reports/statistics",
        guards=[anyone],
        security=[],
        summary="已发布的统计月报（公开）",
        description="某地区某月最新发布的统计月报，无需登录；只有汇总数字，不含个人信息。",
        responses=documented(errors.REGION_NOT_FOUND, errors.REPORT_NOT_PUBLISHED, auth=False),
    )
    async def published(self, region_code: RegionCode, month: Month) -> PublishedOut:
        return published_out(await published_reports.latest(region_code, month))

    @get(
        "/public/reports/statistics.xlsx",
        guards=[anyone],
        security=[],
        summary="已发布的统计月报（公开，Excel）",
        description="与公开的统计月报相同的数字，一张工作表。",
        media_type=XLSX,
        responses=documented(errors.REGION_NOT_FOUND, errors.REPORT_NOT_PUBLISHED, auth=False),
    )
    async def published_xlsx(self, region_code: RegionCode, month: Month) -> Response[bytes]:
        published = await published_reports.latest(region_code, month)
        return statistics_xlsx_response(published.report)
