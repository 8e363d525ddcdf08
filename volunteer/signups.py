"""Sign-ups for sessions (rules 9, 15): apply, review within capacity, wait-list, cancel, suspension."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from piccolo.custom_types import Combinable

from errors import (
    ALREADY_SIGNED_UP,
    CANCEL_TOO_LATE,
    REASON_REQUIRED,
    SESSION_NOT_FOUND,
    SIGNUP_CLOSED,
    SIGNUP_NOT_FOUND,
    SIGNUP_NOT_PENDING,
    SIGNUP_SUSPENDED,
    DomainError,
    require_text,
)
from volunteer.access import Principal, require_org_admin
from volunteer.db import as_uuid, is_unique_violation, write_transaction
from volunteer.identity import mask_name
from volunteer.profiles import volunteer_of
from volunteer.projects import locked
from volunteer.schemas import MySignupOut, SignupOut
from volunteer.tables import ProjectStatus, ServiceSession, Signup, SignupStatus

NO_SHOW_LIMIT = 5  # rule 15: unexcused no-shows in a year that suspend sign-up rights
NO_SHOW_WINDOW = timedelta(days=365)
_OPEN = [SignupStatus.pending, SignupStatus.waitlisted]

_SESSION = (
    "SELECT s.id, s.starts_at, s.capacity, s.cancel_cutoff_min, p.status AS project_status, "
    "p.organization FROM service_session s JOIN project p ON p.id = s.project WHERE s.id = {}"
)
_SIGNUP = (
    "SELECT g.id, g.session, g.volunteer, g.status, s.starts_at, s.cancel_cutoff_min, p.organization "
    "FROM signup g JOIN service_session s ON s.id = g.session JOIN project p ON p.id = s.project "
    "WHERE g.id = {}"
)
_NO_SHOWS = (
    "SELECT COUNT(*) AS n FROM signup g JOIN service_session s ON s.id = g.session "
    "WHERE g.volunteer = {} AND g.status = {} AND s.starts_at > {} AND s.starts_at <= {}"
)


async def is_suspended(volunteer_id: uuid.UUID, now: datetime, limit: int = NO_SHOW_LIMIT) -> bool:
    """True when the volunteer missed `limit` or more sessions that started in the past year."""
    rows = await Signup.raw(_NO_SHOWS, volunteer_id, SignupStatus.no_show.value, now - NO_SHOW_WINDOW, now)
    return int(rows[0]["n"]) >= limit


async def apply(actor: Principal, session_id: uuid.UUID, now: datetime) -> MySignupOut:
    """A new sign-up waits for review; a cancelled or rejected one may apply again."""
    volunteer_id = as_uuid((await volunteer_of(actor.account_id))["id"])
    session = await _session(session_id)
    if session["project_status"] != ProjectStatus.published or session["starts_at"] <= now:
        raise DomainError(SIGNUP_CLOSED)
    if await is_suspended(volunteer_id, now):
        raise DomainError(SIGNUP_SUSPENDED)
    fresh: dict[Any, Any] = {
        Signup.status: SignupStatus.pending,
        Signup.applied_at: now,
        Signup.decided_at: None,
        Signup.decided_by: None,
        Signup.reason: None,
        Signup.cancelled_at: None,
    }
    try:
        async with write_transaction():
            existing = await Signup.select(Signup.id).where(
                (Signup.session == session_id) & (Signup.volunteer == volunteer_id)
            )
            if not existing:
                signup = Signup(
                    session=session_id, volunteer=volunteer_id, status=SignupStatus.pending, applied_at=now
                )
                await Signup.insert(signup)
                signup_id = as_uuid(signup.id)
            else:
                signup_id = as_uuid(existing[0]["id"])
                again = (
                    await Signup.update(fresh)
                    .where(
                        (Signup.id == signup_id)
                        & Signup.status.is_in([SignupStatus.cancelled, SignupStatus.rejected])
                    )
                    .returning(Signup.id)
                )
                if not again:
                    raise DomainError(ALREADY_SIGNED_UP)
    except Exception as exc:
        if is_unique_violation(exc, "signup"):
            raise DomainError(ALREADY_SIGNED_UP) from exc
        raise
    return (await _mine(Signup.id == signup_id))[0]


async def decide_signup(
    actor: Principal, signup_id: uuid.UUID, *, approve: bool, reason: str | None, now: datetime
) -> SignupOut:
    """Approval within capacity; a full session wait-lists the sign-up instead (rule 9)."""
    row = await _signup(signup_id)
    require_org_admin(actor, as_uuid(row["organization"]))
    if not approve:
        require_text(reason, REASON_REQUIRED)
    session_id = as_uuid(row["session"])
    async with write_transaction():
        target, allowed = SignupStatus.rejected, _OPEN
        if approve:
            # The session row lock makes racing approvals count one after the other.
            capacity = await _lock_session(session_id)
            full = await _approved_count(session_id) >= capacity
            target = SignupStatus.waitlisted if full else SignupStatus.approved
            # Approving a wait-listed sign-up while still full leaves it, and its place in line, alone.
            allowed = [SignupStatus.pending] if full else _OPEN
        decided = (
            await Signup.update(
                {
                    Signup.status: target,
                    Signup.decided_at: now,
                    Signup.decided_by: actor.account_id,
                    Signup.reason: None if approve else (reason or "").strip(),
                }
            )
            .where((Signup.id == signup_id) & Signup.status.is_in(allowed))
            .returning(Signup.id)
        )
        if not decided and not (target is SignupStatus.waitlisted and await _status(signup_id) == target):
            raise DomainError(SIGNUP_NOT_PENDING)
    return (await _for_organizer(Signup.id == signup_id))[0]


async def cancel_signup(actor: Principal, signup_id: uuid.UUID, now: datetime) -> MySignupOut:
    """The volunteer cancels until the cut-off; a freed place goes to the longest-waiting sign-up."""
    volunteer_id = as_uuid((await volunteer_of(actor.account_id))["id"])
    row = await _signup(signup_id)
    if as_uuid(row["volunteer"]) != volunteer_id:
        raise DomainError(SIGNUP_NOT_FOUND)
    if now > row["starts_at"] - timedelta(minutes=row["cancel_cutoff_min"]):
        raise DomainError(CANCEL_TOO_LATE)
    session_id = as_uuid(row["session"])
    async with write_transaction():
        capacity = await _lock_session(session_id)
        cancelled = (
            await Signup.update({Signup.status: SignupStatus.cancelled, Signup.cancelled_at: now})
            .where((Signup.id == signup_id) & Signup.status.is_in([*_OPEN, SignupStatus.approved]))
            .returning(Signup.id)
        )
        if not cancelled:
            raise DomainError(SIGNUP_NOT_PENDING)
        await _promote(session_id, capacity, now)
    return (await _mine(Signup.id == signup_id))[0]


async def session_signups(
    actor: Principal, session_id: uuid.UUID, *, status: SignupStatus | None, limit: int, offset: int
) -> list[SignupOut]:
    require_org_admin(actor, as_uuid((await _session(session_id))["organization"]))
    where: Combinable = Signup.session == session_id
    if status is not None:
        where = where & (Signup.status == status)
    return await _for_organizer(where, limit=limit, offset=offset)


async def my_signups(
    actor: Principal, *, status: SignupStatus | None, limit: int, offset: int
) -> list[MySignupOut]:
    volunteer_id = as_uuid((await volunteer_of(actor.account_id))["id"])
    where: Combinable = Signup.volunteer == volunteer_id
    if status is not None:
        where = where & (Signup.status == status)
    return await _mine(where, limit=limit, offset=offset)


async def _promote(session_id: uuid.UUID, capacity: int, now: datetime) -> None:
    free = capacity - await _approved_count(session_id)
    if free <= 0:
        return
    waiting = (
        await Signup.select(Signup.id)
        .where((Signup.session == session_id) & (Signup.status == SignupStatus.waitlisted))
        .order_by(Signup.decided_at, Signup.applied_at, Signup.id)
        .limit(free)
    )
    if waiting:
        await Signup.update({Signup.status: SignupStatus.approved, Signup.decided_at: now}).where(
            Signup.id.is_in([w["id"] for w in waiting]) & (Signup.status == SignupStatus.waitlisted)
        )


async def _status(signup_id: uuid.UUID) -> str:
    rows = await Signup.select(Signup.status).where(Signup.id == signup_id)
    return str(rows[0]["status"])


async def _lock_session(session_id: uuid.UUID) -> int:
    rows = await locked(ServiceSession.select(ServiceSession.capacity).where(ServiceSession.id == session_id))
    return int(rows[0]["capacity"])


async def _approved_count(session_id: uuid.UUID) -> int:
    return int(
        await Signup.count().where((Signup.session == session_id) & (Signup.status == SignupStatus.approved))
    )


async def _session(session_id: uuid.UUID) -> dict[str, Any]:
    rows = await ServiceSession.raw(_SESSION, session_id)
    if not rows:
        raise DomainError(SESSION_NOT_FOUND)
    row: dict[str, Any] = rows[0]
    return row


async def _signup(signup_id: uuid.UUID) -> dict[str, Any]:
    rows = await Signup.raw(_SIGNUP, signup_id)
    if not rows:
        raise DomainError(SIGNUP_NOT_FOUND)
    row: dict[str, Any] = rows[0]
    return row


async def _for_organizer(where: Combinable, *, limit: int = 200, offset: int = 0) -> list[SignupOut]:
    rows = (
        await Signup.select(
            Signup.id,
            Signup.session,
            Signup.volunteer,
            Signup.volunteer.volunteer_no.as_alias("volunteer_no"),
            Signup.volunteer.name.as_alias("name"),
            Signup.status,
            Signup.applied_at,
            Signup.decided_at,
            Signup.reason,
        )
        .where(where)
        .order_by(Signup.applied_at, Signup.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        SignupOut(
            id=as_uuid(r["id"]),
            session_id=as_uuid(r["session"]),
            volunteer_id=as_uuid(r["volunteer"]),
            volunteer_no=r["volunteer_no"],
            name=mask_name(r["name"]),
            status=SignupStatus(r["status"]),
            applied_at=r["applied_at"],
            decided_at=r["decided_at"],
            reason=r["reason"],
        )
        for r in rows
    ]


async def _mine(where: Combinable, *, limit: int = 200, offset: int = 0) -> list[MySignupOut]:
    rows = (
        await Signup.select(
            Signup.id,
            Signup.session,
            Signup.session._.project.as_alias("project_id"),
            Signup.session._.project._.title.as_alias("project_title"),
            Signup.session._.project._.address.as_alias("address"),
            Signup.session.starts_at.as_alias("starts_at"),
            Signup.session.ends_at.as_alias("ends_at"),
            Signup.session.cancel_cutoff_min.as_alias("cancel_cutoff_min"),
            Signup.status,
            Signup.applied_at,
            Signup.reason,
        )
        .where(where)
        .order_by(Signup.session.starts_at, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    return [
        MySignupOut(
            id=as_uuid(r["id"]),
            session_id=as_uuid(r["session"]),
            project_id=as_uuid(r["project_id"]),
            project_title=r["project_title"],
            address=r["address"],
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            cancel_until=r["starts_at"] - timedelta(minutes=r["cancel_cutoff_min"]),
            status=SignupStatus(r["status"]),
            applied_at=r["applied_at"],
            reason=r["reason"],
        )
        for r in rows
    ]
