"""Staff account administration, for platform admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from errors import (
    ACCOUNT_NOT_FOUND,
    FORBIDDEN,
    ORGANIZATION_NOT_FOUND,
    PASSWORD_TOO_WEAK,
    PHONE_ALREADY_USED,
    PHONE_INVALID,
    REGION_NOT_FOUND,
    ROLE_ALREADY_GRANTED,
    ROLE_GRANT_NOT_FOUND,
    ROLE_SCOPE_INVALID,
)
from volunteer import staff
from volunteer.accounts import GrantView, grants_by_account
from volunteer.api.deps import CurrentPrincipal, Now, Pii
from volunteer.api.security import BEARER, errors, has_role
from volunteer.schemas import GrantOut, RoleGrantRequest, StaffCreate, StaffOut
from volunteer.tables import Account, Role


def grant_out(g: GrantView) -> GrantOut:
    return GrantOut(g.id, g.role, g.organization_id, g.region_code, g.granted_at)


def _grants(grants: dict[uuid.UUID, list[GrantView]], account_id: uuid.UUID) -> list[GrantOut]:
    return [grant_out(g) for g in grants.get(account_id, [])]


async def _staff_out(accounts: list[Account]) -> list[StaffOut]:
    grants = await grants_by_account([a.id for a in accounts])
    return [
        StaffOut(a.id, a.display_name, a.is_active, a.created_at, _grants(grants, a.id)) for a in accounts
    ]


class AdminController(Controller):
    path = "/admin/accounts"
    tags = ["账号管理"]
    guards = [has_role(Role.admin)]
    security = BEARER

    @post(
        "/",
        summary="创建工作人员账号",
        responses=errors(FORBIDDEN, PHONE_INVALID, PHONE_ALREADY_USED, PASSWORD_TOO_WEAK),
    )
    async def create(
        self, data: JSONBody[StaffCreate], principal: CurrentPrincipal, pii: Pii, now: Now
    ) -> StaffOut:
        account = await staff.create_staff(
            principal, pii, phone=data.phone, name=data.name, password=data.password, now=now
        )
        return (await _staff_out([account]))[0]

    @get("/", summary="工作人员账号列表", responses=errors(FORBIDDEN))
    async def index(
        self,
        principal: CurrentPrincipal,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[StaffOut]:
        return await _staff_out(await staff.list_staff(principal, limit=limit, offset=offset))

    @post(
        "/{account_id:uuid}/roles",
        summary="授予角色",
        description=(
            "org_admin 须指定 organization_id；"
            "auditor、dispatcher 须指定 region_code（管辖范围为该区划及其下级）。"
        ),
        responses=errors(
            FORBIDDEN,
            ACCOUNT_NOT_FOUND,
            ROLE_SCOPE_INVALID,
            ROLE_ALREADY_GRANTED,
            REGION_NOT_FOUND,
            ORGANIZATION_NOT_FOUND,
        ),
    )
    async def grant(
        self,
        account_id: FromPath[uuid.UUID],
        data: JSONBody[RoleGrantRequest],
        principal: CurrentPrincipal,
        now: Now,
    ) -> GrantOut:
        granted = await staff.grant_role(
            principal,
            account_id,
            data.role,
            organization_id=data.organization_id,
            region_code=data.region_code,
            now=now,
        )
        return grant_out(granted)

    @post(
        "/{account_id:uuid}/roles/{grant_id:uuid}/withdraw",
        status_code=HTTP_204_NO_CONTENT,
        summary="撤销角色",
        responses=errors(FORBIDDEN, ROLE_GRANT_NOT_FOUND),
    )
    async def withdraw(
        self,
        account_id: FromPath[uuid.UUID],
        grant_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        now: Now,
    ) -> None:
        await staff.withdraw_role(principal, account_id, grant_id, now)

    @post(
        "/{account_id:uuid}/disable",
        status_code=HTTP_204_NO_CONTENT,
        summary="停用账号",
        description="停用后该账号的所有登录凭证立即失效。",
        responses=errors(FORBIDDEN, ACCOUNT_NOT_FOUND),
    )
    async def disable(self, account_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now) -> None:
        await staff.disable_account(principal, account_id, now)
