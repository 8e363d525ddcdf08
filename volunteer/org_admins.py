"""Who administers an organization: invitations, acceptance, and removal (never the last admin)."""

from __future__ import annotations

import uuid
from datetime import datetime

from piccolo.custom_types import Combinable

from errors import (
    ACCOUNT_NOT_FOUND,
    ALREADY_ADMIN,
    INVITE_NOT_FOUND,
    LAST_ADMIN,
    ROLE_GRANT_NOT_FOUND,
    DomainError,
)
from volunteer.access import Principal, require_org_admin
from volunteer.db import as_uuid, write_transaction
from volunteer.schemas import AdminOut, InviteOut
from volunteer.tables import Account, InviteStatus, OrganizationInvite, Role, RoleGrant

_ACTIVE_ADMINS = (RoleGrant.role == Role.org_admin) & RoleGrant.revoked_at.is_null()


async def invite_admin(
    actor: Principal, org_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> InviteOut:
    require_org_admin(actor, org_id)
    async with write_transaction():
        if not await Account.exists().where((Account.id == account_id) & (Account.is_active == True)):  # noqa: E712
            raise DomainError(ACCOUNT_NOT_FOUND)
        if await RoleGrant.exists().where(
            _ACTIVE_ADMINS & (RoleGrant.organization == org_id) & (RoleGrant.account == account_id)
        ):
            raise DomainError(ALREADY_ADMIN)
        pending = await OrganizationInvite.objects().get(
            (OrganizationInvite.organization == org_id)
            & (OrganizationInvite.account == account_id)
            & (OrganizationInvite.status == InviteStatus.pending)
        )
        if pending is None:
            pending = OrganizationInvite(
                organization=org_id, account=account_id, invited_by=actor.account_id, created_at=now
            )
            await pending.save()
    return (await _invites(OrganizationInvite.id == pending.id))[0]


async def my_invites(actor: Principal) -> list[InviteOut]:
    return await _invites(
        (OrganizationInvite.account == actor.account_id) & (OrganizationInvite.status == InviteStatus.pending)
    )


async def answer_invite(actor: Principal, invite_id: uuid.UUID, *, accept: bool, now: datetime) -> InviteOut:
    status = InviteStatus.accepted if accept else InviteStatus.declined
    async with write_transaction():
        answered = (
            await OrganizationInvite.update(
                {OrganizationInvite.status: status, OrganizationInvite.decided_at: now}
            )
            .where(
                (OrganizationInvite.id == invite_id)
                & (OrganizationInvite.account == actor.account_id)
                & (OrganizationInvite.status == InviteStatus.pending)
            )
            .returning(OrganizationInvite.organization, OrganizationInvite.invited_by)
        )
        if not answered:
            raise DomainError(INVITE_NOT_FOUND)
        if accept:
            await RoleGrant(
                account=actor.account_id,
                role=Role.org_admin,
                organization=answered[0]["organization"],
                granted_by=answered[0]["invited_by"],
                granted_at=now,
            ).save()
    return (await _invites(OrganizationInvite.id == invite_id))[0]


async def list_admins(actor: Principal, org_id: uuid.UUID) -> list[AdminOut]:
    require_org_admin(actor, org_id)
    rows = (
        await RoleGrant.select(
            RoleGrant.account.as_alias("account_id"),
            RoleGrant.account.display_name.as_alias("display_name"),
            RoleGrant.granted_at,
        )
        .where(_ACTIVE_ADMINS & (RoleGrant.organization == org_id))
        .order_by(RoleGrant.granted_at)
    )
    return [AdminOut(as_uuid(r["account_id"]), r["display_name"], r["granted_at"]) for r in rows]


async def remove_admin(actor: Principal, org_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> None:
    require_org_admin(actor, org_id)
    async with write_transaction():
        admins = await RoleGrant.select(RoleGrant.id, RoleGrant.account).where(
            _ACTIVE_ADMINS & (RoleGrant.organization == org_id)
        )
        target = [r["id"] for r in admins if as_uuid(r["account"]) == account_id]
        if not target:
            raise DomainError(ROLE_GRANT_NOT_FOUND)
        if len(admins) <= 1:
            raise DomainError(LAST_ADMIN)
        await RoleGrant.update({RoleGrant.revoked_at: now, RoleGrant.revoked_by: actor.account_id}).where(
            RoleGrant.id.is_in(target)
        )


async def _invites(where: Combinable) -> list[InviteOut]:
    rows = (
        await OrganizationInvite.select(
            OrganizationInvite.id,
            OrganizationInvite.organization,
            OrganizationInvite.organization.name.as_alias("organization_name"),
            OrganizationInvite.account,
            OrganizationInvite.status,
            OrganizationInvite.created_at,
        )
        .where(where)
        .order_by(OrganizationInvite.created_at)
    )
    return [
        InviteOut(
            id=as_uuid(r["id"]),
            organization_id=as_uuid(r["organization"]),
            organization_name=r["organization_name"],
            account_id=as_uuid(r["account"]),
            status=InviteStatus(r["status"]),
            created_at=r["created_at"],
        )
        for r in rows
    ]
