"""Check-in: showing codes, and scans in both directions, online and offline."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

import errors
from volunteer import code_display, my_service, scans
from volunteer.api.deps import CurrentPrincipal, Now, QrImages, ScanRules
from volunteer.api.security import BEARER, has_role, signed_in
from volunteer.api.security import errors as documented
from volunteer.checkin import ScanInput
from volunteer.checkin_schemas import (
    CardOut,
    CodeOut,
    OfflineBatch,
    OrganizerScanIn,
    RecordOut,
    ScanIn,
    ScanOut,
    ServiceSummary,
)
from volunteer.scan_store import Outcome
from volunteer.tables import Role

SCAN_REFUSALS = (
    errors.CODE_INVALID,
    errors.CODE_EXPIRED,
    errors.CODE_WRONG_SESSION,
    errors.CODE_REPLAYED,
    errors.NOT_SIGNED_UP,
    errors.CHECKIN_OUTSIDE_WINDOW,
    errors.ALREADY_CHECKED_IN,
    errors.CHECKOUT_BEFORE_CHECKIN,
    errors.ALREADY_CHECKED_OUT,
    errors.OUTSIDE_GEOFENCE,
    errors.VOLUNTEER_SUSPENDED,
    errors.DEVICE_CLOCK_SKEWED,
    errors.SCAN_RATE_LIMITED,
    errors.SESSION_FULL,
    errors.NONCE_REUSED,
)
org_admin = has_role(Role.org_admin)
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0)]
PNG, SVG = "image/png", "image/svg+xml"


def scan_out(outcome: Outcome) -> ScanOut:
    return ScanOut(
        scan_id=outcome.scan_id,
        nonce=outcome.nonce,
        accepted=outcome.accepted,
        kind=outcome.kind,
        session_id=outcome.session_id,
        volunteer_id=outcome.volunteer_id,
        effective_time=outcome.effective_time,
        flags=outcome.flags,
        replayed=outcome.replayed,
        code=outcome.refusal.code if outcome.refusal else None,
        message=outcome.refusal.message if outcome.refusal else None,
    )


def scan_input(body: ScanIn | OrganizerScanIn) -> ScanInput:
    return ScanInput(
        nonce=body.nonce,
        code=body.code,
        kind=body.kind,
        device_time=body.device_time,
        latitude=body.latitude,
        longitude=body.longitude,
        device_id=body.device_id,
        session_id=getattr(body, "session_id", None),
    )


class CheckinController(Controller):
    tags = ["扫码签到"]
    security = BEARER

    @post(
        "/scans",
        guards=[signed_in],
        opt={"token_only": True},
        summary="志愿者扫描活动签到码（签到或签退）",
        description=(
            "服务器记录每一次扫码（包括被拒绝的）。同一 nonce 重传返回首次结果且不重复记录；"
            "同一 nonce 但内容不同返回 409 NONCE_REUSED。"
        ),
        responses=documented(errors.SCAN_NOT_REGISTERED, *SCAN_REFUSALS),
    )
    async def volunteer_scan(
        self, data: JSONBody[ScanIn], principal: CurrentPrincipal, scanner: ScanRules, now: Now
    ) -> ScanOut:
        outcome = await scans.volunteer_scan(scanner, principal, scan_input(data), now)
        return scan_out(scans.raise_if_refused(outcome))

    @post(
        "/sessions/{session_id:uuid}/scans",
        guards=[org_admin],
        summary="组织方扫描志愿者个人码或志愿服务卡",
        responses=documented(
            errors.OUT_OF_SCOPE, errors.SESSION_NOT_FOUND, errors.CARD_REVOKED, *SCAN_REFUSALS
        ),
    )
    async def organizer_scan(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[OrganizerScanIn],
        principal: CurrentPrincipal,
        scanner: ScanRules,
        now: Now,
    ) -> ScanOut:
        await scans.require_organizer(principal, session_id)
        outcome = await scans.organizer_scan(
            scanner, principal, session_id, scan_input(data), now, offline=False
        )
        return scan_out(scans.raise_if_refused(outcome))

    @post(
        "/sessions/{session_id:uuid}/scans/offline",
        guards=[org_admin],
        status_code=HTTP_200_OK,
        summary="上传组织方设备离线扫码记录",
        description="按扫码时间先后处理；每条返回结果（含拒绝原因）。整批重传不会重复记录。",
        responses=documented(errors.OUT_OF_SCOPE, errors.SESSION_NOT_FOUND, errors.NONCE_REUSED),
    )
    async def offline_upload(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[OfflineBatch],
        principal: CurrentPrincipal,
        scanner: ScanRules,
        now: Now,
    ) -> list[ScanOut]:
        batch = [scan_input(s) for s in data.scans]
        return [scan_out(o) for o in await scans.upload_offline(scanner, principal, session_id, batch, now)]

    @get(
        "/sessions/{session_id:uuid}/code",
        guards=[org_admin],
        summary="活动签到码（每30秒刷新）",
        responses=documented(errors.OUT_OF_SCOPE, errors.SESSION_NOT_FOUND),
    )
    async def session_code(
        self, session_id: FromPath[uuid.UUID], principal: CurrentPrincipal, scanner: ScanRules, now: Now
    ) -> CodeOut:
        code, left = await code_display.session_code(principal, scanner.signer, session_id, now)
        return CodeOut(code, left)

    @get(
        "/sessions/{session_id:uuid}/code.png",
        guards=[org_admin],
        media_type=PNG,
        summary="活动签到码图片（PNG）",
        description="同一时间窗内只生成一次图片；响应头 X-Expires-In 为距下次刷新的秒数。",
        responses=documented(errors.OUT_OF_SCOPE, errors.SESSION_NOT_FOUND),
    )
    async def session_code_png(
        self,
        session_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        scanner: ScanRules,
        qr: QrImages,
        now: Now,
    ) -> Response[bytes]:
        code, left = await code_display.session_code(principal, scanner.signer, session_id, now)
        return _image(qr.png(code), PNG, left)

    @get(
        "/sessions/{session_id:uuid}/code.svg",
        guards=[org_admin],
        media_type=SVG,
        summary="活动签到码图片（SVG）",
        responses=documented(errors.OUT_OF_SCOPE, errors.SESSION_NOT_FOUND),
    )
    async def session_code_svg(
        self,
        session_id: FromPath[uuid.UUID],
        principal: CurrentPrincipal,
        scanner: ScanRules,
        qr: QrImages,
        now: Now,
    ) -> Response[bytes]:
        code, left = await code_display.session_code(principal, scanner.signer, session_id, now)
        return _image(qr.svg(code), SVG, left)

    @get(
        "/volunteers/me/code",
        guards=[signed_in],
        summary="我的个人签到码（每30秒刷新）",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def personal_code(self, principal: CurrentPrincipal, scanner: ScanRules, now: Now) -> CodeOut:
        code, left = await code_display.personal_code(principal, scanner.signer, now)
        return CodeOut(code, left)

    @get(
        "/volunteers/me/records",
        guards=[signed_in],
        summary="我的服务记录",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def my_records(
        self, principal: CurrentPrincipal, limit: Limit = 50, offset: Offset = 0
    ) -> list[RecordOut]:
        return await my_service.my_records(principal, limit=limit, offset=offset)

    @get(
        "/volunteers/me/service",
        guards=[signed_in],
        summary="我的服务时长汇总",
        description="只有已审核的时长计入星级、证明和积分。",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def my_summary(self, principal: CurrentPrincipal) -> ServiceSummary:
        return await my_service.my_summary(principal)

    @post(
        "/volunteers/{volunteer_id:uuid}/card",
        guards=[org_admin],
        summary="制发（或补办）志愿服务卡",
        description="新卡制发后旧卡立即作废。卡上的码只能由组织方设备在活动现场扫描。",
        responses=documented(errors.VOLUNTEER_NOT_FOUND),
    )
    async def issue_card(
        self, volunteer_id: FromPath[uuid.UUID], principal: CurrentPrincipal, scanner: ScanRules
    ) -> CardOut:
        version, code = await code_display.issue_card(principal, scanner.signer, volunteer_id)
        return CardOut(volunteer_id, code, version)

    @post(
        "/volunteers/{volunteer_id:uuid}/card/revoke",
        guards=[org_admin],
        status_code=HTTP_204_NO_CONTENT,
        summary="挂失志愿服务卡",
        responses=documented(errors.VOLUNTEER_NOT_FOUND),
    )
    async def revoke_card(self, volunteer_id: FromPath[uuid.UUID], principal: CurrentPrincipal) -> None:
        await code_display.revoke_card(principal, volunteer_id)


def _image(body: bytes, media_type: str, seconds_left: int) -> Response[bytes]:
    # The code rotates: no cache may keep it past its window.
    headers = {"Cache-Control": "no-store", "X-Expires-In": str(seconds_left)}
    return Response(body, media_type=media_type, headers=headers)
