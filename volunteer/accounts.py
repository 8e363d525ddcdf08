"""Signing in: WeChat and password logins, rotating refresh tokens, and the principal behind a token."""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from errors import (
    ACCOUNT_DISABLED,
    LOGIN_FAILED,
    PHONE_INVALID,
    REFRESH_TOKEN_INVALID,
    REFRESH_TOKEN_REUSED,
    TOKEN_REVOKED,
    DomainError,
)
from volunteer.access import Grant, Principal
from volunteer.db import as_uuid, as_uuid_or_none, is_unique_violation, write_transaction
from volunteer.passwords import check_strength, hash_password, verify_password
from volunteer.pii import PiiCipher
from volunteer.schemas import GrantOut, Me
from volunteer.tables import Account, RefreshToken, Role, Volunteer
from volunteer.tokens import (
    TokenKeys,
    new_refresh_secret,
    refresh_token_hash,
    split_refresh_token,
)
from volunteer.wechat import WeChatClient

_PHONE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_in: int
    account_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class GrantView:
    id: uuid.UUID
    role: Role
    organization_id: uuid.UUID | None
    region_code: str | None
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What the login flows need: signing keys, refresh lifetime, and the PII cipher for phones."""

    keys: TokenKeys
    refresh_ttl: timedelta
    pii: PiiCipher


def normalize_phone(phone: str) -> str:
    phone = phone.strip().removeprefix("+86").replace(" ", "").replace("-", "")
    if not _PHONE.fullmatch(phone):
        raise DomainError(PHONE_INVALID)
    return phone


async def login_wechat(ctx: AuthContext, wechat: WeChatClient, code: str, now: datetime) -> TokenPair:
    openid = await wechat.openid_for(code)
    account = await Account.objects().get(Account.wechat_openid == openid)
    if account is None:
        try:
            async with write_transaction():
                account = Account(wechat_openid=openid, created_at=now)
                await account.save()
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            # Two first logins raced; the other one created the account.
            account = await Account.objects().get(Account.wechat_openid == openid)
            assert account is not None
    if not account.is_active:
        raise DomainError(ACCOUNT_DISABLED)
    return await _issue(ctx, account.id, uuid.uuid4(), now)


async def login_password(ctx: AuthContext, phone: str, password: str, now: datetime) -> TokenPair:
    try:
        phone_hash = ctx.pii.keyed_hash(normalize_phone(phone), purpose="phone")
    except DomainError:
        phone_hash = ""
    account = await Account.objects().get(Account.phone_hash == phone_hash) if phone_hash else None
    stored = account.password_hash if account is not None else None
    if not await verify_password(stored, password) or account is None:
        raise DomainError(LOGIN_FAILED)
    if not account.is_active:
        raise DomainError(ACCOUNT_DISABLED)
    return await _issue(ctx, account.id, uuid.uuid4(), now)


async def refresh(ctx: AuthContext, token: str, now: datetime) -> TokenPair:
    row = await _refresh_row(token)
    if row.revoked_at is not None or row.expires_at <= now:
        raise DomainError(REFRESH_TOKEN_INVALID)
    async with write_transaction():
        # Conditional write: of two requests presenting the same token, exactly one wins.
        won = (
            await RefreshToken.update({RefreshToken.used_at: now})
            .where((RefreshToken.id == row.id) & RefreshToken.used_at.is_null())
            .returning(RefreshToken.id)
        )
        if not won:
            await _revoke_family(row.family, now)
        else:
            account = await Account.objects().get(Account.id == row.account)
            if account is None or not account.is_active:
                raise DomainError(ACCOUNT_DISABLED)
            return await _issue(ctx, row.account, row.family, now)
    # A used token presented again means it leaked: the whole login (family) is ended.
    raise DomainError(REFRESH_TOKEN_REUSED)


async def logout(token: str, now: datetime) -> None:
    row = await _refresh_row(token)
    async with write_transaction():
        await _revoke_family(row.family, now)


async def load_principal(account_id: uuid.UUID) -> Principal:
    """One query per request, so a disabled account or a withdrawn role takes effect at once."""
    rows = await Account.raw(
        "SELECT a.is_active, g.role, g.organization, r.path "
        "FROM account a "
        "LEFT JOIN role_grant g ON g.account = a.id AND g.revoked_at IS NULL "
        "LEFT JOIN region r ON r.id = g.region "
        "WHERE a.id = {}",
        account_id,
    )
    if not rows or not rows[0]["is_active"]:
        raise DomainError(TOKEN_REVOKED)
    grants = tuple(
        Grant(Role(r["role"]), as_uuid_or_none(r["organization"]), r["path"])
        for r in rows
        if r["role"] is not None
    )
    return Principal(account_id=account_id, grants=grants)


async def grants_of(account_id: uuid.UUID) -> list[GrantView]:
    return (await grants_by_account([account_id])).get(account_id, [])


async def grants_by_account(account_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[GrantView]]:
    """Active grants of many accounts in one query (a staff list page is one read, not one per row)."""
    if not account_ids:
        return {}
    marks = ", ".join(["{}"] * len(account_ids))
    rows = await Account.raw(
        "SELECT g.account, g.id, g.role, g.organization, r.code AS region_code, g.granted_at "
        "FROM role_grant g "
        f"LEFT JOIN region r ON r.id = g.region WHERE g.account IN ({marks}) AND g.revoked_at IS NULL "
        "ORDER BY g.granted_at",
        *account_ids,
    )
    grants: dict[uuid.UUID, list[GrantView]] = {}
    for r in rows:
        grants.setdefault(as_uuid(r["account"]), []).append(
            GrantView(
                as_uuid(r["id"]),
                Role(r["role"]),
                as_uuid_or_none(r["organization"]),
                r["region_code"],
                r["granted_at"],
            )
        )
    return grants


async def describe(principal: Principal) -> Me:
    account = await Account.objects().get(Account.id == principal.account_id)
    if account is None:
        raise DomainError(TOKEN_REVOKED)
    volunteer = (
        await Volunteer.select(Volunteer.id, Volunteer.volunteer_no)
        .where(Volunteer.account == principal.account_id)
        .first()
    )
    return Me(
        account_id=account.id,
        display_name=account.display_name,
        roles=[
            GrantOut(g.id, g.role, g.organization_id, g.region_code, g.granted_at)
            for g in await grants_of(account.id)
        ],
        volunteer_id=as_uuid_or_none(volunteer["id"]) if volunteer else None,
        volunteer_no=volunteer["volunteer_no"] if volunteer else None,
    )


async def change_password(principal: Principal, old: str, new: str, now: datetime) -> None:
    """Changing the password ends the other sessions: whoever knew the old one is signed out."""
    account = await Account.objects().get(Account.id == principal.account_id)
    if account is None or not await verify_password(account.password_hash, old):
        raise DomainError(LOGIN_FAILED)
    check_strength(new)
    new_hash = await hash_password(new)
    async with write_transaction():
        await Account.update({Account.password_hash: new_hash}).where(Account.id == account.id)
        await revoke_all_sessions(account.id, now)


async def revoke_all_sessions(account_id: uuid.UUID, now: datetime) -> None:
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(
        (RefreshToken.account == account_id) & RefreshToken.revoked_at.is_null()
    )


async def _refresh_row(token: str) -> RefreshToken:
    parts = split_refresh_token(token)
    row = await RefreshToken.objects().get(RefreshToken.id == parts[0]) if parts else None
    if parts is None or row is None or not hmac.compare_digest(row.token_hash, refresh_token_hash(parts[1])):
        raise DomainError(REFRESH_TOKEN_INVALID)
    return row


async def _revoke_family(family: uuid.UUID, now: datetime) -> None:
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(
        (RefreshToken.family == family) & RefreshToken.revoked_at.is_null()
    )


async def _issue(ctx: AuthContext, account_id: uuid.UUID, family: uuid.UUID, now: datetime) -> TokenPair:
    secret = new_refresh_secret()
    row = RefreshToken(
        account=account_id,
        family=family,
        token_hash=refresh_token_hash(secret),
        issued_at=now,
        expires_at=now + ctx.refresh_ttl,
    )
    async with write_transaction():
        await row.save()
    return TokenPair(
        access_token=ctx.keys.issue_access(account_id, now),
        access_expires_in=int(ctx.keys.access_ttl.total_seconds()),
        refresh_token=f"{row.id}.{secret}",
        refresh_expires_in=int(ctx.refresh_ttl.total_seconds()),
        account_id=account_id,
    )
