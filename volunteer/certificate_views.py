"""Reading certificates (rule 23): the volunteer's list and PDF, and the public check by number."""

from __future__ import annotations

import anyio.to_thread

from errors import CERTIFICATE_ALREADY_REVOKED, CERTIFICATE_NOT_FOUND, DomainError
from volunteer.access import Principal
from volunteer.certificate_pdf import CertificateData, RecordingUnit, ServiceLine, render_certificate
from volunteer.certificates import SELECT, Issued, find_one, issued_of, normalize_number
from volunteer.hours import CHINA
from volunteer.identity import mask_id_number
from volunteer.pii import PiiCipher
from volunteer.profiles import volunteer_of
from volunteer.record_rules import RecordRules
from volunteer.tables import Certificate, CertificateStatus


async def mine(actor: Principal) -> list[Issued]:
    volunteer = await volunteer_of(actor.account_id)
    rows = await Certificate.raw(SELECT + "WHERE c.volunteer = {} ORDER BY c.issued_at DESC", volunteer["id"])
    return [issued_of(row) for row in rows]


async def verify(raw_number: str) -> Issued:
    """The public check: callers show only number, period, hours and status (and when it was revoked)."""
    number = normalize_number(raw_number)
    if number is None:
        raise DomainError(CERTIFICATE_NOT_FOUND)
    return await find_one("c.number = {}", number)


async def my_pdf(actor: Principal, pii: PiiCipher, raw_number: str, rules: RecordRules) -> tuple[str, bytes]:
    """The volunteer's own certificate as a PDF (name in full: it is their document); another person's
    number answers CERTIFICATE_NOT_FOUND, so it reveals nothing; a revoked one is refused."""
    volunteer = await volunteer_of(actor.account_id)
    number = normalize_number(raw_number)
    if number is None:
        raise DomainError(CERTIFICATE_NOT_FOUND)
    certificate = await find_one("c.number = {} AND c.volunteer = {}", number, volunteer["id"])
    if certificate.status is CertificateStatus.revoked:
        raise DomainError(CERTIFICATE_ALREADY_REVOKED)
    units = certificate.content.get("units", [])
    data = CertificateData(
        certificate_no=certificate.number,
        volunteer_name=volunteer["name"],
        id_number_masked=mask_id_number(pii.decrypt(volunteer["id_number_enc"], purpose="id_number")),
        volunteer_no=volunteer["volunteer_no"],
        period_start=certificate.period_from,
        period_end=certificate.period_to,
        total_minutes=certificate.minutes,
        lines=tuple(ServiceLine(u["name"], u["content"], int(u["minutes"])) for u in units),
        recording_units=tuple(RecordingUnit(u["name"], u["person_in_charge"], u["phone"]) for u in units),
        issue_date=certificate.issued_at.astimezone(CHINA).date(),
        verify_url=verify_url(rules, certificate.number),
        issuer=str(certificate.content.get("issuer", "")),
    )
    # ~250 ms of CPU: off the event loop.
    return certificate.number, await anyio.to_thread.run_sync(render_certificate, data)


def verify_url(rules: RecordRules, number: str) -> str:
    return f"{rules.public_base_url.rstrip('/')}/public/certificates/{number}"
