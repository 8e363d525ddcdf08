"""Scans in both directions, online and offline: which code, which volunteer, which session.

The hot path is two statements and no transaction on PostgreSQL (volunteer/scan_store.py); refusals are
stored too, and returned to the caller as errors with their own codes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import errors
from errors import DomainError, ErrorCode
from volunteer.access import Principal
from volunteer.checkin import ScanInput, Scanner
from volunteer.codes import CodeClaims, CodeKind, CodeSigner
from volunteer.db import as_uuid, write_transaction
from volunteer.scan_store import Outcome, read_decide_store, scan_fields
from volunteer.tables import ScanMethod, ServiceSession


async def volunteer_scan(scanner: Scanner, actor: Principal, scan: ScanInput, now: datetime) -> Outcome:
    """The volunteer scans the session's code on the organizer's screen (online)."""
    claims, code_error = _verify(scanner.signer, scan.code, now)
    if claims is not None and claims.kind is CodeKind.PERSONAL:
        claims, code_error = None, errors.CODE_INVALID
    session_seq = claims.subject if claims is not None and claims.kind is CodeKind.SESSION else None
    return await read_decide_store(
        scanner,
        actor,
        scan,
        claims,
        code_error,
        ScanMethod.volunteer_scans_session,
        volunteer_sql=("v.account = {}", actor.account_id),
        session_sql=("s.code_seq = {}", session_seq),
        offline=False,
        now=now,
    )


async def organizer_scan(
    scanner: Scanner,
    actor: Principal,
    session_id: uuid.UUID,
    scan: ScanInput,
    now: datetime,
    *,
    offline: bool,
) -> Outcome:
    """The organizer's device scans a volunteer's personal code or printed card (online or offline)."""
    at = scan.device_time if offline and scan.device_time is not None else now
    claims, code_error = _verify(scanner.signer, scan.code, at)
    if claims is not None and claims.kind is CodeKind.SESSION:
        claims, code_error = None, errors.CODE_INVALID
    method = (
        ScanMethod.organizer_scans_card
        if claims is not None and claims.kind is CodeKind.CARD
        else ScanMethod.organizer_scans_volunteer
    )
    scan = ScanInput(**{**scan_fields(scan), "session_id": session_id})
    return await read_decide_store(
        scanner,
        actor,
        scan,
        claims,
        code_error,
        method,
        volunteer_sql=("v.code_seq = {}", claims.subject if claims is not None else None),
        session_sql=("s.id = {}", session_id),
        offline=offline,
        now=now,
        organizer=True,
    )


async def upload_offline(
    scanner: Scanner, actor: Principal, session_id: uuid.UUID, batch: Sequence[ScanInput], now: datetime
) -> list[Outcome]:
    """A batch from an organizer's device that scanned offline, applied in the order it happened."""
    await require_organizer(actor, session_id)
    ordered = sorted(batch, key=lambda s: (s.device_time or now, s.nonce))
    results: dict[str, Outcome] = {}
    async with write_transaction():
        for scan in ordered:
            try:
                results[scan.nonce] = await organizer_scan(
                    scanner, actor, session_id, scan, now, offline=True
                )
            except DomainError as exc:
                if exc.error is not errors.NONCE_REUSED:
                    raise
                # One bad item is that item's answer, not the batch's: nothing is written for it.
                results[scan.nonce] = Outcome(
                    uuid.uuid4(),
                    scan.nonce,
                    False,
                    errors.NONCE_REUSED,
                    scan.kind,
                    session_id,
                    None,
                    scan.device_time or now,
                )
    return [results[s.nonce] for s in batch]


def raise_if_refused(outcome: Outcome) -> Outcome:
    """A refused scan was stored; the caller still gets the refusal as an error with its own code."""
    if outcome.refusal is not None:
        raise DomainError(outcome.refusal, {"scan_id": str(outcome.scan_id), "nonce": outcome.nonce})
    return outcome


async def require_organizer(actor: Principal, session_id: uuid.UUID) -> None:
    rows = await ServiceSession.raw(
        "SELECT p.organization FROM service_session s JOIN project p ON p.id = s.project WHERE s.id = {}",
        session_id,
    )
    if not rows:
        raise DomainError(errors.SESSION_NOT_FOUND)
    if not actor.administers(as_uuid(rows[0]["organization"])):
        raise DomainError(errors.OUT_OF_SCOPE)


def _verify(signer: CodeSigner, code: str, at: datetime) -> tuple[CodeClaims | None, ErrorCode | None]:
    try:
        return signer.verify(code, at), None
    except DomainError as exc:
        # An expired code still names its subject: the refusal is stored against the right session.
        return _claims_ignoring_time(signer, code, at), exc.error


def _claims_ignoring_time(signer: CodeSigner, code: str, at: datetime) -> CodeClaims | None:
    try:
        return signer.verify(code, signer.window_bounds(_window_in(code))[0])
    except (DomainError, ValueError):
        return None


def _window_in(code: str) -> int:
    return int(code.strip().split(".")[1], 36)
