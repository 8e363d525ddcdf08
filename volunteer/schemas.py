"""Request and response bodies: msgspec Structs whose constraints the OpenAPI schema shows clients."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.categories import ServiceCategory
from volunteer.identity import IdType
from volunteer.tables import (
    DecisionStatus,
    InviteStatus,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    RegionLevel,
    Role,
    SignupStatus,
)

Name = Annotated[str, Meta(min_length=1, max_length=50, description="姓名")]
Phone = Annotated[str, Meta(min_length=11, max_length=16, description="手机号（中国大陆）")]
RegionCode = Annotated[str, Meta(pattern=r"^\d{6}(\d{3}){0,2}$", description="行政区划代码（6/9/12位）")]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Skill = Annotated[str, Meta(min_length=1, max_length=20)]
Password = Annotated[str, Meta(min_length=1, max_length=128)]


class Error(msgspec.Struct):
    code: Annotated[str, Meta(description="稳定的机器可读错误码，见接口说明中的错误码表")]
    message: Annotated[str, Meta(description="给用户看的中文说明")]
    detail: object | None = None


# --- auth -----------------------------------------------------------------------------------------


class WeChatLogin(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=128, description="wx.login() 返回的 code")]


class PasswordLogin(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    password: Password


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=200)]


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Password
    new_password: Password


class Tokens(msgspec.Struct):
    access_token: str
    expires_in: Annotated[int, Meta(description="access_token 有效期（秒）")]
    refresh_token: str
    refresh_expires_in: int
    account_id: uuid.UUID
    token_type: str = "Bearer"


class GrantOut(msgspec.Struct):
    id: uuid.UUID
    role: Role
    organization_id: uuid.UUID | None
    region_code: str | None
    granted_at: datetime


class Me(msgspec.Struct):
    account_id: uuid.UUID
    display_name: str
    roles: list[GrantOut]
    volunteer_id: uuid.UUID | None
    volunteer_no: str | None


# --- staff administration ---------------------------------------------------------------------------


class StaffCreate(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    name: Name
    password: Password


class StaffOut(msgspec.Struct):
    id: uuid.UUID
    display_name: str
    is_active: bool
    created_at: datetime
    roles: list[GrantOut]


class RoleGrantRequest(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    organization_id: uuid.UUID | None = None
    region_code: RegionCode | None = None


# --- regions ------------------------------------------------------------------------------------------


class RegionOut(msgspec.Struct):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


# --- organizations ----------------------------------------------------------------------------------


class OrganizationCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=2, max_length=100)]
    kind: OrganizationKind
    region_code: RegionCode
    contact_name: Name
    contact_phone: Annotated[str, Meta(min_length=7, max_length=20)]
    uscc: Annotated[str, Meta(min_length=18, max_length=18, description="统一社会信用代码")] | None = None
    parent_id: uuid.UUID | None = None


class Decision(msgspec.Struct, forbid_unknown_fields=True):
    approve: bool
    reason: Reason | None = None


class OrganizationOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    kind: OrganizationKind
    region_code: str
    parent_id: uuid.UUID | None
    status: OrganizationStatus
    contact_name: str
    contact_phone: str
    uscc: str | None
    status_reason: Annotated[str | None, Meta(description="审核意见，仅组织管理员和审核人可见")] = None
    created_at: datetime | None = None


class InviteRequest(msgspec.Struct, forbid_unknown_fields=True):
    account_id: uuid.UUID


class InviteOut(msgspec.Struct):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    account_id: uuid.UUID
    status: InviteStatus
    created_at: datetime


class AdminOut(msgspec.Struct):
    account_id: uuid.UUID
    display_name: str
    granted_at: datetime


class MembershipOut(msgspec.Struct):
    id: uuid.UUID
    organization_id: uuid.UUID
    volunteer_id: uuid.UUID
    volunteer_no: str
    name: Annotated[str, Meta(description="姓名（已脱敏）")]
    status: DecisionStatus
    requested_at: datetime
    reason: str | None = None


# --- volunteers ---------------------------------------------------------------------------------------


class Guardian(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    relation: Annotated[str, Meta(min_length=1, max_length=16, description="与本人关系，如 父亲、母亲")]
    phone: Phone
    consent: Annotated[bool, Meta(description="监护人同意本人注册为志愿者")]


class VolunteerRegistration(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    id_type: IdType
    id_number: Annotated[str, Meta(min_length=5, max_length=24)]
    region_code: RegionCode
    phone: Phone
    skills: Annotated[list[Skill], Meta(max_length=20)] = []
    service_categories: Annotated[list[ServiceCategory], Meta(max_length=13)] = []
    gender: Annotated[str, Meta(pattern="^(male|female)$", description="非居民身份证时必填")] | None = None
    birth_date: Annotated[date | None, Meta(description="非居民身份证时必填")] = None
    guardian: Guardian | None = None


class Consent(msgspec.Struct, forbid_unknown_fields=True):
    consenting_person: Name
    method: Annotated[str, Meta(pattern="^(written|in_person|online)$")]
    consented_at: datetime


class RegistrationByOrganization(msgspec.Struct, forbid_unknown_fields=True):
    volunteer: VolunteerRegistration
    consent: Consent


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone | None = None
    region_code: RegionCode | None = None
    skills: Annotated[list[Skill], Meta(max_length=20)] | None = None
    service_categories: Annotated[list[ServiceCategory], Meta(max_length=13)] | None = None


class VolunteerOut(msgspec.Struct):
    id: uuid.UUID
    volunteer_no: str
    name: str
    masked: Annotated[bool, Meta(description="姓名、证件号、手机号是否已脱敏")]
    gender: str
    birth_date: date | None
    id_type: IdType
    id_number: str
    phone: str
    region_code: str
    region_name: str
    skills: list[str]
    service_categories: list[ServiceCategory]
    created_at: datetime


# --- projects and sign-ups ------------------------------------------------------------------------

Latitude = Annotated[float, Meta(ge=-90, le=90, description="纬度（WGS-84）")]
Longitude = Annotated[float, Meta(ge=-180, le=180, description="经度（WGS-84）")]


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Annotated[datetime, Meta(tz=True)]
    ends_at: Annotated[datetime, Meta(tz=True, description="晚于开始时间，时段最长 24 小时")]
    capacity: Annotated[int, Meta(ge=1, le=100_000, description="可录用人数")]
    cancel_cutoff_min: Annotated[int, Meta(ge=0, le=43_200, description="开始前多少分钟停止取消报名")] = 120


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    organization_id: uuid.UUID
    title: Annotated[str, Meta(min_length=2, max_length=100)]
    category: Annotated[ServiceCategory, Meta(description="服务类别：只有志愿服务类别才计入时长")]
    description: Annotated[str, Meta(min_length=1, max_length=5000)]
    region_code: RegionCode
    address: Annotated[str, Meta(min_length=1, max_length=200)]
    person_in_charge: Name
    contact_phone: Annotated[str, Meta(min_length=7, max_length=20)]
    headcount: Annotated[int, Meta(ge=1, le=100_000, description="计划招募人数")]
    sessions: Annotated[list[SessionCreate], Meta(min_length=1, max_length=100)]
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    geofence_m: (
        Annotated[int, Meta(ge=10, le=10_000, description="签到范围半径（米），须提供坐标")] | None
    ) = None
    insurance_required: Annotated[bool, Meta(description="有风险的项目须投保后才能开放报名")] = False
    allow_walk_in: bool = False


class SessionOut(msgspec.Struct):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    cancel_cutoff_min: int
    approved: Annotated[int, Meta(description="已录用人数")]
    spots_left: int


class ProjectOut(msgspec.Struct):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    category: ServiceCategory
    description: str
    region_code: str
    region_name: str
    address: str
    latitude: float | None
    longitude: float | None
    geofence_m: int | None
    person_in_charge: str
    contact_phone: str
    insurance_required: bool
    insured: bool
    headcount: int
    allow_walk_in: bool
    status: ProjectStatus
    published_at: datetime | None
    sessions: Annotated[list[SessionOut], Meta(description="列表中只含未开始的时段，详情中含全部时段")]
    distance_m: Annotated[float | None, Meta(description="按位置查询时与查询点的距离（米）")] = None


class SignupOut(msgspec.Struct):
    """A sign-up as the organizer sees it: the volunteer's name masked."""

    id: uuid.UUID
    session_id: uuid.UUID
    volunteer_id: uuid.UUID
    volunteer_no: str
    name: Annotated[str, Meta(description="姓名（已脱敏）")]
    status: SignupStatus
    applied_at: datetime
    decided_at: datetime | None
    reason: str | None


class MySignupOut(msgspec.Struct):
    id: uuid.UUID
    session_id: uuid.UUID
    project_id: uuid.UUID
    project_title: str
    address: str
    starts_at: datetime
    ends_at: datetime
    cancel_until: Annotated[datetime, Meta(description="此时间之前可自行取消报名")]
    status: SignupStatus
    applied_at: datetime
    reason: Annotated[str | None, Meta(description="未通过的原因")]
