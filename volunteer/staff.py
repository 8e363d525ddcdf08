"""Staff accounts managed by an admin: create, grant and withdraw scoped roles, disable."""

from __future__ import annotations

import uuid
from datetime import datetime

from errors import (
    ACCOUNT_NOT_FOUND,
    ORGANIZATION_NOT_FOUND,
    PHONE_ALREADY_USED,
    ROLE_ALREADY_GRANTED,
    ROLE_GRANT_NOT_FOUND,
    ROLE_SCOPE_INVALID,
    DomainError,
)
from volunteer.access import Principal, require_role
from volunteer.accounts import GrantView, normalize_phone, revoke_all_sessions
from volunteer.db import is_unique_violation, write_transaction
from volunteer.passwords import check_strength, hash_password
from volunteer.pii import PiiCipher
from volunteer.regions import region_by_code
from volunteer.tables import Account, Organization, Role, RoleGrant

# Which scope each grantable role carries; volunteers are not granted, they register.
SCOPE: dict[Role, str | None] = {
    Role.org_admin: "organization",
    Role.auditor: "region",
    Role.dispatcher: "region",
    Role.requester: None,
    Role.partner: None,
    Role.admin: None,
}


async def create_staff(
    actor: Principal, pii: PiiCipher, *, phone: str, name: str, password: str, now: datetime
) -> Account:
    require_role(actor, Role.admin)
    phone = normalize_phone(phone)
    check_strength(password)
    account = Account(
        display_name=name,
        phone_hash=pii.keyed_hash(phone, purpose="phone"),
        phone_enc=pii.encrypt(phone, purpose="phone"),
        password_hash=await hash_password(password),
        created_at=now,
    )
    try:
        async with write_transaction():
            await account.save()
    except Exception as exc:
        if is_unique_violation(exc):
            raise DomainError(PHONE_ALREADY_USED) from exc
        raise
    return account


async def grant_role(
    actor: Principal,
    account_id: uuid.UUID,
    role: Role,
    *,
    organization_id: uuid.UUID | None,
    region_code: str | None,
    now: datetime,
) -> GrantView:
    require_role(actor, Role.admin)
    if role not in SCOPE:
        raise DomainError(ROLE_SCOPE_INVALID, {"role": role})
    scope = SCOPE[role]
    if (scope == "organization") != (organization_id is not None) or (scope == "region") != (
        region_code is not None
    ):
        raise DomainError(ROLE_SCOPE_INVALID, {"role": role, "scope": scope})
    region_id = (await region_by_code(region_code)).id if region_code else None
    async with write_transaction():
        if not await Account.exists().where(Account.id == account_id):
            raise DomainError(ACCOUNT_NOT_FOUND)
        if organization_id and not await Organization.exists().where(Organization.id == organization_id):
            raise DomainError(ORGANIZATION_NOT_FOUND)
        if await RoleGrant.exists().where(
            (RoleGrant.account == account_id)
            & (RoleGrant.role == role)
            & _same_scope(organization_id, region_id)
            & RoleGrant.revoked_at.is_null()
        ):
            raise DomainError(ROLE_ALREADY_GRANTED)
        grant = RoleGrant(
            account=account_id,
            role=role,
            organization=organization_id,
            region=region_id,
            granted_by=actor.account_id,
            granted_at=now,
        )
        await grant.save()
    return GrantView(grant.id, role, organization_id, region_code, now)


async def withdraw_role(actor: Principal, account_id: uuid.UUID, grant_id: uuid.UUID, now: datetime) -> None:
    require_role(actor, Role.admin)
    async with write_transaction():
        withdrawn = (
            await RoleGrant.update({RoleGrant.revoked_at: now, RoleGrant.revoked_by: actor.account_id})
            .where(
                (RoleGrant.id == grant_id)
                & (RoleGrant.account == account_id)
                & RoleGrant.revoked_at.is_null()
            )
            .returning(RoleGrant.id)
        )
    if not withdrawn:
        raise DomainError(ROLE_GRANT_NOT_FOUND)


async def disable_account(actor: Principal, account_id: uuid.UUID, now: datetime) -> None:
    """Disabling ends every session at once: refresh tokens are revoked, access tokens fail their check."""
    require_role(actor, Role.admin)
    async with write_transaction():
        disabled = (
            await Account.update({Account.is_active: False, Account.disabled_at: now})
            .where(Account.id == account_id)
            .returning(Account.id)
        )
        if not disabled:
            raise DomainError(ACCOUNT_NOT_FOUND)
        await revoke_all_sessions(account_id, now)


async def list_staff(actor: Principal, *, limit: int, offset: int) -> list[Account]:
    require_role(actor, Role.admin)
    return (
        await Account.objects()
        .where(Account.phone_hash.is_not_null())
        .order_by(Account.created_at)
        .limit(limit)
        .offset(offset)
    )


def _same_scope(organization_id: uuid.UUID | None, region_id: int | None):  # type: ignore[no-untyped-def]
    org = (
        RoleGrant.organization.is_null()
        if organization_id is None
        else RoleGrant.organization == organization_id
    )
    region = RoleGrant.region.is_null() if region_id is None else RoleGrant.region == region_id
    return org & region
