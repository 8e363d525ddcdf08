"""Storing scans: the one read that gathers what the rules need, and the one write of the outcome.

A partial unique index allows one accepted check-in and one accepted check-out per volunteer and
session, so two racing scans can never both count; (scanner, nonce) is unique, so a retried upload is
the same scan and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import errors
from errors import DomainError, ErrorCode
from volunteer.access import Principal
from volunteer.checkin import Context, Decision, ScanInput, Scanner, context_from_row, decide
from volunteer.codes import CodeClaims, CodeKind
from volunteer.db import as_str_list, as_uuid, engine, single_write, write_transaction
from volunteer.tables import Scan, ScanKind, ScanMethod, ServiceSession

_READ = """
SELECT v.id AS volunteer_id, v.card_version, a.is_active AS account_active,
  s.id AS session_id, s.starts_at, s.ends_at, s.capacity,
  p.status AS project_status, p.latitude, p.longitude, p.geofence_m, p.allow_walk_in,
  p.organization AS organization_id,
  (SELECT su.status FROM signup su WHERE su.session = s.id AND su.volunteer = v.id) AS signup_status,
  (SELECT count(*) FROM signup su JOIN service_session ss ON ss.id = su.session
     WHERE su.volunteer = v.id AND su.status = 'no_show' AND ss.starts_at > {}) AS no_shows,
  (SELECT count(*) FROM scan sc
     WHERE sc.volunteer = v.id AND sc.session = s.id AND sc.server_time > {}) AS recent_attempts,
  (SELECT sc.effective_time FROM scan sc WHERE sc.session = s.id AND sc.volunteer = v.id
     AND sc.kind = 'check_in' AND sc.accepted) AS checked_in_at,
  (SELECT count(*) FROM scan sc WHERE sc.session = s.id AND sc.volunteer = v.id
     AND sc.kind = 'check_out' AND sc.accepted) AS checked_out,
  (SELECT count(*) FROM scan sc WHERE sc.volunteer = v.id AND sc.code_window = {}
     AND sc.method = 'organizer_scans_volunteer' AND sc.accepted) AS code_used,
  last.effective_time AS last_at, last.latitude AS last_lat, last.longitude AS last_lng,
  (SELECT sc.id FROM scan sc WHERE sc.scanned_by = {} AND sc.nonce = {}) AS prior_id
FROM (SELECT 1 AS one) AS one
LEFT JOIN volunteer v ON {volunteer}
LEFT JOIN account a ON a.id = v.account
LEFT JOIN service_session s ON {session}
LEFT JOIN project p ON p.id = s.project
LEFT JOIN scan last ON last.id = (SELECT sc.id FROM scan sc WHERE sc.volunteer = v.id AND sc.accepted
  ORDER BY sc.effective_time DESC LIMIT 1)
"""

_INSERT = """
INSERT INTO scan (id, scanned_by, nonce, body_hash, session, volunteer, kind, method, offline, accepted,
  refusal, code_window, device_time, server_time, effective_time, latitude, longitude, device_id, flags)
VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})
ON CONFLICT DO NOTHING RETURNING id
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    scan_id: uuid.UUID
    nonce: str
    accepted: bool
    refusal: ErrorCode | None
    kind: ScanKind
    session_id: uuid.UUID | None
    volunteer_id: uuid.UUID | None
    effective_time: datetime
    flags: list[str] = field(default_factory=list)
    replayed: bool = False


async def read_decide_store(
    scanner: Scanner,
    actor: Principal,
    scan: ScanInput,
    claims: CodeClaims | None,
    code_error: ErrorCode | None,
    method: ScanMethod,
    *,
    volunteer_sql: tuple[str, Any],
    session_sql: tuple[str, Any],
    offline: bool,
    now: datetime,
    organizer: bool = False,
) -> Outcome:
    """Gather, decide, store. On SQLite each statement outside a transaction opens its own connection
    (and thread): one transaction per scan makes it one. On PostgreSQL the read and insert need none."""
    async with single_write():
        policy = scanner.policy
        window = claims.window if claims is not None and claims.kind is not CodeKind.CARD else None
        sql = _READ.replace("{volunteer}", volunteer_sql[0]).replace("{session}", session_sql[0])
        rows = await Scan.raw(
            sql,
            now - timedelta(days=365),
            now - timedelta(minutes=1),
            window,
            actor.account_id,
            scan.nonce,
            volunteer_sql[1],
            session_sql[1],
        )
        row = rows[0]
        body_hash = _body_hash(scan, method)
        if row["prior_id"] is not None:
            return await _replay(as_uuid(row["prior_id"]), body_hash)
        if (
            organizer
            and row["organization_id"] is not None
            and not actor.administers(as_uuid(row["organization_id"]))
        ):
            raise DomainError(errors.OUT_OF_SCOPE)
        ctx = context_from_row(row)
        bounds = scanner.signer.window_bounds(window) if window is not None else None
        decision = decide(
            ctx,
            scan,
            claims,
            code_error,
            method,
            offline=offline,
            policy=policy,
            window_bounds=bounds,
            now=now,
        )
        if not decision.store:
            return _outcome(uuid.uuid4(), scan, ctx, decision)
        return await _store(actor, scan, ctx, decision, method, window, body_hash, offline=offline, now=now)


async def _store(
    actor: Principal,
    scan: ScanInput,
    ctx: Context,
    decision: Decision,
    method: ScanMethod,
    window: int | None,
    body_hash: str,
    *,
    offline: bool,
    now: datetime,
) -> Outcome:
    scan_id = uuid.uuid4()

    async def insert(accepted: bool, refusal: ErrorCode | None) -> bool:
        inserted = await Scan.raw(
            _INSERT,
            scan_id,
            actor.account_id,
            scan.nonce,
            body_hash,
            ctx.session_id,
            ctx.volunteer_id,
            scan.kind,
            method,
            offline,
            accepted,
            refusal.code if refusal else None,
            window,
            scan.device_time,
            now,
            decision.effective_time,
            scan.latitude,
            scan.longitude,
            scan.device_id,
            json.dumps(decision.flags),
        )
        return bool(inserted)

    if decision.walk_in:
        async with write_transaction():
            decision = await _take_walk_in_spot(ctx, decision, now)
            stored = await insert(decision.accepted, decision.refusal)
    else:
        async with single_write():
            stored = await insert(decision.accepted, decision.refusal)
    if stored:
        return _outcome(scan_id, scan, ctx, decision)
    # Nothing inserted: the same nonce arrived meanwhile, or a racing scan already counted.
    prior = await Scan.select(Scan.id).where(
        (Scan.scanned_by == actor.account_id) & (Scan.nonce == scan.nonce)
    )
    if prior:
        return await _replay(as_uuid(prior[0]["id"]), body_hash)
    refusal = errors.ALREADY_CHECKED_IN if scan.kind is ScanKind.check_in else errors.ALREADY_CHECKED_OUT
    decision = Decision(False, refusal, decision.effective_time)
    async with single_write():
        await insert(False, refusal)
    return _outcome(scan_id, scan, ctx, decision)


async def _take_walk_in_spot(ctx: Context, decision: Decision, now: datetime) -> Decision:
    """A walk-in is signed up on the spot while capacity lasts; the session row is locked to count."""
    lock = " FOR UPDATE" if engine().engine_type == "postgres" else ""
    await ServiceSession.raw("SELECT id FROM service_session WHERE id = {}" + lock, ctx.session_id)
    approved = await ServiceSession.raw(
        "SELECT count(*) AS n FROM signup WHERE session = {} AND status = 'approved'", ctx.session_id
    )
    if approved[0]["n"] >= ctx.capacity:
        return Decision(False, errors.SESSION_FULL, decision.effective_time)
    await ServiceSession.raw(
        "INSERT INTO signup (id, session, volunteer, status, walk_in, applied_at, decided_at) "
        "VALUES ({}, {}, {}, 'approved', {}, {}, {}) "
        "ON CONFLICT (session, volunteer) DO UPDATE SET status = 'approved', walk_in = {}, decided_at = {}",
        uuid.uuid4(),
        ctx.session_id,
        ctx.volunteer_id,
        True,
        now,
        now,
        True,
        now,
    )
    return decision


async def _replay(prior_id: uuid.UUID, body_hash: str) -> Outcome:
    """The same nonce again: the first answer, nothing written; a different body is a conflict."""
    row = await Scan.objects().get(Scan.id == prior_id)
    assert row is not None
    if row.body_hash != body_hash:
        raise DomainError(errors.NONCE_REUSED)
    refusal = errors.CATALOG.get(row.refusal) if row.refusal else None
    flags = as_str_list(row.flags)
    return Outcome(
        row.id,
        row.nonce,
        row.accepted,
        refusal,
        ScanKind(row.kind),
        row.session,
        row.volunteer,
        row.effective_time,
        flags,
        replayed=True,
    )


def _outcome(scan_id: uuid.UUID, scan: ScanInput, ctx: Context, decision: Decision) -> Outcome:
    return Outcome(
        scan_id,
        scan.nonce,
        decision.accepted,
        decision.refusal,
        scan.kind,
        ctx.session_id,
        ctx.volunteer_id,
        decision.effective_time,
        decision.flags,
    )


def scan_fields(scan: ScanInput) -> dict[str, Any]:
    return {name: getattr(scan, name) for name in ScanInput.__dataclass_fields__}


def _body_hash(scan: ScanInput, method: ScanMethod) -> str:
    body = {**scan_fields(scan), "method": method}
    return hashlib.sha256(json.dumps(body, default=str, sort_keys=True).encode()).hexdigest()
