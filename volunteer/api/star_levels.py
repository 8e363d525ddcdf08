"""Star levels (rule 24): the volunteer's own, the public 公示 list, one volunteer's for those who may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

import errors
from volunteer import star_level_views
from volunteer.api.deps import CurrentPrincipal, Rules, Today
from volunteer.api.security import BEARER, anyone, signed_in
from volunteer.api.security import errors as documented
from volunteer.star_schemas import PublicityOut, StarLevelOut

_LEVELS = (
    "星级按已审核时长计算（默认 100/300/600/1000/1500 小时对应一至五星，可配置为累计或按年度）。"
    "达到新星级后公示5个工作日（按国家法定节假日及调休计算），期满次日公布；"
    "时长被撤销导致总时长低于已公布星级时，星级立即下调。"
)


class StarLevelController(Controller):
    path = "/"
    tags = ["星级"]

    @get(
        "/volunteers/me/star-level",
        guards=[signed_in],
        security=BEARER,
        summary="我的星级",
        description=_LEVELS
        + "返回各期间的已公布星级、公示中的星级和公示截止日、距下一星级的时长、变化记录。",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def mine(self, principal: CurrentPrincipal, rules: Rules, today: Today) -> StarLevelOut:
        return await star_level_views.my_star_level(principal, rules, today)

    @get(
        "/volunteers/{volunteer_id:uuid}/star-level",
        guards=[signed_in],
        security=BEARER,
        summary="查看志愿者星级",
        description="本人、所在区划的审核人和其所在组织的管理员可以查看；其他人返回 VOLUNTEER_NOT_FOUND。",
        responses=documented(errors.VOLUNTEER_NOT_FOUND),
    )
    async def one(
        self, volunteer_id: FromPath[uuid.UUID], principal: CurrentPrincipal, rules: Rules, today: Today
    ) -> StarLevelOut:
        return await star_level_views.volunteer_star_level(principal, volunteer_id, rules, today)

    @get(
        "/star-levels/publicity",
        guards=[anyone],
        security=[],
        summary="星级公示名单（公开）",
        description=(
            "居住在该区划（含下级）、正在公示的志愿者：脱敏姓名、志愿者编号、公示星级和公示截止日，"
            "按截止日排序。无需登录。"
        ),
        responses=documented(errors.REGION_NOT_FOUND, auth=False),
    )
    async def publicity(
        self,
        today: Today,
        region_code: Annotated[str, QueryParameter(pattern=r"^\d{6}(\d{3}){0,2}$")],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[PublicityOut]:
        return await star_level_views.publicity(region_code, today, limit=limit, offset=offset)
