"""Region lookups: public, so the mini-program can offer the tree at registration."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from errors import REGION_NOT_FOUND
from volunteer import regions
from volunteer.api.security import anyone, errors
from volunteer.regions import RegionRef
from volunteer.schemas import RegionOut


def region_out(region: RegionRef) -> RegionOut:
    return RegionOut(region.code, region.name, region.level, region.parent_code)


class RegionController(Controller):
    path = "/regions"
    tags = ["行政区划"]
    guards = [anyone]

    @get("/{code:str}", summary="查询区划", responses=errors(REGION_NOT_FOUND, auth=False))
    async def one(self, code: FromPath[str]) -> RegionOut:
        return region_out(await regions.region_by_code(code))

    @get(
        "/{code:str}/subtree",
        summary="查询下级区划",
        description="depth=1 只返回直接下级；不传则返回整棵子树（含自身）。",
        responses=errors(REGION_NOT_FOUND, auth=False),
    )
    async def subtree(
        self, code: FromPath[str], depth: Annotated[int | None, QueryParameter(ge=1, le=3)] = None
    ) -> list[RegionOut]:
        return [region_out(r) for r in await regions.subtree(code, depth=depth)]
