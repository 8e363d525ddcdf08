"""Service records after settlement: the organization confirms, the auditor reviews and decides (rule 20)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

import errors
from volunteer import anomalies, audit_queue, records
from volunteer.api.deps import CurrentPrincipal, Now, Rules
from volunteer.api.security import BEARER, has_role
from volunteer.api.security import errors as documented
from volunteer.audit_queue import QueueFilter
from volunteer.record_schemas import AuditIn, ConfirmIn, DecisionOut, OrgAnomalyCount, QueueRowOut, SkippedOut
from volunteer.tables import Role

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]
auditor = has_role(Role.auditor)


def decision_out(outcome: records.Outcome) -> DecisionOut:
    return DecisionOut(outcome.done, [SkippedOut(s.record_id, s.reason) for s in outcome.skipped])


class RecordController(Controller):
    path = "/records"
    tags = ["服务记录审核"]
    security = BEARER

    @post(
        "/confirm",
        guards=[has_role(Role.org_admin, Role.auditor)],
        status_code=HTTP_200_OK,
        summary="组织确认服务记录（批量）",
        description=(
            "记录组织的管理员将待确认记录确认。志愿者当日（北京时间）累计认定时长不超过8小时由本组织确认；"
            "超过8小时至12小时须上级组织管理员确认；超过12小时须审核员确认。"
            "不能确认的记录列入 skipped 并说明原因（其他组织的记录为 not_your_organization）。"
            "活动结束超过10个工作日（按法定节假日和调休计）的记录须填写 late_reason，"
            "否则为 late_needs_reason；逾期确认的记录由审核员审核时一并审批。"
        ),
        responses=documented(errors.FORBIDDEN),
    )
    async def confirm(
        self, data: JSONBody[ConfirmIn], principal: CurrentPrincipal, rules: Rules, now: Now
    ) -> DecisionOut:
        outcome = await records.confirm(
            principal, data.record_ids, now, rules=rules, late_reason=data.late_reason
        )
        return decision_out(outcome)

    @get(
        "/audit-queue",
        guards=[auditor],
        summary="待审核服务记录（本辖区）",
        description="辖区内各组织已确认、待审核的记录，按服务日期排序；姓名脱敏。",
        responses=documented(errors.FORBIDDEN, errors.REGION_NOT_FOUND),
    )
    async def queue(
        self,
        principal: CurrentPrincipal,
        region_code: Annotated[str | None, QueryParameter(pattern=r"^\d{6}(\d{3}){0,2}$")] = None,
        organization_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        project_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        date_from: Annotated[date | None, QueryParameter(description="服务日期起（含）")] = None,
        date_to: Annotated[date | None, QueryParameter(description="服务日期止（含）")] = None,
        flag: Annotated[str | None, QueryParameter(pattern=r"^[a-z][a-z_]{0,39}$")] = None,
        verified: Annotated[bool | None, QueryParameter(description="true 扫码记录；false 补录")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[QueueRowOut]:
        where = QueueFilter(region_code, organization_id, project_id, date_from, date_to, flag, verified)
        return await audit_queue.audit_queue(principal, where, limit=limit, offset=offset)

    @get(
        "/anomalies",
        guards=[auditor],
        summary="异常统计（按组织）",
        description=(
            "辖区内各组织在服务日期范围内（含两端）未驳回记录的异常条数，以及该期间开始的已结算场次中"
            "报名多却无扫码的场次数；只列出有异常的组织。辖区外的区划返回 OUT_OF_SCOPE。"
        ),
        responses=documented(errors.FORBIDDEN, errors.OUT_OF_SCOPE, errors.REGION_NOT_FOUND),
    )
    async def anomaly_counts(
        self,
        principal: CurrentPrincipal,
        region_code: Annotated[str, QueryParameter(pattern=r"^\d{6}(\d{3}){0,2}$")],
        date_from: Annotated[date, QueryParameter(description="服务日期起（含）")],
        date_to: Annotated[date, QueryParameter(description="服务日期止（含）")],
    ) -> list[OrgAnomalyCount]:
        return await anomalies.organization_counts(principal, region_code, date_from, date_to)

    @post(
        "/audit",
        guards=[auditor],
        status_code=HTTP_200_OK,
        summary="审核服务记录（批量通过或驳回）",
        description=(
            "只有已确认的记录可以审核；通过后时长计入星级、证明和积分，驳回须填写原因。"
            "辖区外的记录列入 skipped（out_of_scope）。每项操作记入审计日志。"
        ),
        responses=documented(errors.FORBIDDEN, errors.REASON_REQUIRED),
    )
    async def audit(
        self, data: JSONBody[AuditIn], principal: CurrentPrincipal, rules: Rules, now: Now
    ) -> DecisionOut:
        outcome = await records.audit(
            principal, data.record_ids, approve=data.approve, reason=data.reason, rules=rules, now=now
        )
        return decision_out(outcome)
