"""Projects and their sessions (rule 9): drafted by a verified organization, published, closed (browsing and
viewing: project_views.py)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from piccolo.query.methods.select import Select

from errors import (
    GEOFENCE_NEEDS_LOCATION,
    INSURANCE_REQUIRED,
    PROJECT_NOT_EDITABLE,
    REQUEST_INVALID,
    SESSION_TIME_INVALID,
    DomainError,
)
from volunteer.access import Principal, require_org_admin
from volunteer.db import as_uuid, engine, is_unique_violation, write_transaction
from volunteer.organizations import require_verified
from volunteer.project_views import project_row, sessions_of, view_project
from volunteer.regions import region_by_code
from volunteer.schemas import ProjectCreate, ProjectOut, SessionCreate, SessionOut
from volunteer.tables import Project, ProjectStatus, ServiceSession

T = TypeVar("T")
MAX_SESSION = timedelta(hours=24)
_CODE_ATTEMPTS = 5


def locked(query: Select[Any], strength: Literal["UPDATE", "SHARE"] = "UPDATE") -> Select[Any]:
    """Row locks on PostgreSQL; SQLite has none and needs none, its write transactions being serialized."""
    return query.lock_rows(strength) if engine().engine_type == "postgres" else query


async def create_project(actor: Principal, data: ProjectCreate, now: datetime) -> ProjectOut:
    require_org_admin(actor, data.organization_id)
    await require_verified(data.organization_id)
    if (data.latitude is None) != (data.longitude is None):
        raise DomainError(REQUEST_INVALID, {"field": "latitude/longitude", "reason": "both_or_neither"})
    if data.geofence_m is not None and data.latitude is None:
        raise DomainError(GEOFENCE_NEEDS_LOCATION)
    for session in data.sessions:
        check_session_time(session)
    region = await region_by_code(data.region_code)
    project = Project(
        organization=data.organization_id,
        region=region.id,
        title=data.title.strip(),
        category=data.category,
        description=data.description,
        address=data.address.strip(),
        latitude=data.latitude,
        longitude=data.longitude,
        geofence_m=data.geofence_m,
        person_in_charge=data.person_in_charge,
        contact_phone=data.contact_phone,
        insurance_required=data.insurance_required,
        headcount=data.headcount,
        allow_walk_in=data.allow_walk_in,
        status=ProjectStatus.draft,
        created_by=actor.account_id,
        created_at=now,
    )

    async def write() -> None:
        await Project.insert(project)
        for session in data.sessions:
            await _insert_session(project.id, session, now)

    await _with_fresh_codes(write)
    return await view_project(actor, project.id)


async def add_session(
    actor: Principal, project_id: uuid.UUID, data: SessionCreate, now: datetime
) -> SessionOut:
    """Sessions may be added while the project is a draft or open; a closed project takes no more."""
    await _administered(actor, project_id)
    check_session_time(data)

    async def write() -> uuid.UUID:
        editable = Project.status.is_in([ProjectStatus.draft, ProjectStatus.published])
        # FOR SHARE waits for a concurrent close to commit, then sees the project closed.
        if not await locked(Project.select(Project.id).where((Project.id == project_id) & editable), "SHARE"):
            raise DomainError(PROJECT_NOT_EDITABLE)
        return await _insert_session(project_id, data, now)

    session_id = await _with_fresh_codes(write)
    return (await sessions_of([project_id], only=session_id))[project_id][0]


async def publish_project(actor: Principal, project_id: uuid.UUID, now: datetime) -> ProjectOut:
    """Risky projects open for sign-up only once insurance is recorded (rule 9)."""
    await _administered(actor, project_id)
    insured = (Project.insurance_required == False) | (Project.insured == True)  # noqa: E712
    async with write_transaction():
        published = (
            await Project.update({Project.status: ProjectStatus.published, Project.published_at: now})
            .where((Project.id == project_id) & (Project.status == ProjectStatus.draft) & insured)
            .returning(Project.id)
        )
    if not published:
        row = await project_row(project_id)
        raise DomainError(
            PROJECT_NOT_EDITABLE if row["status"] != ProjectStatus.draft else INSURANCE_REQUIRED
        )
    return await view_project(actor, project_id)


async def close_project(actor: Principal, project_id: uuid.UUID, now: datetime) -> ProjectOut:
    await _administered(actor, project_id)
    async with write_transaction():
        closed = (
            await Project.update({Project.status: ProjectStatus.closed, Project.closed_at: now})
            .where((Project.id == project_id) & (Project.status == ProjectStatus.published))
            .returning(Project.id)
        )
    if not closed:
        raise DomainError(PROJECT_NOT_EDITABLE)
    return await view_project(actor, project_id)


async def record_insurance(actor: Principal, project_id: uuid.UUID) -> ProjectOut:
    await _administered(actor, project_id)
    async with write_transaction():
        recorded = (
            await Project.update({Project.insured: True})
            .where((Project.id == project_id) & (Project.status != ProjectStatus.closed))
            .returning(Project.id)
        )
    if not recorded:
        raise DomainError(PROJECT_NOT_EDITABLE)
    return await view_project(actor, project_id)


def check_session_time(session: SessionCreate) -> None:
    if not timedelta(0) < session.ends_at - session.starts_at <= MAX_SESSION:
        raise DomainError(SESSION_TIME_INVALID)


async def _administered(actor: Principal, project_id: uuid.UUID) -> dict[str, Any]:
    row = await project_row(project_id)
    require_org_admin(actor, as_uuid(row["organization"]))
    return row


async def _insert_session(project_id: uuid.UUID, data: SessionCreate, now: datetime) -> uuid.UUID:
    session = ServiceSession(
        project=project_id,
        code_seq=secrets.randbits(39) + 1,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        capacity=data.capacity,
        cancel_cutoff_min=data.cancel_cutoff_min,
        created_at=now,
    )
    await ServiceSession.insert(session)
    return as_uuid(session.id)


async def _with_fresh_codes(write: Callable[[], Awaitable[T]]) -> T:
    """Session code subjects are random 39-bit numbers; the rare collision retries the whole write."""
    attempt = 0
    while True:
        attempt += 1
        try:
            async with write_transaction():
                return await write()
        except Exception as exc:
            if attempt >= _CODE_ATTEMPTS or not is_unique_violation(exc, "code_seq"):
                raise
