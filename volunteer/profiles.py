"""Reading volunteer profiles and showing them unmasked or masked, depending on who looks (rule 3).

Reads are one raw join: Piccolo's query builder costs more CPU than the database for this hot path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from errors import VOLUNTEER_NOT_FOUND, VOLUNTEER_NOT_REGISTERED, DomainError
from volunteer.access import Principal
from volunteer.accounts import normalize_phone
from volunteer.categories import ServiceCategory
from volunteer.db import as_str_list, as_uuid, as_uuid_or_none, write_transaction
from volunteer.identity import IdType, mask_name, mask_phone
from volunteer.pii import PiiCipher
from volunteer.regions import region_by_code
from volunteer.schemas import ProfileUpdate, VolunteerOut
from volunteer.tables import Membership, Role, Volunteer

_SELECT = (
    "SELECT v.id, v.account, v.volunteer_no, v.name, v.gender, v.birth_date, v.id_type, v.id_number_enc, "
    "v.id_number_masked, v.phone_enc, v.phone_masked, v.skills, v.service_categories, v.registered_by_org, "
    "v.created_at, r.code AS region_code, r.name AS region_name, r.path AS region_path "
    "FROM volunteer v JOIN region r ON r.id = v.region "
)


async def volunteer_of(account_id: uuid.UUID) -> dict[str, Any]:
    """The volunteer an account registered as, or VOLUNTEER_NOT_REGISTERED telling them how to register."""
    rows = await Volunteer.raw(_SELECT + "WHERE v.account = {}", account_id)
    if not rows:
        raise DomainError(VOLUNTEER_NOT_REGISTERED)
    row: dict[str, Any] = rows[0]
    return row


async def my_profile(actor: Principal, pii: PiiCipher) -> VolunteerOut:
    return to_view(await volunteer_of(actor.account_id), pii, masked=False)


async def update_profile(
    actor: Principal, pii: PiiCipher, data: ProfileUpdate, now: datetime
) -> VolunteerOut:
    """Name and ID number are not editable: they were verified at registration and never change."""
    volunteer = await volunteer_of(actor.account_id)
    changes: dict[Any, Any] = {Volunteer.updated_at: now}
    if data.phone is not None:
        phone = normalize_phone(data.phone)
        changes[Volunteer.phone_enc] = pii.encrypt(phone, purpose="phone")
        changes[Volunteer.phone_masked] = mask_phone(phone)
    if data.region_code is not None:
        changes[Volunteer.region] = (await region_by_code(data.region_code)).id
    if data.skills is not None:
        changes[Volunteer.skills] = dedupe(data.skills)
    if data.service_categories is not None:
        changes[Volunteer.service_categories] = dedupe(data.service_categories)
    async with write_transaction():
        await Volunteer.update(changes).where(Volunteer.id == volunteer["id"])
    return await my_profile(actor, pii)


async def view_volunteer(actor: Principal, pii: PiiCipher, volunteer_id: uuid.UUID) -> VolunteerOut:
    """The person and the auditors of their region see everything; their organizations see it masked."""
    rows = await Volunteer.raw(_SELECT + "WHERE v.id = {}", volunteer_id)
    if not rows:
        raise DomainError(VOLUNTEER_NOT_FOUND)
    sight = await sight_of(actor, volunteer_id, rows[0])
    if sight is None:
        raise DomainError(VOLUNTEER_NOT_FOUND)
    return to_view(rows[0], pii, masked=sight == "masked")


async def sight_of(
    actor: Principal, volunteer_id: uuid.UUID, row: Mapping[str, Any]
) -> Literal["full", "masked"] | None:
    """What the actor may see of a volunteer (row: account, region_path, registered_by_org): all of it as
    the person or an auditor of their region, masked as an admin of an organization they registered with
    or belong to, else nothing."""
    if as_uuid_or_none(row["account"]) == actor.account_id or actor.covers(Role.auditor, row["region_path"]):
        return "full"
    org_ids = [g.organization_id for g in actor.grants if g.role is Role.org_admin and g.organization_id]
    if org_ids and (
        as_uuid_or_none(row["registered_by_org"]) in org_ids
        or await Membership.exists().where(
            (Membership.volunteer == volunteer_id) & Membership.organization.is_in(org_ids)
        )
    ):
        return "masked"
    return None


def to_view(row: Mapping[str, Any], pii: PiiCipher, *, masked: bool) -> VolunteerOut:
    return VolunteerOut(
        id=as_uuid(row["id"]),
        volunteer_no=row["volunteer_no"],
        name=mask_name(row["name"]) if masked else row["name"],
        masked=masked,
        gender=row["gender"],
        birth_date=None if masked else row["birth_date"],
        id_type=IdType(row["id_type"]),
        id_number=row["id_number_masked"]
        if masked
        else pii.decrypt(row["id_number_enc"], purpose="id_number"),
        phone=row["phone_masked"] if masked else pii.decrypt(row["phone_enc"], purpose="phone"),
        region_code=row["region_code"],
        region_name=row["region_name"],
        skills=as_str_list(row["skills"]),
        service_categories=[ServiceCategory(c) for c in as_str_list(row["service_categories"])],
        created_at=row["created_at"],
    )


def dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items))
