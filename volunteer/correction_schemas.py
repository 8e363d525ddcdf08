"""Request and response bodies of corrections, revocations, record versions and correction requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.tables import CorrectionRequestStatus, RecordSource, RecordStatus

Moment = Annotated[datetime, Meta(tz=True, description="带时区的时间（ISO 8601）")]
# Blank text is refused by the service with its own code (REASON_REQUIRED, ANSWER_REQUIRED).
Text500 = Annotated[str, Meta(max_length=500)]
ActivityName = Annotated[str, Meta(min_length=1, max_length=100)]
Place = Annotated[str, Meta(min_length=1, max_length=200)]
Content = Annotated[str, Meta(min_length=1, max_length=2000)]


class CorrectionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[Text500, Meta(description="更正原因（必填）")] = ""
    started_at: Moment | None = None
    ended_at: Moment | None = None
    activity_name: ActivityName | None = None
    place: Place | None = None
    content: Content | None = None


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[Text500, Meta(description="撤销原因（必填）")] = ""


class VersionOut(msgspec.Struct):
    id: uuid.UUID
    version: int
    status: RecordStatus
    source: RecordSource
    verified: Annotated[bool, Meta(description="扫码时间未经改动为 true；手工改动过起止时间为 false")]
    supersedes: Annotated[uuid.UUID | None, Meta(description="本版本更正的上一版本")]
    activity_name: str
    service_date: date
    place: str
    started_at: datetime
    ended_at: datetime
    credited_minutes: int
    reason: Annotated[str | None, Meta(description="本版本产生的原因（更正原因、补录说明）")]
    status_reason: Annotated[str | None, Meta(description="驳回或撤销的原因")]
    recorder_id: Annotated[uuid.UUID | None, Meta(description="录入人账号；系统结算的记录为空")]
    created_at: datetime


class CorrectionRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    message: Annotated[str, Meta(max_length=1000, description="需要更正的内容和理由（必填）")] = ""
    proposed_started_at: Moment | None = None
    proposed_ended_at: Moment | None = None


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    accept: Annotated[bool, Meta(description="true 同意并更正记录；false 不同意")]
    answer: Annotated[Text500, Meta(description="答复意见（必填）；同意时即更正原因")] = ""
    started_at: Annotated[Moment | None, Meta(description="同意时的开始时间；不填则采用申请中提出的时间")] = (
        None
    )
    ended_at: Annotated[Moment | None, Meta(description="同意时的结束时间；不填则采用申请中提出的时间")] = (
        None
    )
    activity_name: ActivityName | None = None
    place: Place | None = None
    content: Content | None = None


class CorrectionRequestOut(msgspec.Struct):
    id: uuid.UUID
    record_id: uuid.UUID
    volunteer_id: uuid.UUID
    organization_id: uuid.UUID
    activity_name: str
    service_date: date
    message: str
    proposed_started_at: datetime | None
    proposed_ended_at: datetime | None
    status: Annotated[
        CorrectionRequestStatus, Meta(description="open 待答复；accepted 已同意并更正；declined 不同意")
    ]
    answer: str | None
    answered_by: uuid.UUID | None
    answered_at: datetime | None
    correction_id: Annotated[uuid.UUID | None, Meta(description="同意后产生的新版本记录")]
    created_at: datetime
