"""Request and response bodies of check-in: codes, scans, and the service records they become."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.tables import ScanKind

Nonce = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="客户端生成的扫码编号，重传时保持不变",
    ),
]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]


class ScanIn(msgspec.Struct, forbid_unknown_fields=True):
    nonce: Nonce
    code: Annotated[str, Meta(min_length=1, max_length=64)]
    kind: ScanKind
    device_time: Annotated[datetime | None, Meta(description="设备扫码时间；离线上传时必填")] = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    device_id: Annotated[str, Meta(max_length=64)] | None = None
    session_id: Annotated[uuid.UUID | None, Meta(description="小程序从活动页进入时所在的时段")] = None


class OrganizerScanIn(msgspec.Struct, forbid_unknown_fields=True):
    nonce: Nonce
    code: Annotated[str, Meta(min_length=1, max_length=64, description="志愿者个人码或志愿服务卡上的码")]
    kind: ScanKind
    device_time: datetime | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    device_id: Annotated[str, Meta(max_length=64)] | None = None


class OfflineBatch(msgspec.Struct, forbid_unknown_fields=True):
    scans: Annotated[list[OrganizerScanIn], Meta(min_length=1, max_length=500, description="每批最多500条")]


class ScanOut(msgspec.Struct):
    scan_id: uuid.UUID
    nonce: str
    accepted: bool
    kind: ScanKind
    session_id: uuid.UUID | None
    volunteer_id: uuid.UUID | None
    effective_time: datetime
    flags: list[str]
    replayed: Annotated[bool, Meta(description="重复上传：返回首次结果，未写入新记录")]
    code: Annotated[str | None, Meta(description="拒绝原因的错误码；接受时为空")] = None
    message: str | None = None


class CodeOut(msgspec.Struct):
    code: Annotated[str, Meta(description="二维码内容（≤32字符，可作为小程序码 scene）")]
    expires_in: Annotated[int, Meta(description="距下次刷新的秒数")]


class CardOut(msgspec.Struct):
    volunteer_id: uuid.UUID
    code: str
    version: int


class RecordOut(msgspec.Struct):
    id: uuid.UUID
    session_id: uuid.UUID | None
    activity_name: str
    organization_id: uuid.UUID
    service_date: date
    place: str
    started_at: datetime
    ended_at: datetime
    credited_minutes: Annotated[int, Meta(description="认定时长（分钟），由服务器根据签到签退计算")]
    hours: Annotated[str, Meta(description="认定时长（小时，保留一位小数）")]
    source: str
    status: str
    verified: Annotated[bool, Meta(description="扫码记录为已核验时长（信用时长）；补录为荣誉时长")]
    flags: list[str]


class ServiceSummary(msgspec.Struct):
    total_minutes: Annotated[int, Meta(description="全部记录的认定时长（分钟），不含已驳回")]
    total_hours: str
    audited_minutes: Annotated[int, Meta(description="已审核时长：只有这部分计入星级、证明和积分")]
    audited_hours: str
    audited_verified_minutes: Annotated[int, Meta(description="已审核的扫码时长（信用时长）")]
    audited_manual_minutes: Annotated[int, Meta(description="已审核的补录及更正时长（荣誉时长）")]
    pending_minutes: int
    records: int
    sessions_attended: int
