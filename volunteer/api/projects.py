"""Projects, their sessions and sign-ups."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from errors import (
    ALREADY_SIGNED_UP,
    CANCEL_TOO_LATE,
    FORBIDDEN,
    GEOFENCE_NEEDS_LOCATION,
    INSURANCE_REQUIRED,
    ORGANIZATION_NOT_FOUND,
    ORGANIZATION_NOT_VERIFIED,
    OUT_OF_SCOPE,
    PROJECT_NOT_EDITABLE,
    PROJECT_NOT_FOUND,
    REASON_REQUIRED,
    REGION_NOT_FOUND,
    SESSION_NOT_FOUND,
    SESSION_TIME_INVALID,
    SIGNUP_CLOSED,
    SIGNUP_NOT_FOUND,
    SIGNUP_NOT_PENDING,
    SIGNUP_SUSPENDED,
    VOLUNTEER_NOT_REGISTERED,
)
from volunteer import project_views, projects, signups
from volunteer.api.deps import CurrentPrincipal, Now, Viewer
from volunteer.api.security import BEARER, anyone, errors, has_role, signed_in
from volunteer.categories import ServiceCategory
from volunteer.schemas import (
    Decision,
    MySignupOut,
    ProjectCreate,
    ProjectOut,
    SessionCreate,
    SessionOut,
    SignupOut,
)
from volunteer.tables import Role, SignupStatus

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]
org_admin = has_role(Role.org_admin)
_MANAGE = (FORBIDDEN, OUT_OF_SCOPE, PROJECT_NOT_FOUND, PROJECT_NOT_EDITABLE)


class ProjectController(Controller):
    path = "/projects"
    tags = ["志愿服务项目"]

    @post(
        "/",
        guards=[org_admin],
        security=BEARER,
        summary="创建项目（草稿）",
        description="已审核组织的管理员创建项目及其时段；时段须晚于开始、最长24小时；设置签到范围须提供坐标。",
        responses=errors(
            FORBIDDEN,
            OUT_OF_SCOPE,
            ORGANIZATION_NOT_FOUND,
            ORGANIZATION_NOT_VERIFIED,
            REGION_NOT_FOUND,
            GEOFENCE_NEEDS_LOCATION,
            SESSION_TIME_INVALID,
        ),
    )
    async def create(
        self, data: JSONBody[ProjectCreate], principal: CurrentPrincipal, now: Now
    ) -> ProjectOut:
        return await projects.create_project(principal, data, now)

    @get(
        "/",
        guards=[anyone],
        summary="浏览项目",
        description=(
            "已发布的项目，可按区划（含下级）、服务类别、活动日期（北京时间）和位置筛选；"
            "按位置查询时由近到远排列并返回距离。每个项目附带其未开始的时段和剩余名额。"
        ),
        responses=errors(REGION_NOT_FOUND),
    )
    async def browse(
        self,
        now: Now,
        region_code: FromQuery[str | None] = None,
        category: FromQuery[ServiceCategory | None] = None,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
        lng: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
        radius_km: Annotated[float, QueryParameter(gt=0, le=200)] = 10.0,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[ProjectOut]:
        return await project_views.browse_projects(
            region_code=region_code,
            category=category,
            date_from=date_from,
            date_to=date_to,
            lat=lat,
            lng=lng,
            radius_km=radius_km,
            limit=limit,
            offset=offset,
            now=now,
        )

    @get(
        "/{project_id:uuid}",
        guards=[anyone],
        summary="项目详情",
        description="已发布的项目公开；草稿和已结束的项目仅本组织管理员和所在区划的审核人可见。",
        responses=errors(PROJECT_NOT_FOUND),
    )
    async def one(self, project_id: FromPath[uuid.UUID], viewer: Viewer) -> ProjectOut:
        return await project_views.view_project(viewer, project_id)

    @post(
        "/{project_id:uuid}/publish",
        guards=[org_admin],
        security=BEARER,
        summary="发布项目，开放报名",
        description="须投保的项目在登记投保后才能发布。",
        responses=errors(*_MANAGE, INSURANCE_REQUIRED),
    )
    async def publish(
        self, project_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> ProjectOut:
        return await projects.publish_project(principal, project_id, now)

    @post(
        "/{project_id:uuid}/close",
        guards=[org_admin],
        security=BEARER,
        summary="结束项目",
        responses=errors(*_MANAGE),
    )
    async def close(
        self, project_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> ProjectOut:
        return await projects.close_project(principal, project_id, now)

    @post(
        "/{project_id:uuid}/insurance",
        guards=[org_admin],
        security=BEARER,
        summary="登记已为志愿者投保",
        responses=errors(*_MANAGE),
    )
    async def insurance(self, project_id: FromPath[uuid.UUID], principal: CurrentPrincipal) -> ProjectOut:
        return await projects.record_insurance(principal, project_id)

    @post(
        "/{project_id:uuid}/sessions",
        guards=[org_admin],
        security=BEARER,
        summary="增加时段",
        description="草稿或已发布的项目可以增加时段。",
        responses=errors(*_MANAGE, SESSION_TIME_INVALID),
    )
    async def add_session(
        self,
        project_id: FromPath[uuid.UUID],
        data: JSONBody[SessionCreate],
        principal: CurrentPrincipal,
        now: Now,
    ) -> SessionOut:
        return await projects.add_session(principal, project_id, data, now)


class SessionController(Controller):
    path = "/sessions"
    tags = ["报名"]
    security = BEARER

    @post(
        "/{session_id:uuid}/signups",
        guards=[signed_in],
        summary="报名时段",
        description="已发布项目的时段开始前可报名，报名后等待组织审核；一年内多次未到场者暂停报名。",
        responses=errors(
            VOLUNTEER_NOT_REGISTERED, SESSION_NOT_FOUND, SIGNUP_CLOSED, SIGNUP_SUSPENDED, ALREADY_SIGNED_UP
        ),
    )
    async def apply(
        self, session_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> MySignupOut:
        return await signups.apply(principal, session_id, now)

    @get(
        "/{session_id:uuid}/signups",
        guards=[org_admin],
        summary="时段的报名名单（姓名脱敏）",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, SESSION_NOT_FOUND),
    )
    async def index(
        self,
        session_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        status: FromQuery[SignupStatus | None] = None,
        limit: Limit = 200,
        offset: Offset = 0,
    ) -> list[SignupOut]:
        return await signups.session_signups(principal, session_id, status=status, limit=limit, offset=offset)


class SignupController(Controller):
    path = "/signups"
    tags = ["报名"]
    security = BEARER

    @post(
        "/{signup_id:uuid}/decision",
        guards=[org_admin],
        summary="审核报名（录用或不录用）",
        description="录用以时段名额为限，名额已满时转入候补；不录用须填写原因。",
        responses=errors(FORBIDDEN, OUT_OF_SCOPE, SIGNUP_NOT_FOUND, REASON_REQUIRED, SIGNUP_NOT_PENDING),
    )
    async def decide(
        self, signup_id: FromPath[uuid.UUID], data: JSONBody[Decision], principal: CurrentPrincipal, now: Now
    ) -> SignupOut:
        return await signups.decide_signup(
            principal, signup_id, approve=data.approve, reason=data.reason, now=now
        )

    @post(
        "/{signup_id:uuid}/cancel",
        guards=[signed_in],
        summary="取消我的报名",
        description="时段开始前的取消截止时间之前可取消；已录用者取消后，名额依次递补给候补者。",
        responses=errors(VOLUNTEER_NOT_REGISTERED, SIGNUP_NOT_FOUND, CANCEL_TOO_LATE, SIGNUP_NOT_PENDING),
    )
    async def cancel(
        self, signup_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> MySignupOut:
        return await signups.cancel_signup(principal, signup_id, now)


class MySignupController(Controller):
    path = "/volunteers/me/signups"
    tags = ["报名"]
    security = BEARER

    @get("/", guards=[signed_in], summary="我的报名", responses=errors(VOLUNTEER_NOT_REGISTERED))
    async def mine(
        self,
        principal: CurrentPrincipal,
        status: FromQuery[SignupStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[MySignupOut]:
        return await signups.my_signups(principal, status=status, limit=limit, offset=offset)
