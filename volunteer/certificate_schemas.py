"""Request and response bodies of certificates (志愿服务记录证明, rule 23)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from volunteer.certificates import Issued
from volunteer.hours import format_hours
from volunteer.tables import CertificateStatus

Hours = Annotated[str, Meta(description="服务时长（小时，保留一位小数，与证明上一致）", examples=["12.5"])]
Number = Annotated[str, Meta(description="证明编号", examples=["ZYZM2026K7QH3MZ9XC"])]


class CertificateIn(msgspec.Struct, forbid_unknown_fields=True):
    period_from: Annotated[date, Meta(description="服务日期起（含）")]
    period_to: Annotated[date, Meta(description="服务日期止（含），不得晚于今天（北京时间）")]
    organization_id: Annotated[uuid.UUID | None, Meta(description="只含该组织记录的服务；缺省为全部组织")] = (
        None
    )


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(max_length=500, description="撤销原因（必填）")] | None = None


class CertificateOut(msgspec.Struct):
    number: Number
    period_from: date
    period_to: date
    organization_id: Annotated[uuid.UUID | None, Meta(description="null：全部组织")]
    minutes: int
    hours: Hours
    record_count: int
    status: Annotated[CertificateStatus, Meta(description="valid 有效；revoked 已撤销")]
    issued_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    pdf_url: Annotated[str, Meta(description="本人下载 PDF 的路径（已撤销的证明不再提供 PDF）")]


class VerificationOut(msgspec.Struct, omit_defaults=True):
    """The public answer of rule 23: number, period, hours and status, nothing about the person."""

    number: Number
    period_from: date
    period_to: date
    hours: Hours
    status: Annotated[CertificateStatus, Meta(description="valid 有效；revoked 已撤销")]
    revoked_at: Annotated[datetime | None, Meta(description="仅已撤销的证明返回")] = None


def certificate_out(c: Issued) -> CertificateOut:
    return CertificateOut(
        number=c.number,
        period_from=c.period_from,
        period_to=c.period_to,
        organization_id=c.organization_id,
        minutes=c.minutes,
        hours=format_hours(c.minutes),
        record_count=c.record_count,
        status=c.status,
        issued_at=c.issued_at,
        revoked_at=c.revoked_at,
        revoke_reason=c.revoke_reason,
        pdf_url=f"/volunteers/me/certificates/{c.number}.pdf",
    )


def verification_out(c: Issued) -> VerificationOut:
    return VerificationOut(
        number=c.number,
        period_from=c.period_from,
        period_to=c.period_to,
        hours=format_hours(c.minutes),
        status=c.status,
        revoked_at=c.revoked_at,
    )
