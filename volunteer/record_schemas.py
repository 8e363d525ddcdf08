"""Request and response bodies of record confirmation, the auditor's queue and audit decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.records import SkipReason
from volunteer.schemas import Reason

RecordIds = Annotated[
    list[uuid.UUID], Meta(min_length=1, max_length=200, description="服务记录 id，一次最多 200 条")
]


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    record_ids: RecordIds
    late_reason: (
        Annotated[Reason, Meta(description="活动结束已超过10个工作日的记录须填写逾期原因，之后由审核员审核")]
        | None
    ) = None


class AuditIn(msgspec.Struct, forbid_unknown_fields=True):
    record_ids: RecordIds
    approve: Annotated[bool, Meta(description="true 审核通过；false 驳回（须填写原因）")]
    reason: Reason | None = None


class SkippedOut(msgspec.Struct):
    record_id: uuid.UUID
    reason: Annotated[
        SkipReason,
        Meta(
            description=(
                "not_found 记录不存在；not_pending 记录已不是待确认；not_your_organization 非本组织记录；"
                "needs_parent_org 当日超过8小时，须上级组织确认；needs_auditor 当日超过12小时，须审核员确认；"
                "not_confirmed 记录不是已确认状态（未确认或已审核/驳回）；out_of_scope 超出审核辖区；"
                "late_needs_reason 已超过10个工作日的记录期限，须填写逾期原因"
            )
        ),
    ]


class DecisionOut(msgspec.Struct):
    done: Annotated[list[uuid.UUID], Meta(description="本次状态已变更的记录")]
    skipped: list[SkippedOut]


class QueueRowOut(msgspec.Struct):
    id: uuid.UUID
    volunteer_id: uuid.UUID
    volunteer_name: Annotated[str, Meta(description="脱敏姓名")]
    volunteer_no: str
    organization_id: uuid.UUID
    organization_name: str
    project_id: uuid.UUID
    activity_name: str
    service_date: date
    started_at: datetime
    ended_at: datetime
    credited_minutes: int
    source: str
    verified: Annotated[bool, Meta(description="扫码记录为已核验时长（信用时长）；补录为荣誉时长")]
    flags: list[str]
    anomalies: Annotated[
        list[str],
        Meta(
            description=(
                "跨记录计算的异常（不同于记录自身的 flags）：overlapping_sessions 时间重叠；"
                "over_24h_day 当日合计超过24小时；manual_burst 集中补录；identical_coordinates 坐标完全相同；"
                "device_far_from_site 同一设备远离项目地点代多人签到"
            )
        ),
    ]
    version: Annotated[int, Meta(description="记录版本：更正产生新版本，从 1 起")]
    late_reason: Annotated[str | None, Meta(description="超过10个工作日录入或确认的理由；按期的为 null")]
    evidence: Annotated[list[str], Meta(description="补录的证明材料（文件引用）；扫码记录为空")]


class OrgAnomalyCount(msgspec.Struct):
    organization_id: uuid.UUID
    organization_name: str
    overlapping_sessions: Annotated[int, Meta(description="与本人其他未驳回记录时间重叠的记录数")]
    over_24h_day: Annotated[
        int, Meta(description="本人同一服务日期（北京时间）认定时长合计超过24小时的记录数")
    ]
    signups_without_scans: Annotated[
        int, Meta(description="已结算、报名（通过或缺席）≥10人却无一次有效扫码的场次数")
    ]
    manual_burst: Annotated[int, Meta(description="同一录入人1小时内为本组织补录≥20条，其中的补录记录数")]
    identical_coordinates: Annotated[
        int, Meta(description="同一场次≥10次有效扫码坐标完全相同，其中扫码对应的记录数")
    ]
    device_far_from_site: Annotated[
        int, Meta(description="同一设备在同一场次离项目地点超过1公里为≥10名志愿者签到，对应的记录数")
    ]
