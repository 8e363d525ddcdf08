"""The check-in rules (DOMAIN rules 10-12) as one pure decision: what the database said, what the
device sent, and the clock in; accepted or the reason for refusal out. No I/O here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import errors
from errors import ErrorCode
from volunteer.codes import CodeClaims, CodeKind, CodeSigner
from volunteer.db import as_datetime_or_none
from volunteer.hours import Fix, location_flags, outside_geofence
from volunteer.tables import ProjectStatus, ScanKind, ScanMethod, SignupStatus


@dataclass(frozen=True, slots=True)
class CheckinPolicy:
    grace: timedelta = timedelta(minutes=30)
    device_skew: timedelta = timedelta(minutes=10)
    attempts_per_min: int = 10
    late_upload: timedelta = timedelta(hours=1)
    no_show_limit: int = 5


@dataclass(frozen=True, slots=True)
class Scanner:
    """What every scan needs besides the scan itself: the code signer and the rules' settings."""

    signer: CodeSigner
    policy: CheckinPolicy


@dataclass(frozen=True, slots=True)
class ScanInput:
    """One scan as the device reported it."""

    nonce: str
    code: str
    kind: ScanKind
    device_time: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    device_id: str | None = None
    session_id: uuid.UUID | None = None  # the session the device is bound to, when it knows

    def __repr__(self) -> str:  # codes never reach a log line
        return f"ScanInput(nonce={self.nonce!r}, kind={self.kind})"


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the database knows that the decision needs, read in one query."""

    volunteer_id: uuid.UUID | None
    volunteer_active: bool
    card_version: int | None
    session_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int
    project_status: str | None
    latitude: float | None
    longitude: float | None
    geofence_m: int | None
    allow_walk_in: bool
    signup_status: str | None
    no_shows: int
    recent_attempts: int
    checked_in_at: datetime | None
    checked_out: bool
    code_used: bool
    last_fix: Fix | None


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    refusal: ErrorCode | None
    effective_time: datetime
    flags: list[str] = field(default_factory=list)
    walk_in: bool = False
    store: bool = True  # a rate-limited attempt is not stored: a flood must not become writes


def decide(
    ctx: Context,
    scan: ScanInput,
    claims: CodeClaims | None,
    code_error: ErrorCode | None,
    method: ScanMethod,
    *,
    offline: bool,
    policy: CheckinPolicy,
    window_bounds: tuple[datetime, datetime] | None,
    now: datetime,
) -> Decision:
    """Refusal reasons in the order a person at the door would want them explained."""
    effective = scan.device_time if offline and scan.device_time is not None else now

    def refuse(code: ErrorCode, *, store: bool = True) -> Decision:
        return Decision(False, code, effective, store=store)

    if ctx.volunteer_id is None:
        return refuse(
            errors.SCAN_NOT_REGISTERED
            if method is ScanMethod.volunteer_scans_session
            else errors.CODE_INVALID
        )
    if ctx.recent_attempts >= policy.attempts_per_min:
        return refuse(errors.SCAN_RATE_LIMITED, store=False)
    if code_error is not None or claims is None:
        return refuse(code_error or errors.CODE_INVALID)
    if claims.kind is CodeKind.CARD and method is not ScanMethod.organizer_scans_card:
        return refuse(errors.CARD_NEEDS_ORGANIZER)
    if claims.kind is CodeKind.CARD and claims.version != ctx.card_version:
        return refuse(errors.CARD_REVOKED)
    if ctx.session_id is None or (scan.session_id is not None and scan.session_id != ctx.session_id):
        return refuse(errors.CODE_WRONG_SESSION)
    if claims.kind is CodeKind.PERSONAL and ctx.code_used:
        return refuse(errors.CODE_REPLAYED)
    if skewed := _device_clock_skewed(scan, window_bounds, policy, now, offline=offline):
        return refuse(skewed)
    if not ctx.volunteer_active or ctx.no_shows >= policy.no_show_limit:
        return refuse(errors.VOLUNTEER_SUSPENDED)

    walk_in = False
    if ctx.signup_status != SignupStatus.approved:
        can_walk_in = (
            ctx.allow_walk_in
            and scan.kind is ScanKind.check_in
            and ctx.signup_status
            in (None, SignupStatus.pending, SignupStatus.waitlisted, SignupStatus.cancelled)
            and ctx.project_status == ProjectStatus.published
        )
        if not can_walk_in:
            return refuse(errors.NOT_SIGNED_UP)
        walk_in = True  # capacity is counted when the spot is taken, under the session's row lock

    assert ctx.starts_at is not None and ctx.ends_at is not None
    if scan.kind is ScanKind.check_in:
        if ctx.checked_out:
            return refuse(errors.ALREADY_CHECKED_OUT)
        if ctx.checked_in_at is not None:
            return refuse(errors.ALREADY_CHECKED_IN)
        if not ctx.starts_at - policy.grace <= effective <= ctx.ends_at:
            return refuse(errors.CHECKIN_OUTSIDE_WINDOW)
    else:
        if ctx.checked_in_at is None:
            return refuse(errors.CHECKOUT_BEFORE_CHECKIN)
        if ctx.checked_out:
            return refuse(errors.ALREADY_CHECKED_OUT)
        if not ctx.checked_in_at < effective <= ctx.ends_at + policy.grace:
            return refuse(errors.CHECKIN_OUTSIDE_WINDOW)

    flags = location_flags(ctx.last_fix, Fix(effective, scan.latitude, scan.longitude))
    if (
        ctx.geofence_m is not None
        and ctx.latitude is not None
        and ctx.longitude is not None
        and scan.latitude is not None
        and scan.longitude is not None
        and outside_geofence(scan.latitude, scan.longitude, ctx.latitude, ctx.longitude, ctx.geofence_m)
    ):
        return refuse(errors.OUTSIDE_GEOFENCE)
    if offline and now - effective > policy.late_upload:
        flags.append("late_upload")
    return Decision(True, None, effective, flags, walk_in=walk_in)


def _device_clock_skewed(
    scan: ScanInput,
    window_bounds: tuple[datetime, datetime] | None,
    policy: CheckinPolicy,
    now: datetime,
    *,
    offline: bool,
) -> ErrorCode | None:
    """A device time far from what the code's window allows (or, offline, in the future) is refused."""
    if scan.device_time is None:
        return errors.DEVICE_CLOCK_SKEWED if offline else None
    if scan.device_time > now + policy.device_skew:
        return errors.DEVICE_CLOCK_SKEWED
    if window_bounds is not None:
        start, end = window_bounds
        if not start - policy.device_skew <= scan.device_time <= end + policy.device_skew:
            return errors.DEVICE_CLOCK_SKEWED
    return None


def context_from_row(row: dict[str, Any]) -> Context:
    """The read query's row, typed; it has one row even when nothing matched (all nulls)."""

    def as_id(value: Any) -> uuid.UUID | None:
        return None if value is None else value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

    last_at = as_datetime_or_none(row["last_at"])
    last_fix = Fix(last_at, row["last_lat"], row["last_lng"]) if last_at is not None else None
    return Context(
        volunteer_id=as_id(row["volunteer_id"]),
        volunteer_active=row["account_active"] in (None, True, 1),  # no account: registered by a team
        card_version=row["card_version"],
        session_id=as_id(row["session_id"]),
        starts_at=as_datetime_or_none(row["starts_at"]),
        ends_at=as_datetime_or_none(row["ends_at"]),
        capacity=row["capacity"] or 0,
        project_status=row["project_status"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        geofence_m=row["geofence_m"],
        allow_walk_in=bool(row["allow_walk_in"]),
        signup_status=row["signup_status"],
        no_shows=row["no_shows"] or 0,
        recent_attempts=row["recent_attempts"] or 0,
        checked_in_at=as_datetime_or_none(row["checked_in_at"]),
        checked_out=bool(row["checked_out"]),
        code_used=bool(row["code_used"]),
        last_fix=last_fix,
    )
