"""Response bodies of star levels (rule 24): a volunteer's levels and history, and the public 公示 list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.tables import StarLevelEventKind

Stars = Annotated[int, Meta(ge=0, description="星级（0 表示未达一星）")]
Period = Annotated[
    str, Meta(description="统计期间：all 为累计；按年度时为服务日期（北京时间）的年份，如 2026")
]


class PeriodOut(msgspec.Struct):
    period: Period
    level: Annotated[int, Meta(ge=0, description="已公布的星级（公示期满后生效）")]
    audited_minutes: Annotated[int, Meta(description="计入星级的已审核时长（分钟）")]
    audited_hours: Annotated[str, Meta(description="已审核时长（小时，一位小数）")]
    pending_level: Annotated[int | None, Meta(description="已达到、正在公示的星级；无公示时为空")]
    publicity_ends_on: Annotated[
        date | None, Meta(description="公示最后一天（北京时间，按工作日计），次日公布")
    ]
    next_level_hours: Annotated[int | None, Meta(description="下一星级所需时长（小时）；已是最高星级时为空")]
    minutes_to_next: Annotated[int | None, Meta(description="距下一星级还差的已审核时长（分钟）")]
    hours_to_next: Annotated[str | None, Meta(description="距下一星级还差的时长（小时，一位小数）")]


class StarEventOut(msgspec.Struct):
    period: Period
    kind: Annotated[
        StarLevelEventKind,
        Meta(
            description=(
                "proposed 达到新星级，开始公示；published 公示期满，星级公布；"
                "withdrawn 公示期间时长减少，公示撤回或降低；demoted 时长被撤销，星级下调"
            )
        ),
    ]
    from_level: Stars
    to_level: Stars
    audited_minutes: Annotated[int, Meta(description="变化时的已审核时长（分钟）")]
    audited_hours: str
    publicity_ends_on: date | None
    at: datetime


class StarLevelOut(msgspec.Struct):
    mode: Annotated[str, Meta(description="cumulative 累计计算；yearly 按公历年度计算")]
    periods: Annotated[list[PeriodOut], Meta(description="各统计期间的星级，最近的在前")]
    history: Annotated[list[StarEventOut], Meta(description="星级变化记录，最新的在前")]


class PublicityOut(msgspec.Struct):
    name: Annotated[str, Meta(description="姓名（已脱敏）")]
    volunteer_no: str
    period: Period
    level: Annotated[int, Meta(ge=1, description="公示的星级")]
    published_level: Stars
    publicity_ends_on: Annotated[date, Meta(description="公示最后一天（北京时间）")]
