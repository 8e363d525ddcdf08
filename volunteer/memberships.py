"""Volunteers joining organizations: a request, then the organization's decision."""

from __future__ import annotations

import uuid
from datetime import datetime

from piccolo.custom_types import Combinable

from errors import MEMBERSHIP_EXISTS, MEMBERSHIP_NOT_FOUND, REASON_REQUIRED, DomainError, require_text
from volunteer.access import Principal, require_org_admin
from volunteer.db import as_uuid, write_transaction
from volunteer.identity import mask_name
from volunteer.organizations import require_verified
from volunteer.profiles import volunteer_of
from volunteer.schemas import MembershipOut
from volunteer.tables import DecisionStatus, Membership


async def request_join(actor: Principal, org_id: uuid.UUID, now: datetime) -> MembershipOut:
    volunteer = await volunteer_of(actor.account_id)
    await require_verified(org_id)
    async with write_transaction():
        existing = await Membership.objects().get(
            (Membership.organization == org_id) & (Membership.volunteer == volunteer["id"])
        )
        if existing is None:
            existing = Membership(organization=org_id, volunteer=volunteer["id"], requested_at=now)
            await existing.save()
        elif existing.status == DecisionStatus.rejected:
            # A rejected volunteer may ask again; the earlier decision stays in decided_at/reason history.
            await Membership.update(
                {
                    Membership.status: DecisionStatus.pending,
                    Membership.requested_at: now,
                    Membership.decided_at: None,
                    Membership.decided_by: None,
                    Membership.reason: None,
                }
            ).where(Membership.id == existing.id)
        else:
            raise DomainError(MEMBERSHIP_EXISTS)
    return (await _memberships(Membership.id == existing.id))[0]


async def list_members(
    actor: Principal, org_id: uuid.UUID, *, status: DecisionStatus | None, limit: int, offset: int
) -> list[MembershipOut]:
    require_org_admin(actor, org_id)
    where: Combinable = Membership.organization == org_id
    if status is not None:
        where = where & (Membership.status == status)
    return await _memberships(where, limit=limit, offset=offset)


async def my_memberships(actor: Principal) -> list[MembershipOut]:
    volunteer = await volunteer_of(actor.account_id)
    return await _memberships(Membership.volunteer == volunteer["id"])


async def decide_membership(
    actor: Principal,
    org_id: uuid.UUID,
    membership_id: uuid.UUID,
    *,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> MembershipOut:
    require_org_admin(actor, org_id)
    if not approve:
        require_text(reason, REASON_REQUIRED)
    async with write_transaction():
        decided = (
            await Membership.update(
                {
                    Membership.status: DecisionStatus.approved if approve else DecisionStatus.rejected,
                    Membership.reason: reason,
                    Membership.decided_at: now,
                    Membership.decided_by: actor.account_id,
                }
            )
            .where(
                (Membership.id == membership_id)
                & (Membership.organization == org_id)
                & (Membership.status == DecisionStatus.pending)
            )
            .returning(Membership.id)
        )
    if not decided:
        raise DomainError(MEMBERSHIP_NOT_FOUND)
    return (await _memberships(Membership.id == membership_id))[0]


async def _memberships(where: Combinable, *, limit: int = 200, offset: int = 0) -> list[MembershipOut]:
    rows = (
        await Membership.select(
            Membership.id,
            Membership.organization,
            Membership.volunteer,
            Membership.volunteer.volunteer_no.as_alias("volunteer_no"),
            Membership.volunteer.name.as_alias("name"),
            Membership.status,
            Membership.requested_at,
            Membership.reason,
        )
        .where(where)
        .order_by(Membership.requested_at)
        .limit(limit)
        .offset(offset)
    )
    return [
        MembershipOut(
            id=as_uuid(r["id"]),
            organization_id=as_uuid(r["organization"]),
            volunteer_id=as_uuid(r["volunteer"]),
            volunteer_no=r["volunteer_no"],
            name=mask_name(r["name"]),
            status=DecisionStatus(r["status"]),
            requested_at=r["requested_at"],
            reason=r["reason"],
        )
        for r in rows
    ]
