"""Codes people are shown: a session's rotating code on the organizer's screen, a volunteer's own rotating
code, and printed cards (公益护照) for people without smartphones: long-lived but revocable."""

from __future__ import annotations

import uuid
from datetime import datetime

import errors
from errors import DomainError
from volunteer.access import Principal
from volunteer.codes import CodeSigner
from volunteer.db import as_uuid, write_transaction
from volunteer.scans import require_organizer
from volunteer.tables import Membership, Role, ServiceSession, Volunteer


async def session_code(
    actor: Principal, signer: CodeSigner, session_id: uuid.UUID, now: datetime
) -> tuple[str, int]:
    await require_organizer(actor, session_id)
    row = await ServiceSession.select(ServiceSession.code_seq).where(ServiceSession.id == session_id).first()
    assert row is not None
    return signer.session_code(row["code_seq"], now), signer.seconds_left(now)


async def personal_code(actor: Principal, signer: CodeSigner, now: datetime) -> tuple[str, int]:
    row = await Volunteer.select(Volunteer.code_seq).where(Volunteer.account == actor.account_id).first()
    if row is None:
        raise DomainError(errors.VOLUNTEER_NOT_REGISTERED)
    return signer.personal_code(row["code_seq"], now), signer.seconds_left(now)


async def issue_card(actor: Principal, signer: CodeSigner, volunteer_id: uuid.UUID) -> tuple[int, str]:
    """A new card revokes every earlier one: the version in the code must match the volunteer's."""
    await _require_team_of(actor, volunteer_id)
    async with write_transaction():
        bumped = (
            await Volunteer.update({Volunteer.card_version: Volunteer.card_version + 1})
            .where(Volunteer.id == volunteer_id)
            .returning(Volunteer.card_version, Volunteer.code_seq)
        )
    version, seq = bumped[0]["card_version"], bumped[0]["code_seq"]
    return version, signer.card_code(seq, version)


async def current_card(actor: Principal, signer: CodeSigner, volunteer_id: uuid.UUID) -> tuple[int, str]:
    await _require_team_of(actor, volunteer_id)
    row = (
        await Volunteer.select(Volunteer.card_version, Volunteer.code_seq)
        .where(Volunteer.id == volunteer_id)
        .first()
    )
    assert row is not None
    return row["card_version"], signer.card_code(row["code_seq"], row["card_version"])


async def revoke_card(actor: Principal, volunteer_id: uuid.UUID) -> None:
    await _require_team_of(actor, volunteer_id)
    async with write_transaction():
        await Volunteer.update({Volunteer.card_version: Volunteer.card_version + 1}).where(
            Volunteer.id == volunteer_id
        )


async def _require_team_of(actor: Principal, volunteer_id: uuid.UUID) -> None:
    """Only an admin of an organization the volunteer belongs to (or that registered them) handles cards."""
    row = await Volunteer.select(Volunteer.registered_by_org).where(Volunteer.id == volunteer_id).first()
    if row is None:
        raise DomainError(errors.VOLUNTEER_NOT_FOUND)
    orgs = [g.organization_id for g in actor.grants if g.role is Role.org_admin and g.organization_id]
    if row["registered_by_org"] is not None and as_uuid(row["registered_by_org"]) in orgs:
        return
    if orgs and await Membership.exists().where(
        (Membership.volunteer == volunteer_id)
        & Membership.organization.is_in(orgs)
        & (Membership.status == "approved")
    ):
        return
    raise DomainError(errors.VOLUNTEER_NOT_FOUND)
