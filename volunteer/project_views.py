"""Projects as people see them: published ones browsed by region, category, date and distance; drafts and
closed ones only to their admins and auditors."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from errors import PROJECT_NOT_FOUND, REQUEST_INVALID, DomainError
from volunteer.access import Principal
from volunteer.categories import ServiceCategory
from volunteer.db import as_uuid
from volunteer.hours import CHINA, EARTH_RADIUS_M, distance_m
from volunteer.regions import region_by_code
from volunteer.schemas import ProjectOut, SessionOut
from volunteer.tables import Project, ProjectStatus, Role, ServiceSession, SignupStatus

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


async def view_project(viewer: Principal | None, project_id: uuid.UUID) -> ProjectOut:
    """Published projects are public; drafts and closed ones only to their admins and auditors."""
    row = await project_row(project_id)
    if row["status"] != ProjectStatus.published and not _insider(viewer, row):
        raise DomainError(PROJECT_NOT_FOUND)
    sessions = await sessions_of([row["id"]])
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
    sessions = await sessions_of([r["id"] for r in rows], after=now)
    return [_out(r, sessions.get(as_uuid(r["id"]), []), distances.get(as_uuid(r["id"]))) for r in rows]


def china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA)


async def project_row(project_id: uuid.UUID) -> dict[str, Any]:
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


async def sessions_of(
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
