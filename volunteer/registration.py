"""Real-name volunteer registration (DOMAIN rules 1-5) and who sees a profile unmasked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from piccolo.columns import Column

from errors import (
    ACCOUNT_ALREADY_REGISTERED,
    BIRTH_DATE_REQUIRED,
    GUARDIAN_CONSENT_REQUIRED,
    UNDER_MINIMUM_AGE,
    VOLUNTEER_ALREADY_REGISTERED,
    VOLUNTEER_NOT_FOUND,
    VOLUNTEER_NOT_REGISTERED,
    DomainError,
)
from volunteer.access import Principal, require_org_admin
from volunteer.accounts import normalize_phone
from volunteer.db import is_unique_violation, write_transaction
from volunteer.identity import (
    IdType,
    ParsedId,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_id,
    volunteer_number,
)
from volunteer.organizations import require_verified
from volunteer.pii import PiiCipher
from volunteer.regions import region_by_code
from volunteer.schemas import ProfileUpdate, RegistrationByOrganization, VolunteerOut, VolunteerRegistration
from volunteer.tables import ConsentKind, ConsentRecord, DecisionStatus, Membership, Region, Role, Volunteer


@dataclass(frozen=True, slots=True)
class Policy:
    min_age: int = 14
    adult_age: int = 18


async def register_self(
    actor: Principal,
    pii: PiiCipher,
    policy: Policy,
    data: VolunteerRegistration,
    *,
    today: date,
    now: datetime,
) -> VolunteerOut:
    person = _check_person(policy, data, today)
    if await Volunteer.exists().where(Volunteer.account == actor.account_id):
        raise DomainError(ACCOUNT_ALREADY_REGISTERED)
    id_hash = pii.keyed_hash(f"{person.id_type}:{person.number}", purpose="id_number")
    claimed = await _claim_entered_by_organization(actor, pii, data, id_hash, now)
    if claimed is not None:
        return await _view(claimed, pii, masked=False)
    volunteer = await _insert(pii, data, person, id_hash, account_id=actor.account_id, org_id=None, now=now)
    consents = [_consent(ConsentKind.self_registration, data.name, "online", now)]
    if data.guardian is not None:
        consents.append(_consent(ConsentKind.guardian, data.guardian.name, "online", now))
    await _save_with(volunteer, consents, recorded_by=actor.account_id, now=now)
    return await _view(volunteer, pii, masked=False)


async def register_by_organization(
    actor: Principal,
    pii: PiiCipher,
    policy: Policy,
    org_id: uuid.UUID,
    data: RegistrationByOrganization,
    *,
    today: date,
    now: datetime,
) -> VolunteerOut:
    """An organization enters someone's data only with that person's recorded consent (rule 5)."""
    require_org_admin(actor, org_id)
    await require_verified(org_id)
    person = _check_person(policy, data.volunteer, today)
    id_hash = pii.keyed_hash(f"{person.id_type}:{person.number}", purpose="id_number")
    volunteer = await _insert(pii, data.volunteer, person, id_hash, account_id=None, org_id=org_id, now=now)
    consent = _consent(
        ConsentKind.by_organization,
        data.consent.consenting_person,
        data.consent.method,
        data.consent.consented_at,
    )
    consent[ConsentRecord.organization] = org_id
    membership = Membership(
        organization=org_id,
        volunteer=volunteer.id,
        status=DecisionStatus.approved,
        requested_at=now,
        decided_at=now,
        decided_by=actor.account_id,
    )
    await _save_with(volunteer, [consent], recorded_by=actor.account_id, now=now, membership=membership)
    return await _view(volunteer, pii, masked=True)


async def volunteer_of(account_id: uuid.UUID) -> Volunteer:
    volunteer = await Volunteer.objects(Volunteer.region).get(Volunteer.account == account_id)
    if volunteer is None:
        raise DomainError(VOLUNTEER_NOT_REGISTERED)
    return volunteer


async def my_profile(actor: Principal, pii: PiiCipher) -> VolunteerOut:
    return await _view(await volunteer_of(actor.account_id), pii, masked=False)


async def update_profile(
    actor: Principal, pii: PiiCipher, data: ProfileUpdate, now: datetime
) -> VolunteerOut:
    """Name and ID number are not editable: they were verified at registration and never change."""
    volunteer = await volunteer_of(actor.account_id)
    changes: dict[object, object] = {Volunteer.updated_at: now}
    if data.phone is not None:
        phone = normalize_phone(data.phone)
        changes[Volunteer.phone_enc] = pii.encrypt(phone, purpose="phone")
        changes[Volunteer.phone_masked] = mask_phone(phone)
    if data.region_code is not None:
        changes[Volunteer.region] = (await region_by_code(data.region_code)).id
    if data.skills is not None:
        changes[Volunteer.skills] = _dedupe(data.skills)
    if data.service_categories is not None:
        changes[Volunteer.service_categories] = _dedupe(data.service_categories)
    async with write_transaction():
        await Volunteer.update(changes).where(Volunteer.id == volunteer.id)  # type: ignore[arg-type]
    return await my_profile(actor, pii)


async def view_volunteer(actor: Principal, pii: PiiCipher, volunteer_id: uuid.UUID) -> VolunteerOut:
    """The person and the auditors of their region see everything; their organizations see it masked."""
    volunteer = await Volunteer.objects(Volunteer.region).get(Volunteer.id == volunteer_id)
    if volunteer is None:
        raise DomainError(VOLUNTEER_NOT_FOUND)
    if volunteer.account == actor.account_id or actor.covers(Role.auditor, volunteer.region.path):
        return await _view(volunteer, pii, masked=False)
    org_ids = [g.organization_id for g in actor.grants if g.role is Role.org_admin and g.organization_id]
    if org_ids and (
        volunteer.registered_by_org in org_ids
        or await Membership.exists().where(
            (Membership.volunteer == volunteer_id) & Membership.organization.is_in(org_ids)
        )
    ):
        return await _view(volunteer, pii, masked=True)
    raise DomainError(VOLUNTEER_NOT_FOUND)


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _check_person(policy: Policy, data: VolunteerRegistration, today: date) -> ParsedId:
    parsed = parse_id(data.id_type, data.id_number, today=today)
    if parsed.birth_date is None or parsed.gender is None:
        # Permits and passports carry no birth date: the applicant states it.
        if data.birth_date is None or data.gender not in ("male", "female"):
            raise DomainError(BIRTH_DATE_REQUIRED)
        parsed = ParsedId(parsed.id_type, parsed.number, data.birth_date, data.gender)  # type: ignore[arg-type]
    assert parsed.birth_date is not None
    age = age_on(parsed.birth_date, today)
    if age < policy.min_age:
        raise DomainError(UNDER_MINIMUM_AGE, {"min_age": policy.min_age})
    if age < policy.adult_age and not (data.guardian is not None and data.guardian.consent):
        raise DomainError(GUARDIAN_CONSENT_REQUIRED, {"adult_age": policy.adult_age})
    return parsed


async def _insert(
    pii: PiiCipher,
    data: VolunteerRegistration,
    person: ParsedId,
    id_hash: str,
    *,
    account_id: uuid.UUID | None,
    org_id: uuid.UUID | None,
    now: datetime,
) -> Volunteer:
    """Build the row (not saved): the caller saves it with its consent records in one transaction."""
    phone = normalize_phone(data.phone)
    region = await region_by_code(data.region_code)
    guardian = data.guardian if data.guardian is not None and person.birth_date is not None else None
    volunteer = Volunteer(
        account=account_id,
        volunteer_no=volunteer_number(),
        name=data.name.strip(),
        gender=person.gender,
        birth_date=person.birth_date,
        id_type=person.id_type,
        id_number_enc=pii.encrypt(person.number, purpose="id_number"),
        id_number_hash=id_hash,
        id_number_masked=mask_id_number(person.number),
        phone_enc=pii.encrypt(phone, purpose="phone"),
        phone_masked=mask_phone(phone),
        region=region.id,
        skills=_dedupe(data.skills),
        service_categories=_dedupe(data.service_categories),
        guardian_name=guardian.name if guardian else None,
        guardian_relation=guardian.relation if guardian else None,
        guardian_phone_enc=pii.encrypt(normalize_phone(guardian.phone), purpose="phone")
        if guardian
        else None,
        registered_by_org=org_id,
        created_at=now,
        updated_at=now,
    )
    volunteer.region = region
    return volunteer


def _consent(kind: ConsentKind, person: str, method: str, at: datetime) -> dict[Column, Any]:
    return {
        ConsentRecord.kind: kind,
        ConsentRecord.consenting_person: person,
        ConsentRecord.method: method,
        ConsentRecord.consented_at: at,
    }


async def _save_with(
    volunteer: Volunteer,
    consents: list[dict[Column, Any]],
    *,
    recorded_by: uuid.UUID,
    now: datetime,
    membership: Membership | None = None,
) -> None:
    region = volunteer.region
    volunteer.region = region.id
    for attempt in range(3):
        try:
            async with write_transaction():
                await volunteer.save()
                for consent in consents:
                    await ConsentRecord(
                        _data={
                            **consent,
                            ConsentRecord.volunteer: volunteer.id,
                            ConsentRecord.recorded_by: recorded_by,
                            ConsentRecord.recorded_at: now,
                        }
                    ).save()
                if membership is not None:
                    await membership.save()
            volunteer.region = region
            return
        except Exception as exc:
            if is_unique_violation(exc, "volunteer_no") and attempt < 2:
                volunteer.volunteer_no = volunteer_number()
                volunteer._exists_in_db = False
                continue
            if is_unique_violation(exc, "id_number_hash"):
                raise DomainError(VOLUNTEER_ALREADY_REGISTERED) from exc
            if is_unique_violation(exc, "account"):
                raise DomainError(ACCOUNT_ALREADY_REGISTERED) from exc
            raise


async def _claim_entered_by_organization(
    actor: Principal, pii: PiiCipher, data: VolunteerRegistration, id_hash: str, now: datetime
) -> Volunteer | None:
    """A person an organization registered takes over the record when name and phone match it."""
    existing = await Volunteer.objects(Volunteer.region).get(Volunteer.id_number_hash == id_hash)
    if existing is None:
        return None
    same_person = existing.name == data.name.strip() and pii.decrypt(
        existing.phone_enc, purpose="phone"
    ) == normalize_phone(data.phone)
    if existing.account is not None or not same_person:
        raise DomainError(VOLUNTEER_ALREADY_REGISTERED)
    async with write_transaction():
        claimed = (
            await Volunteer.update({Volunteer.account: actor.account_id, Volunteer.updated_at: now})
            .where((Volunteer.id == existing.id) & Volunteer.account.is_null())
            .returning(Volunteer.id)
        )
        if not claimed:
            raise DomainError(VOLUNTEER_ALREADY_REGISTERED)
        await ConsentRecord(
            volunteer=existing.id,
            kind=ConsentKind.self_registration,
            consenting_person=data.name,
            method="online",
            consented_at=now,
            recorded_by=actor.account_id,
            recorded_at=now,
        ).save()
    existing.account = actor.account_id
    return existing


async def _view(volunteer: Volunteer, pii: PiiCipher, *, masked: bool) -> VolunteerOut:
    region: Region = volunteer.region
    return VolunteerOut(
        id=volunteer.id,
        volunteer_no=volunteer.volunteer_no,
        name=mask_name(volunteer.name) if masked else volunteer.name,
        masked=masked,
        gender=volunteer.gender,
        birth_date=None if masked else volunteer.birth_date,
        id_type=IdType(volunteer.id_type),
        id_number=volunteer.id_number_masked
        if masked
        else pii.decrypt(volunteer.id_number_enc, purpose="id_number"),
        phone=volunteer.phone_masked if masked else pii.decrypt(volunteer.phone_enc, purpose="phone"),
        region_code=region.code,
        region_name=region.name,
        skills=_json_list(volunteer.skills),
        service_categories=_json_list(volunteer.service_categories),
        created_at=volunteer.created_at,
    )


def _json_list(value: object) -> list[Any]:
    """Piccolo hands JSON columns back as text."""
    loaded = json.loads(value) if isinstance(value, str) else value
    return list(loaded) if isinstance(loaded, list) else []


def _dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items))
