"""Certificates (志愿服务记录证明, rule 23): the volunteer issues and downloads, anyone verifies, an auditor
revokes."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK

import errors
from volunteer import certificate_views, certificates
from volunteer.api.deps import CurrentPrincipal, Now, Pii, Rules, Today
from volunteer.api.security import BEARER, anyone, has_role, signed_in
from volunteer.api.security import errors as documented
from volunteer.certificate_schemas import (
    CertificateIn,
    CertificateOut,
    RevokeIn,
    VerificationOut,
    certificate_out,
    verification_out,
)
from volunteer.tables import Role

NumberInPath = Annotated[str, PathParameter(max_length=40, description="证明编号，如 ZYZM2026K7QH3MZ9XC")]
FileInPath = Annotated[
    str, PathParameter(max_length=44, description="证明编号加 .pdf，如 ZYZM2026K7QH3MZ9XC.pdf")
]


class CertificateController(Controller):
    path = "/"
    tags = ["志愿服务记录证明"]

    @post(
        "/volunteers/me/certificates",
        guards=[signed_in],
        security=BEARER,
        summary="申请志愿服务记录证明（免费）",
        description=(
            "按服务日期（含两端）开具：只计本人已审核的服务记录，可限定一个组织（缺省为全部组织）。"
            "证明写明各记录单位的负责人和联系电话、服务内容和时长，并带唯一证明编号。"
        ),
        responses=documented(
            errors.VOLUNTEER_NOT_REGISTERED, errors.PERIOD_INVALID, errors.CERTIFICATE_NO_HOURS
        ),
    )
    async def issue(
        self, data: JSONBody[CertificateIn], principal: CurrentPrincipal, today: Today, now: Now
    ) -> CertificateOut:
        issued = await certificates.issue(
            principal, data.period_from, data.period_to, data.organization_id, today=today, now=now
        )
        return certificate_out(issued)

    @get(
        "/volunteers/me/certificates",
        guards=[signed_in],
        security=BEARER,
        summary="我的志愿服务记录证明",
        description="本人开具过的证明，新的在前，含已撤销的（及撤销原因）。",
        responses=documented(errors.VOLUNTEER_NOT_REGISTERED),
    )
    async def mine(self, principal: CurrentPrincipal) -> list[CertificateOut]:
        return [certificate_out(c) for c in await certificate_views.mine(principal)]

    @get(
        "/volunteers/me/certificates/{file:str}",
        guards=[signed_in],
        security=BEARER,
        summary="下载志愿服务记录证明（PDF）",
        description=(
            "本人的证明，中文 PDF（字体随文件嵌入），含姓名、脱敏证件号码、志愿者编号、时长、服务内容、"
            "记录单位及负责人和联系电话、证明编号、出具日期和验证二维码。他人的证明编号返回 "
            "CERTIFICATE_NOT_FOUND；已撤销的证明不再提供 PDF（CERTIFICATE_ALREADY_REVOKED），"
            "其状态可公开查验。"
        ),
        media_type="application/pdf",
        responses=documented(
            errors.VOLUNTEER_NOT_REGISTERED, errors.CERTIFICATE_NOT_FOUND, errors.CERTIFICATE_ALREADY_REVOKED
        ),
    )
    async def pdf(
        self, file: FileInPath, principal: CurrentPrincipal, pii: Pii, rules: Rules
    ) -> Response[bytes]:
        number = file.removesuffix(".pdf") if file.endswith(".pdf") else ""
        number, content = await certificate_views.my_pdf(principal, pii, number, rules)
        return Response(
            content,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{number}.pdf"',
                "Cache-Control": "no-store",  # it carries the person's name
            },
        )

    @get(
        "/public/certificates/{number:str}",
        guards=[anyone],
        security=[],
        summary="查验志愿服务记录证明（公开）",
        description=(
            "任何人凭证明编号或扫描证明上的二维码查验，无需登录。只返回证明编号、服务期间、时长和状态"
            "（已撤销的另返回撤销时间），不含任何个人信息。"
        ),
        responses=documented(errors.CERTIFICATE_NOT_FOUND, auth=False),
    )
    async def verify(self, number: NumberInPath) -> VerificationOut:
        return verification_out(await certificate_views.verify(number))

    @post(
        "/certificates/{number:str}/revoke",
        guards=[has_role(Role.auditor, Role.admin)],
        security=BEARER,
        status_code=HTTP_200_OK,
        summary="撤销志愿服务记录证明",
        description=(
            "须填写原因。审核员可撤销志愿者注册区划或证明所含任一记录单位所在区划在其辖区内的证明；"
            "平台管理员可撤销任何证明。撤销后公开查验显示已撤销。记入审计日志。"
        ),
        responses=documented(
            errors.FORBIDDEN,
            errors.OUT_OF_SCOPE,
            errors.REASON_REQUIRED,
            errors.CERTIFICATE_NOT_FOUND,
            errors.CERTIFICATE_ALREADY_REVOKED,
        ),
    )
    async def revoke(
        self, number: NumberInPath, data: JSONBody[RevokeIn], principal: CurrentPrincipal, now: Now
    ) -> CertificateOut:
        return certificate_out(await certificates.revoke(principal, number, data.reason, now))
