"""Request and response bodies of manual entries (补录) and notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from volunteer.schemas import Reason

Evidence = Annotated[
    str, Meta(max_length=500, description="佐证材料的文件地址，如 oss://bucket/photo1.jpg 或 https://…")
]


class ManualEntryIn(msgspec.Struct, forbid_unknown_fields=True):
    session_id: uuid.UUID
    volunteer_id: uuid.UUID
    started_at: Annotated[datetime, Meta(tz=True, description="须在活动时段内")]
    ended_at: Annotated[datetime, Meta(tz=True, description="须晚于开始时间，且在活动时段内")]
    reason: Annotated[Reason, Meta(description="补录原因（如未扫码签到）")]
    evidence: Annotated[
        list[Evidence], Meta(max_length=20, description="佐证材料（活动照片、签到表等），至少一份")
    ] = []
    content: Annotated[str, Meta(max_length=2000, description="服务内容；默认取项目简介")] | None = None
    late_reason: Annotated[Reason, Meta(description="超过10个工作日记录期限时必填：逾期原因")] | None = None


class ManualRejectIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class ManualRecordOut(msgspec.Struct):
    id: uuid.UUID
    volunteer_id: uuid.UUID
    organization_id: uuid.UUID
    session_id: uuid.UUID | None
    started_at: datetime
    ended_at: datetime
    credited_minutes: int
    status: Annotated[
        str,
        Meta(
            description=(
                "awaiting_approval 待第二人审批；pending 已审批待组织确认；rejected 已驳回；此后同普通记录"
            )
        ),
    ]
    verified: Annotated[bool, Meta(description="补录始终为 false（荣誉时长）")]
    evidence: list[str]
    reason: str | None
    late_reason: str | None
    status_reason: str | None
    recorder: Annotated[uuid.UUID | None, Meta(description="录入人账号")]
    approved_by: Annotated[uuid.UUID | None, Meta(description="审批人账号（不能是录入人）")]


class NotificationOut(msgspec.Struct):
    id: uuid.UUID
    kind: Annotated[
        str,
        Meta(
            examples=["record.deadline_remind", "record.deadline_escalate", "record.manual_awaiting_approval"]
        ),
    ]
    title: str
    body: str
    detail: dict[str, Any]
    organization_id: Annotated[uuid.UUID | None, Meta(description="发给该组织管理员时为组织 id")]
    created_at: datetime
    read_at: Annotated[datetime | None, Meta(description="首次阅读时间；组织或辖区内任一人阅读即为已读")]
