"""The audit log for auditors: its entries in their jurisdiction, and a check of the whole hash chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter
from msgspec import Meta

from errors import FORBIDDEN
from volunteer import audit_log
from volunteer.api.deps import CurrentPrincipal
from volunteer.api.security import BEARER, errors, has_role
from volunteer.audit_log import BreakReason, ChainReport, Entry
from volunteer.tables import Role

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]
Hash = Annotated[str, Meta(description="SHA-256，十六进制")]


class AuditEntryOut(msgspec.Struct):
    id: uuid.UUID
    seq: Annotated[int, Meta(description="在哈希链中的序号，从 1 起连续")]
    at: datetime
    actor: Annotated[uuid.UUID | None, Meta(description="操作账号；为空表示系统自动操作")]
    action: Annotated[str, Meta(examples=["record.confirm", "certificate.issue"])]
    subject_type: str
    subject_id: str
    region_path: str | None
    detail: dict[str, Any]
    prev_hash: Hash
    hash: Hash


class BrokenOut(msgspec.Struct):
    seq: int
    id: uuid.UUID
    reason: Annotated[
        BreakReason,
        Meta(description="hash_mismatch 条目被改动；broken_link 上一条被改写；missing_seq 此前有条目被删除"),
    ]


class ChainReportOut(msgspec.Struct):
    ok: bool
    checked: Annotated[int, Meta(description="已核对的条目数")]
    broken: Annotated[BrokenOut | None, Meta(description="第一条被破坏的条目；完整时为空")]
    head_hash: Annotated[str, Meta(description="最后一条完整条目的哈希，可另行留存以发现尾部被截断")]


def entry_out(e: Entry) -> AuditEntryOut:
    return AuditEntryOut(
        e.id,
        e.seq,
        e.at,
        e.actor,
        e.action,
        e.subject_type,
        e.subject_id,
        e.region_path,
        e.detail,
        e.prev_hash,
        e.hash,
    )


def report_out(r: ChainReport) -> ChainReportOut:
    broken = None if r.broken is None else BrokenOut(r.broken.seq, r.broken.id, r.broken.reason)
    return ChainReportOut(r.ok, r.checked, broken, r.head_hash)


class AuditLogController(Controller):
    path = "/audit-log"
    tags = ["审计日志"]
    guards = [has_role(Role.auditor, Role.admin)]
    security = BEARER

    @get(
        "/",
        summary="审计日志（本辖区，最新在前）",
        description="审核员看到其辖区内的条目，平台管理员看到全部；每条附带自身及上一条的哈希。",
        responses=errors(FORBIDDEN),
    )
    async def entries(
        self, principal: CurrentPrincipal, limit: Limit = 50, offset: Offset = 0
    ) -> list[AuditEntryOut]:
        return [entry_out(e) for e in await audit_log.entries_for(principal, limit=limit, offset=offset)]

    @get(
        "/verify",
        summary="核验整条审计日志哈希链",
        description="逐条重算哈希并检查序号与链接，报告第一条被改动、改写或删除的位置。",
        responses=errors(FORBIDDEN),
    )
    async def verify(self) -> ChainReportOut:
        return report_out(await audit_log.verify_chain())
