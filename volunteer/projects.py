"""Projects and their sessions (rule 9): drafted by a verified organization, published, browsed, closed."""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, TypeVar

from piccolo.query.methods.select import Select

from errors import (
    GEOFENCE_NEEDS_LOCATION,
    INSURANCE_REQUIRED,
    PROJECT_NOT_EDITABLE,
    PROJECT_NOT_FOUND,
    REQUEST_INVALID,
    SESSION_TIME_INVALID,
    DomainError,
)
from volunteer.access import Principal, require_org_admin
from volunteer.categories import ServiceCategory
from volunteer.db import as_uuid, engine, is_unique_violation, write_transaction
from volunteer.hours import EARTH_RADIUS_M, distance_m
from volunteer.organizations import require_verified
from volunteer.regions import region_by_code
from volunteer.schemas import ProjectCreate, ProjectOut, SessionCreate, SessionOut
from volunteer.tables import Project, ProjectStatus, Role, ServiceSession, SignupStatus

T = TypeVar("T")
CHINA = timezone(timedelta(hours=8))
MAX_SESSION = timedelta(hours=24)
_CODE_ATTEMPTS = 5
_METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180

_SELECT = (
    "SELECT p.*, r.code AS region_code, r.name AS region_name, r.path AS region_path, "
    "o.name AS organization_name FROM project p "
    "JOIN region r ON r.id = p.region JOIN organization o ON o.id = p.organization "
)
_SESSIONS = (
    "SELECT s.id, s.project, s.starts_at, s.ends_at, s.capacity, s.cancel_cutoff_min, "
    "(SELECT COUNT(*) FROM signup g WHERE g.session = s.id AND g.status = {}) AS approved "
    "FROM service_session s WHERE s.project IN ({ids})"
)


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
    return (await _sessions([project_id], only=session_id))[project_id][0]


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
        row = await _row(project_id)
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


async def view_project(viewer: Principal | None, project_id: uuid.UUID) -> ProjectOut:
    """Published projects are public; drafts and closed ones only to their admins and auditors."""
    row = await _row(project_id)
    if row["status"] != ProjectStatus.published and not _insider(viewer, row):
        raise DomainError(PROJECT_NOT_FOUND)
    sessions = await _sessions([row["id"]])
    return _out(row, sessions.get(as_uuid(row["id"]), []))


async def browse_projects(
    *,
    region_code: str | None,
    category: ServiceCategory | None,
    date_from: date | None,
    date_to: date | None,
    lat: float | None,
    lng: float | None,
    radius_km: float,
    limit: int,
    offset: int,
    now: datetime,
) -> list[ProjectOut]:
    """Published projects, each with its upcoming sessions; near a point means nearest first."""
    if (lat is None) != (lng is None):
        raise DomainError(REQUEST_INVALID, {"field": "lat/lng", "reason": "both_or_neither"})
    sql = _SELECT + "WHERE p.status = {}"
    args: list[object] = [ProjectStatus.published.value]
    if region_code is not None:
        sql += " AND r.path LIKE {}"
        args.append(f"{(await region_by_code(region_code)).path}%")
    if category is not None:
        sql += " AND p.category = {}"
        args.append(category.value)
    if date_from is not None or date_to is not None:
        sql += " AND EXISTS (SELECT 1 FROM service_session s WHERE s.project = p.id"
        if date_from is not None:
            sql += " AND s.starts_at >= {}"
            args.append(china_midnight(date_from))
        if date_to is not None:
            sql += " AND s.starts_at < {}"
            args.append(china_midnight(date_to + timedelta(days=1)))
        sql += ")"
    if lat is not None and lng is not None:
        # A bounding box narrows the rows in SQL; the exact distance is computed below.
        dlat = radius_km * 1000 / _METRES_PER_DEGREE
        dlng = dlat / max(math.cos(math.radians(lat)), 0.01)
        sql += " AND p.latitude BETWEEN {} AND {} AND p.longitude BETWEEN {} AND {}"
        args += [lat - dlat, lat + dlat, lng - dlng, lng + dlng]
    sql += " ORDER BY p.published_at DESC, p.id"
    if lat is None or lng is None:
        rows: list[dict[str, Any]] = await Project.raw(sql + " LIMIT {} OFFSET {}", *args, limit, offset)
        distances: dict[uuid.UUID, float] = {}
    else:
        # Nearest first needs every candidate in the box before the page can be cut.
        rows = await Project.raw(sql, *args)
        distances = {as_uuid(r["id"]): distance_m(lat, lng, r["latitude"], r["longitude"]) for r in rows}
        rows = sorted(
            (r for r in rows if distances[as_uuid(r["id"])] <= radius_km * 1000),
            key=lambda r: distances[as_uuid(r["id"])],
        )[offset : offset + limit]
    sessions = await _sessions([r["id"] for r in rows], after=now)
    return [_out(r, sessions.get(as_uuid(r["id"]), []), distances.get(as_uuid(r["id"]))) for r in rows]


def check_session_time(session: SessionCreate) -> None:
    if not timedelta(0) < session.ends_at - session.starts_at <= MAX_SESSION:
        raise DomainError(SESSION_TIME_INVALID)


def china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA)


async def _administered(actor: Principal, project_id: uuid.UUID) -> dict[str, Any]:
    row = await _row(project_id)
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


async def _row(project_id: uuid.UUID) -> dict[str, Any]:
    rows = await Project.raw(_SELECT + "WHERE p.id = {}", project_id)
    if not rows:
        raise DomainError(PROJECT_NOT_FOUND)
    row: dict[str, Any] = rows[0]
    return row


def _insider(viewer: Principal | None, row: dict[str, Any]) -> bool:
    return viewer is not None and (
        viewer.administers(as_uuid(row["organization"]))
        or viewer.covers(Role.auditor, row["region_path"])
        or viewer.is_admin
    )


async def _sessions(
    project_ids: Sequence[object], *, after: datetime | None = None, only: uuid.UUID | None = None
) -> dict[uuid.UUID, list[SessionOut]]:
    """Sessions by project, with how many are approved: one query for a whole page of projects."""
    if not project_ids:
        return {}
    sql = _SESSIONS.replace("{ids}", ", ".join("{}" for _ in project_ids))
    args: list[object] = [SignupStatus.approved.value, *project_ids]
    if after is not None:
        sql += " AND s.starts_at > {}"
        args.append(after)
    if only is not None:
        sql += " AND s.id = {}"
        args.append(only)
    result: dict[uuid.UUID, list[SessionOut]] = {}
    for s in await ServiceSession.raw(sql + " ORDER BY s.starts_at, s.id", *args):
        approved = int(s["approved"])
        result.setdefault(as_uuid(s["project"]), []).append(
            SessionOut(
                id=as_uuid(s["id"]),
                starts_at=s["starts_at"],
                ends_at=s["ends_at"],
                capacity=s["capacity"],
                cancel_cutoff_min=s["cancel_cutoff_min"],
                approved=approved,
                spots_left=max(s["capacity"] - approved, 0),
            )
        )
    return result


def _out(row: dict[str, Any], sessions: list[SessionOut], distance: float | None = None) -> ProjectOut:
    return ProjectOut(
        id=as_uuid(row["id"]),
        organization_id=as_uuid(row["organization"]),
        organization_name=row["organization_name"],
        title=row["title"],
        category=ServiceCategory(row["category"]),
        description=row["description"],
        region_code=row["region_code"],
        region_name=row["region_name"],
        address=row["address"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        geofence_m=row["geofence_m"],
        person_in_charge=row["person_in_charge"],
        contact_phone=row["contact_phone"],
        insurance_required=bool(row["insurance_required"]),
        insured=bool(row["insured"]),
        headcount=row["headcount"],
        allow_walk_in=bool(row["allow_walk_in"]),
        status=ProjectStatus(row["status"]),
        published_at=row["published_at"],
        sessions=sessions,
        distance_m=None if distance is None else round(distance, 1),
    )
