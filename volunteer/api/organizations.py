"""Organizations: registration, verification, admins and members."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from errors import (
    ACCOUNT_NOT_FOUND,
    ALREADY_ADMIN,
    FORBIDDEN,
    INVITE_NOT_FOUND,
    LAST_ADMIN,
    MEMBERSHIP_EXISTS,
    MEMBERSHIP_NOT_FOUND,
    ORGANIZATION_ALREADY_DECIDED,
    ORGANIZATION_NOT_FOUND,
    ORGANIZATION_NOT_VERIFIED,
    OUT_OF_SCOPE,
    PARENT_ORGANIZATION_INVALID,
    REASON_REQUIRED,
    REGION_NOT_FOUND,
    ROLE_GRANT_NOT_FOUND,
    USCC_ALREADY_REGISTERED,
    USCC_INVALID,
    USCC_REQUIRED,
    VOLUNTEER_NOT_REGISTERED,
)
from volunteer import memberships, org_admins, organizations
from volunteer.api.deps import CurrentPrincipal, Now, Pii, RegistrationPolicy, Today, Viewer
from volunteer.api.security import BEARER, anyone, errors, has_role, signed_in
from volunteer.api.volunteers import REGISTRATION_ERRORS
from volunteer.registration import register_by_organization
from volunteer.schemas import (
    AdminOut,
    Decision,
    InviteOut,
    InviteRequest,
    MembershipOut,
    OrganizationCreate,
    OrganizationOut,
    RegistrationByOrganization,
    VolunteerOut,
)
from volunteer.tables import DecisionStatus, OrganizationStatus, Role

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]
org_admin = has_role(Role.org_admin)


class OrganizationController(Controller):
    path = "/organizations"
    tags = ["志愿服务组织"]

    @post(
        "/",
        guards=[signed_in],
        security=BEARER,
        summary="注册组织",
        description="注册人自动成为组织管理员；组织须经所在区划的审核人审核通过后才能发布项目、接收成员。",
        responses=errors(
            USCC_INVALID,
            USCC_REQUIRED,
            USCC_ALREADY_REGISTERED,
            REGION_NOT_FOUND,
            PARENT_ORGANIZATION_INVALID,
        ),
    )
    async def register(
        self, data: JSONBody[OrganizationCreate], principal: CurrentPrincipal, now: Now
    ) -> OrganizationOut:
        return await organizations.register_organization(principal, data, now)

    @get(
        "/",
        guards=[anyone],
        summary="组织列表",
        description="公众只能看到已审核的组织；审核人可按状态查看其管辖范围内的全部组织（如待审核队列）。",
        responses=errors(REGION_NOT_FOUND),
    )
    async def index(
        self,
        region_code: FromQuery[str],
        viewer: Viewer,
        status: FromQuery[OrganizationStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[OrganizationOut]:
        return await organizations.list_organizations(
            viewer, region_code=region_code, status=status, limit=limit, offset=offset
        )

    @get("/{org_id:uuid}", guards=[anyone], summary="组织详情", responses=errors(ORGANIZATION_NOT_FOUND))
    async def one(self, org_id: FromPath[uuid.UUID], viewer: Viewer) -> OrganizationOut:
        return await organizations.view_organization(viewer, org_id)

    @post(
        "/{org_id:uuid}/decision",
        guards=[has_role(Role.auditor)],
        security=BEARER,
        summary="审核组织（通过或驳回）",
        description="只有组织所在区划的审核人可以审核；驳回须填写原因。",
        responses=errors(
            FORBIDDEN, OUT_OF_SCOPE, ORGANIZATION_NOT_FOUND, ORGANIZATION_ALREADY_DECIDED, REASON_REQUIRED
        ),
    )
    async def decide(
        self, org_id: FromPath[uuid.UUID], data: JSONBody[Decision], principal: CurrentPrincipal, now: Now
    ) -> OrganizationOut:
        return await organizations.decide_organization(
            principal, org_id, approve=data.approve, reason=data.reason, now=now
        )

    @get(
        "/{org_id:uuid}/admins",
        guards=[org_admin],
        security=BEARER,
        summary="组织管理员列表",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE),
    )
    async def admins(self, org_id: FromPath[uuid.UUID], principal: CurrentPrincipal) -> list[AdminOut]:
        return await org_admins.list_admins(principal, org_id)

    @post(
        "/{org_id:uuid}/admins/invites",
        guards=[org_admin],
        security=BEARER,
        summary="邀请管理员",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, ACCOUNT_NOT_FOUND, ALREADY_ADMIN),
    )
    async def invite(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[InviteRequest],
        principal: CurrentPrincipal,
        now: Now,
    ) -> InviteOut:
        return await org_admins.invite_admin(principal, org_id, data.account_id, now)

    @post(
        "/{org_id:uuid}/admins/{account_id:uuid}/remove",
        guards=[org_admin],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        summary="移除管理员",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, ROLE_GRANT_NOT_FOUND, LAST_ADMIN),
    )
    async def remove_admin(
        self,
        org_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        now: Now,
    ) -> None:
        await org_admins.remove_admin(principal, org_id, account_id, now)

    @post(
        "/{org_id:uuid}/join",
        guards=[signed_in],
        security=BEARER,
        summary="申请加入组织",
        responses=errors(
            VOLUNTEER_NOT_REGISTERED, ORGANIZATION_NOT_FOUND, ORGANIZATION_NOT_VERIFIED, MEMBERSHIP_EXISTS
        ),
    )
    async def join(self, org_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now) -> MembershipOut:
        return await memberships.request_join(principal, org_id, now)

    @get(
        "/{org_id:uuid}/members",
        guards=[org_admin],
        security=BEARER,
        summary="成员与入队申请",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE),
    )
    async def members(
        self,
        org_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        status: FromQuery[DecisionStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[MembershipOut]:
        return await memberships.list_members(principal, org_id, status=status, limit=limit, offset=offset)

    @post(
        "/{org_id:uuid}/members/{membership_id:uuid}/decision",
        guards=[org_admin],
        security=BEARER,
        summary="审批入队申请",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, MEMBERSHIP_NOT_FOUND, REASON_REQUIRED),
    )
    async def decide_member(
        self,
        org_id: FromPath[uuid.UUID],
        membership_id: FromPath[uuid.UUID],
        data: JSONBody[Decision],
        principal: CurrentPrincipal,
        now: Now,
    ) -> MembershipOut:
        return await memberships.decide_membership(
            principal, org_id, membership_id, approve=data.approve, reason=data.reason, now=now
        )

    @post(
        "/{org_id:uuid}/volunteers",
        guards=[org_admin],
        security=BEARER,
        summary="组织代为登记志愿者",
        description="须记录本人（未成年人为监护人）同意的方式和时间；登记后自动成为本组织成员，返回脱敏信息。",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, ORGANIZATION_NOT_VERIFIED, *REGISTRATION_ERRORS),
    )
    async def register_volunteer(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[RegistrationByOrganization],
        principal: CurrentPrincipal,
        pii: Pii,
        policy: RegistrationPolicy,
        now: Now,
        today: Today,
    ) -> VolunteerOut:
        return await register_by_organization(principal, pii, policy, org_id, data, today=today, now=now)


class InviteController(Controller):
    path = "/me/invites"
    tags = ["志愿服务组织"]
    guards = [signed_in]
    security = BEARER

    @get("/", summary="我收到的管理员邀请", responses=errors())
    async def mine(self, principal: CurrentPrincipal) -> list[InviteOut]:
        return await org_admins.my_invites(principal)

    @post("/{invite_id:uuid}/accept", summary="接受邀请", responses=errors(INVITE_NOT_FOUND))
    async def accept(
        self, invite_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> InviteOut:
        return await org_admins.answer_invite(principal, invite_id, accept=True, now=now)

    @post("/{invite_id:uuid}/decline", summary="拒绝邀请", responses=errors(INVITE_NOT_FOUND))
    async def decline(
        self, invite_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> InviteOut:
        return await org_admins.answer_invite(principal, invite_id, accept=False, now=now)
