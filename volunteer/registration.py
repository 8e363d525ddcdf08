"""Real-name volunteer registration (DOMAIN rules 1-5): by the person, or by an organization with consent."""

from __future__ import annotations

import secrets
import uuid
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
    DomainError,
)
from volunteer.access import Principal, require_org_admin
from volunteer.accounts import normalize_phone
from volunteer.db import as_uuid, is_unique_violation, write_transaction
from volunteer.identity import ParsedId, mask_id_number, mask_phone, parse_id, volunteer_number
from volunteer.organizations import require_verified
from volunteer.pii import PiiCipher
from volunteer.profiles import dedupe, my_profile, to_view
from volunteer.regions import region_by_code
from volunteer.schemas import RegistrationByOrganization, VolunteerOut, VolunteerRegistration
from volunteer.tables import ConsentKind, ConsentRecord, DecisionStatus, Membership, Volunteer


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
    id_hash = _id_hash(pii, person)
    # One read answers both questions: is this account registered, is this ID number taken?
    existing = await Volunteer.raw(
        "SELECT id, account, name, phone_enc FROM volunteer WHERE account = {} OR id_number_hash = {}",
        actor.account_id,
        id_hash,
    )
    if any(row["account"] is not None and as_uuid(row["account"]) == actor.account_id for row in existing):
        raise DomainError(ACCOUNT_ALREADY_REGISTERED)
    if existing:
        return await _claim(actor, pii, data, existing[0], now)
    consents = [_consent(ConsentKind.self_registration, data.name, "online", now)]
    if data.guardian is not None:
        consents.append(_consent(ConsentKind.guardian, data.guardian.name, "online", now))
    row = await _insert(
        pii, data, person, id_hash, consents, account_id=actor.account_id, org_id=None, now=now
    )
    return to_view(row, pii, masked=False)


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
    """An organization enters someone's data only with that person's recorded consent (rule 5);
    the person becomes a member at once and sees it masked, as the organization does."""
    require_org_admin(actor, org_id)
    await require_verified(org_id)
    person = _check_person(policy, data.volunteer, today)
    consent = _consent(
        ConsentKind.by_organization,
        data.consent.consenting_person,
        data.consent.method,
        data.consent.consented_at,
    )
    consent[ConsentRecord.organization] = org_id
    row = await _insert(
        pii,
        data.volunteer,
        person,
        _id_hash(pii, person),
        [consent],
        account_id=None,
        org_id=org_id,
        now=now,
        member_of=(org_id, actor.account_id),
    )
    return to_view(row, pii, masked=True)


def new_code_seq() -> int:
    """The subject of a volunteer's check-in codes: random, so a code reveals nothing about anyone."""
    return secrets.randbits(39) + 1


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


def _id_hash(pii: PiiCipher, person: ParsedId) -> str:
    return pii.keyed_hash(f"{person.id_type}:{person.number}", purpose="id_number")


def _consent(kind: ConsentKind, person: str, method: str, at: datetime) -> dict[Column, Any]:
    return {
        ConsentRecord.kind: kind,
        ConsentRecord.consenting_person: person,
        ConsentRecord.method: method,
        ConsentRecord.consented_at: at,
    }


async def _insert(
    pii: PiiCipher,
    data: VolunteerRegistration,
    person: ParsedId,
    id_hash: str,
    consents: list[dict[Column, Any]],
    *,
    account_id: uuid.UUID | None,
    org_id: uuid.UUID | None,
    now: datetime,
    member_of: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Write the volunteer with its consent records (and membership) in one transaction."""
    phone = normalize_phone(data.phone)
    region = await region_by_code(data.region_code)
    guardian = data.guardian
    volunteer = Volunteer(
        account=account_id,
        volunteer_no=volunteer_number(),
        code_seq=new_code_seq(),
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
        skills=dedupe(data.skills),
        service_categories=dedupe(data.service_categories),
        guardian_name=guardian.name if guardian else None,
        guardian_relation=guardian.relation if guardian else None,
        guardian_phone_enc=pii.encrypt(normalize_phone(guardian.phone), purpose="phone")
        if guardian
        else None,
        registered_by_org=org_id,
        created_at=now,
        updated_at=now,
    )
    recorder = account_id or (member_of[1] if member_of else None)
    for attempt in range(3):
        try:
            async with write_transaction():
                await volunteer.save()
                for consent in consents:
                    await ConsentRecord(
                        _data={
                            **consent,
                            ConsentRecord.volunteer: volunteer.id,
                            ConsentRecord.recorded_by: recorder,
                            ConsentRecord.recorded_at: now,
                        }
                    ).save()
                if member_of is not None:
                    await Membership(
                        organization=member_of[0],
                        volunteer=volunteer.id,
                        status=DecisionStatus.approved,
                        requested_at=now,
                        decided_at=now,
                        decided_by=member_of[1],
                    ).save()
            break
        except Exception as exc:
            if (
                is_unique_violation(exc, "volunteer_no") or is_unique_violation(exc, "code_seq")
            ) and attempt < 2:
                volunteer.volunteer_no = volunteer_number()
                volunteer.code_seq = new_code_seq()
                volunteer._exists_in_db = False
                continue
            if is_unique_violation(exc, "id_number_hash"):
                raise DomainError(VOLUNTEER_ALREADY_REGISTERED) from exc
            if is_unique_violation(exc, "account"):
                raise DomainError(ACCOUNT_ALREADY_REGISTERED) from exc
            raise
    return {**volunteer.to_dict(), "region_code": region.code, "region_name": region.name}


async def _claim(
    actor: Principal, pii: PiiCipher, data: VolunteerRegistration, existing: dict[str, Any], now: datetime
) -> VolunteerOut:
    """A person an organization registered takes over that record when name and phone match it."""
    same_person = existing["name"] == data.name.strip() and pii.decrypt(
        existing["phone_enc"], purpose="phone"
    ) == normalize_phone(data.phone)
    if existing["account"] is not None or not same_person:
        raise DomainError(VOLUNTEER_ALREADY_REGISTERED)
    async with write_transaction():
        claimed = (
            await Volunteer.update({Volunteer.account: actor.account_id, Volunteer.updated_at: now})
            .where((Volunteer.id == existing["id"]) & Volunteer.account.is_null())
            .returning(Volunteer.id)
        )
        if not claimed:
            raise DomainError(VOLUNTEER_ALREADY_REGISTERED)
        await ConsentRecord(
            _data={
                **_consent(ConsentKind.self_registration, data.name, "online", now),
                ConsentRecord.volunteer: existing["id"],
                ConsentRecord.recorded_by: actor.account_id,
                ConsentRecord.recorded_at: now,
            }
        ).save()
    return await my_profile(actor, pii)
