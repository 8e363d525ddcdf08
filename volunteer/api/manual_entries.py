"""Manual entries (补录, rule 19): entered by one person, approved or rejected by another."""

from __future__ import annotations

import uuid

from litestar import Controller, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

import errors
from volunteer import manual_entries
from volunteer.api.deps import CurrentPrincipal, Now, Rules
from volunteer.api.security import BEARER, has_role
from volunteer.api.security import errors as documented
from volunteer.manual_schemas import ManualEntryIn, ManualRecordOut, ManualRejectIn
from volunteer.tables import Role

staff = has_role(Role.org_admin, Role.auditor)
_DECIDE_ERRORS = (
    errors.FORBIDDEN,
    errors.OUT_OF_SCOPE,
    errors.RECORD_NOT_FOUND,
    errors.MANUAL_NOT_AWAITING_APPROVAL,
    errors.SECOND_APPROVER_REQUIRED,
)


class ManualEntryController(Controller):
    path = "/records/manual"
    tags = ["服务记录审核"]
    security = BEARER

    @post(
        "/",
        guards=[staff],
        status_code=HTTP_201_CREATED,
        summary="补录服务记录",
        description=(
            "举办该活动时段的组织的管理员（或辖区审核员）为已报名通过的志愿者补录服务时长：须附佐证材料和补录原因，"
            "时间须在活动时段内。补录记录为未核验时长（verified=false），状态为待审批（awaiting_approval），"
            "须由录入人以外的另一位管理员或审核员审批后才进入确认、审核流程。"
            "活动结束已超过10个工作日的，须填写逾期原因，并由审核员审批。"
        ),
        responses=documented(
            errors.FORBIDDEN,
            errors.OUT_OF_SCOPE,
            errors.SESSION_NOT_FOUND,
            errors.REASON_REQUIRED,
            errors.EVIDENCE_REQUIRED,
            errors.TIME_RANGE_INVALID,
            errors.MANUAL_SESSION_NOT_ENDED,
            errors.MANUAL_EXCEEDS_SESSION,
            errors.MANUAL_NOT_SIGNED_UP,
            errors.LATE_ENTRY_NEEDS_REASON,
            errors.RECORD_EXISTS,
        ),
    )
    async def enter(
        self, data: JSONBody[ManualEntryIn], principal: CurrentPrincipal, rules: Rules, now: Now
    ) -> ManualRecordOut:
        return await manual_entries.enter(principal, data, rules, now)

    @post(
        "/{record_id:uuid}/approve",
        guards=[staff],
        status_code=HTTP_200_OK,
        summary="审批补录（第二审批人）",
        description=(
            "本组织管理员或辖区审核员审批补录，审批人不能是录入人（即使同时持有两种角色）；"
            "逾期补录只能由审核员审批。审批后记录进入待确认（pending）。"
        ),
        responses=documented(*_DECIDE_ERRORS, errors.LATE_ENTRY_NEEDS_AUDITOR),
    )
    async def approve(
        self, record_id: FromPath[uuid.UUID], principal: CurrentPrincipal, now: Now
    ) -> ManualRecordOut:
        return await manual_entries.approve(principal, record_id, now)

    @post(
        "/{record_id:uuid}/reject",
        guards=[staff],
        status_code=HTTP_200_OK,
        summary="驳回补录",
        description="本组织管理员或辖区审核员驳回补录，须填写原因；驳回人不能是录入人。",
        responses=documented(*_DECIDE_ERRORS, errors.REASON_REQUIRED),
    )
    async def reject(
        self,
        record_id: FromPath[uuid.UUID],
        data: JSONBody[ManualRejectIn],
        principal: CurrentPrincipal,
        now: Now,
    ) -> ManualRecordOut:
        return await manual_entries.reject(principal, record_id, data.reason, now)
