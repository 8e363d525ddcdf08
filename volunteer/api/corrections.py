"""Rule 18: corrections as new versions, revocation of audited minutes, volunteers' correction requests."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

import errors
from volunteer import correction_requests, corrections
from volunteer.api.deps import CurrentPrincipal, Now, Rules
from volunteer.api.security import BEARER, has_role, signed_in
from volunteer.api.security import errors as documented
from volunteer.correction_schemas import (
    AnswerIn,
    CorrectionIn,
    CorrectionRequestIn,
    CorrectionRequestOut,
    RevokeIn,
    VersionOut,
)
from volunteer.corrections import Changes
from volunteer.tables import CorrectionRequestStatus, Role

CORRECTION_ERRORS = (
    errors.CORRECTION_NO_CHANGE,
    errors.TIME_RANGE_INVALID,
    errors.RECORD_NOT_CORRECTABLE,
    errors.RECORD_CHANGED,
)


class CorrectionController(Controller):
    path = "/records"
    tags = ["服务记录更正"]
    security = BEARER

    @post(
        "/{record_id:uuid}/corrections",
        guards=[has_role(Role.org_admin, Role.auditor)],
        summary="更正服务记录（生成新版本）",
        description=(
            "记录不在原处修改：原版本标记为已被更正（superseded），新版本指向原版本，记录原因、操作人和时间，"
            "并须重新确认和审核。改动起止时间后按新时间重算时长（不超过活动时段），且不再算作扫码核验时长。"
            "原版本已审核的，其时长随即退出已审核时长，计入该记录的证明被撤销，星级随之调整。"
            "限记录组织的管理员或其所在辖区的审核员；其他人返回 OUT_OF_SCOPE。"
        ),
        responses=documented(
            errors.FORBIDDEN,
            errors.OUT_OF_SCOPE,
            errors.RECORD_NOT_FOUND,
            errors.REASON_REQUIRED,
            *CORRECTION_ERRORS,
        ),
    )
    async def correct(
        self,
        record_id: FromPath[uuid.UUID],
        data: JSONBody[CorrectionIn],
        principal: CurrentPrincipal,
        rules: Rules,
        now: Now,
    ) -> VersionOut:
        changes = Changes(data.started_at, data.ended_at, data.activity_name, data.place, data.content)
        return await corrections.correct(principal, record_id, changes, data.reason, rules, now)

    @post(
        "/{record_id:uuid}/revoke",
        guards=[has_role(Role.auditor)],
        status_code=HTTP_200_OK,
        summary="撤销已审核的服务记录",
        description=(
            "辖区审核员撤销已审核记录（须填写原因）：时长退出已审核时长，计入该记录的证明被撤销，星级随之调整。"
            "只有已审核的记录可以撤销。"
        ),
        responses=documented(
            errors.FORBIDDEN,
            errors.OUT_OF_SCOPE,
            errors.RECORD_NOT_FOUND,
            errors.REASON_REQUIRED,
            errors.RECORD_NOT_REVOCABLE,
        ),
    )
    async def revoke(
        self,
        record_id: FromPath[uuid.UUID],
        data: JSONBody[RevokeIn],
        principal: CurrentPrincipal,
        rules: Rules,
        now: Now,
    ) -> VersionOut:
        return await corrections.revoke(principal, record_id, data.reason, rules, now)

    @get(
        "/{record_id:uuid}/versions",
        guards=[signed_in],
        summary="服务记录的全部版本",
        description=(
            "该记录所在的整条更正链，按版本从旧到新。志愿者本人、记录组织的管理员和辖区审核员可查看；"
            "其他人返回 FORBIDDEN。"
        ),
        responses=documented(errors.FORBIDDEN, errors.RECORD_NOT_FOUND),
    )
    async def versions(self, record_id: FromPath[uuid.UUID], principal: CurrentPrincipal) -> list[VersionOut]:
        return await corrections.versions(principal, record_id)


class CorrectionRequestController(Controller):
    path = "/"
    tags = ["服务记录更正"]
    security = BEARER

    @post(
        "/volunteers/me/records/{record_id:uuid}/correction-requests",
        guards=[signed_in],
        summary="申请更正我的服务记录",
        description=(
            "志愿者对本人待确认、已确认或已审核的记录提出更正申请，由记录组织答复；每条记录同时只能有一份待答复的申请。"
            "他人的记录返回 RECORD_NOT_FOUND。"
        ),
        responses=documented(
            errors.VOLUNTEER_NOT_REGISTERED,
            errors.RECORD_NOT_FOUND,
            errors.REASON_REQUIRED,
            errors.TIME_RANGE_INVALID,
            errors.RECORD_NOT_CORRECTABLE,
            errors.CORRECTION_REQUEST_OPEN,
        ),
    )
    async def request(
        self,
        record_id: FromPath[uuid.UUID],
        data: JSONBody[CorrectionRequestIn],
        principal: CurrentPrincipal,
        now: Now,
    ) -> CorrectionRequestOut:
        return await correction_requests.request(principal, record_id, data, now)

    @get(
        "/volunteers/me/correction-requests",
        guards=[signed_in],
        summary="我的更正申请",
        description="本人提出的全部更正申请及组织的答复，新的在前。",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def mine(self, principal: CurrentPrincipal) -> list[CorrectionRequestOut]:
        return await correction_requests.mine(principal)

    @get(
        "/organizations/{org_id:uuid}/correction-requests",
        guards=[has_role(Role.org_admin, Role.auditor)],
        summary="本组织收到的更正申请",
        description="组织管理员和辖区审核员可查看，按提出时间从早到晚；status=open 只列待答复的。",
        responses=documented(errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.ORGANIZATION_NOT_FOUND),
    )
    async def for_organization(
        self,
        org_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        status: FromQuery[CorrectionRequestStatus | None] = None,
    ) -> list[CorrectionRequestOut]:
        return await correction_requests.for_organization(principal, org_id, status)

    @post(
        "/correction-requests/{request_id:uuid}/answer",
        guards=[has_role(Role.org_admin)],
        status_code=HTTP_200_OK,
        summary="答复更正申请",
        description=(
            "记录组织的管理员答复（答复意见必填）。同意即更正记录：未填写的起止时间采用申请中提出的时间，"
            "答复意见作为更正原因，新版本记入申请的 correction_id；不同意则记录不变。"
            "申请只能答复一次，不能删除。"
        ),
        responses=documented(
            errors.FORBIDDEN,
            errors.OUT_OF_SCOPE,
            errors.CORRECTION_REQUEST_NOT_FOUND,
            errors.ANSWER_REQUIRED,
            *CORRECTION_ERRORS,
        ),
    )
    async def answer(
        self,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerIn],
        principal: CurrentPrincipal,
        rules: Rules,
        now: Now,
    ) -> CorrectionRequestOut:
        return await correction_requests.answer(principal, request_id, data, rules, now)
