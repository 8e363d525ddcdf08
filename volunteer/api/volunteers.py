"""Volunteer registration and profiles."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody

from errors import (
    ACCOUNT_ALREADY_REGISTERED,
    BIRTH_DATE_REQUIRED,
    CONSENT_REQUIRED,
    GUARDIAN_CONSENT_REQUIRED,
    ID_BIRTH_DATE_INVALID,
    ID_CHECK_DIGIT_INVALID,
    ID_NUMBER_INVALID,
    ID_REGION_INVALID,
    PHONE_INVALID,
    REGION_NOT_FOUND,
    UNDER_MINIMUM_AGE,
    VOLUNTEER_ALREADY_REGISTERED,
    VOLUNTEER_NOT_FOUND,
    VOLUNTEER_NOT_REGISTERED,
)
from volunteer import memberships, profiles, registration
from volunteer.api.deps import CurrentPrincipal, Now, Pii, RegistrationPolicy, Today
from volunteer.api.security import BEARER, errors, signed_in
from volunteer.schemas import MembershipOut, ProfileUpdate, VolunteerOut, VolunteerRegistration

REGISTRATION_ERRORS = (
    ID_NUMBER_INVALID,
    ID_CHECK_DIGIT_INVALID,
    ID_BIRTH_DATE_INVALID,
    ID_REGION_INVALID,
    BIRTH_DATE_REQUIRED,
    UNDER_MINIMUM_AGE,
    GUARDIAN_CONSENT_REQUIRED,
    CONSENT_REQUIRED,
    PHONE_INVALID,
    REGION_NOT_FOUND,
    VOLUNTEER_ALREADY_REGISTERED,
)


class VolunteerController(Controller):
    path = "/volunteers"
    tags = ["志愿者"]
    guards = [signed_in]
    security = BEARER

    @post(
        "/me",
        summary="志愿者实名注册",
        description=(
            "居民身份证号码校验校验位、出生日期和省级代码（历史区县代码长期有效），性别和出生日期取自证件号码；"
            "一个证件号码只能注册一次。未满18周岁须监护人同意。"
        ),
        responses=errors(ACCOUNT_ALREADY_REGISTERED, *REGISTRATION_ERRORS),
    )
    async def register(
        self,
        data: JSONBody[VolunteerRegistration],
        principal: CurrentPrincipal,
        pii: Pii,
        policy: RegistrationPolicy,
        now: Now,
        today: Today,
    ) -> VolunteerOut:
        return await registration.register_self(principal, pii, policy, data, today=today, now=now)

    @get("/me", summary="我的志愿者档案（本人可见完整信息）", responses=errors(VOLUNTEER_NOT_REGISTERED))
    async def mine(self, principal: CurrentPrincipal, pii: Pii) -> VolunteerOut:
        return await profiles.my_profile(principal, pii)

    @patch(
        "/me",
        summary="修改我的档案",
        description="可修改手机号、居住区划、技能和服务类别；姓名和证件号码不可修改。",
        responses=errors(VOLUNTEER_NOT_REGISTERED, PHONE_INVALID, REGION_NOT_FOUND),
    )
    async def update(
        self, data: JSONBody[ProfileUpdate], principal: CurrentPrincipal, pii: Pii, now: Now
    ) -> VolunteerOut:
        return await profiles.update_profile(principal, pii, data, now)

    @get("/me/organizations", summary="我加入的组织", responses=errors(VOLUNTEER_NOT_REGISTERED))
    async def my_organizations(self, principal: CurrentPrincipal) -> list[MembershipOut]:
        return await memberships.my_memberships(principal)

    @get(
        "/{volunteer_id:uuid}",
        summary="查看志愿者档案",
        description="本人和所在区划的审核人看到完整信息；其所在组织的管理员看到脱敏信息；其他人不可见。",
        responses=errors(VOLUNTEER_NOT_FOUND),
    )
    async def one(
        self, volunteer_id: FromPath[uuid.UUID], principal: CurrentPrincipal, pii: Pii
    ) -> VolunteerOut:
        return await profiles.view_volunteer(principal, pii, volunteer_id)
