"""Organizations: registration, verification by the auditor of their region, and who may see what."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from errors import (
    ORGANIZATION_ALREADY_DECIDED,
    ORGANIZATION_NOT_FOUND,
    ORGANIZATION_NOT_VERIFIED,
    PARENT_ORGANIZATION_INVALID,
    REASON_REQUIRED,
    USCC_ALREADY_REGISTERED,
    USCC_REQUIRED,
    DomainError,
    require_text,
)
from volunteer.access import Principal, require_auditor_of
from volunteer.db import as_uuid, is_unique_violation, write_transaction
from volunteer.identity import validate_uscc
from volunteer.regions import region_by_code
from volunteer.schemas import OrganizationCreate, OrganizationOut
from volunteer.tables import Organization, OrganizationKind, OrganizationStatus, Role, RoleGrant

_SELECT = (
    "SELECT o.*, r.code AS region_code, r.path AS region_path FROM organization o "
    "JOIN region r ON r.id = o.region "
)


async def register_organization(actor: Principal, data: OrganizationCreate, now: datetime) -> OrganizationOut:
    """Anyone signed in may register an organization; it stays pending until an auditor verifies it."""
    uscc = validate_uscc(data.uscc) if data.uscc else None
    if uscc is None and data.kind is not OrganizationKind.community_team:
        raise DomainError(USCC_REQUIRED)
    region = await region_by_code(data.region_code)
    if data.parent_id is not None and not await Organization.exists().where(
        (Organization.id == data.parent_id) & (Organization.status != OrganizationStatus.rejected)
    ):
        raise DomainError(PARENT_ORGANIZATION_INVALID)
    org = Organization(
        name=data.name.strip(),
        kind=data.kind,
        uscc=uscc,
        region=region.id,
        parent=data.parent_id,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        status=OrganizationStatus.pending,
        created_by=actor.account_id,
        created_at=now,
    )
    try:
        async with write_transaction():
            await org.save()
            # The registrant administers it from the start; verification gates what it may publish.
            await RoleGrant(
                account=actor.account_id,
                role=Role.org_admin,
                organization=org.id,
                granted_by=actor.account_id,
                granted_at=now,
            ).save()
    except Exception as exc:
        if is_unique_violation(exc):
            raise DomainError(USCC_ALREADY_REGISTERED) from exc
        raise
    return await view_organization(Principal(actor.account_id, actor.grants), org.id, registrant=True)


async def decide_organization(
    actor: Principal, org_id: uuid.UUID, *, approve: bool, reason: str | None, now: datetime
) -> OrganizationOut:
    row = await _row(org_id)
    require_auditor_of(actor, row["region_path"])
    if not approve:
        require_text(reason, REASON_REQUIRED)
    status = OrganizationStatus.verified if approve else OrganizationStatus.rejected
    async with write_transaction():
        decided = (
            await Organization.update(
                {
                    Organization.status: status,
                    Organization.status_reason: reason,
                    Organization.decided_by: actor.account_id,
                    Organization.decided_at: now,
                }
            )
            .where((Organization.id == org_id) & (Organization.status == OrganizationStatus.pending))
            .returning(Organization.id)
        )
    if not decided:
        raise DomainError(ORGANIZATION_ALREADY_DECIDED)
    return await view_organization(actor, org_id)


async def view_organization(
    actor: Principal | None, org_id: uuid.UUID, *, registrant: bool = False
) -> OrganizationOut:
    """Verified organizations are public; a pending or rejected one only to its admins and auditors."""
    row = await _row(org_id)
    insider = registrant or (actor is not None and _is_insider(actor, org_id, row["region_path"]))
    if row["status"] != OrganizationStatus.verified and not insider:
        raise DomainError(ORGANIZATION_NOT_FOUND)
    return _out(row, insider)


async def list_organizations(
    actor: Principal | None, *, region_code: str, status: OrganizationStatus | None, limit: int, offset: int
) -> list[OrganizationOut]:
    """Everyone sees verified organizations; auditors also see the others in their jurisdiction."""
    region = await region_by_code(region_code)
    auditor = actor is not None and actor.covers(Role.auditor, region.path)
    if not auditor and status not in (None, OrganizationStatus.verified):
        return []
    wanted = status or (None if auditor else OrganizationStatus.verified)
    sql = _SELECT + "WHERE r.path LIKE {}"
    args: list[object] = [f"{region.path}%"]
    if wanted is not None:
        sql += " AND o.status = {}"
        args.append(str(wanted))
    sql += " ORDER BY o.created_at, o.id LIMIT {} OFFSET {}"
    rows = await Organization.raw(sql, *args, limit, offset)
    return [_out(r, auditor) for r in rows]


async def require_verified(org_id: uuid.UUID) -> Organization:
    """Only verified organizations may publish projects or take members."""
    org = await Organization.objects().get(Organization.id == org_id)
    if org is None:
        raise DomainError(ORGANIZATION_NOT_FOUND)
    if org.status != OrganizationStatus.verified:
        raise DomainError(ORGANIZATION_NOT_VERIFIED)
    return org


async def region_path_of(org_id: uuid.UUID) -> str:
    return str((await _row(org_id))["region_path"])


def _is_insider(actor: Principal, org_id: uuid.UUID, region_path: str) -> bool:
    return actor.administers(org_id) or actor.covers(Role.auditor, region_path) or actor.is_admin


async def _row(org_id: uuid.UUID) -> dict[str, Any]:
    rows = await Organization.raw(_SELECT + "WHERE o.id = {}", org_id)
    if not rows:
        raise DomainError(ORGANIZATION_NOT_FOUND)
    row: dict[str, Any] = rows[0]
    return row


def _out(row: dict[str, Any], insider: bool) -> OrganizationOut:
    return OrganizationOut(
        id=as_uuid(row["id"]),
        name=str(row["name"]),
        kind=OrganizationKind(row["kind"]),
        region_code=str(row["region_code"]),
        parent_id=None if row["parent"] is None else as_uuid(row["parent"]),
        status=OrganizationStatus(row["status"]),
        contact_name=str(row["contact_name"]),
        contact_phone=str(row["contact_phone"]),
        uscc=None if row["uscc"] is None else str(row["uscc"]),
        status_reason=str(row["status_reason"]) if insider and row["status_reason"] else None,
        created_at=row["created_at"] if insider else None,
    )
