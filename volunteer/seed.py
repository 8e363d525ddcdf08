"""A demo district for a fresh embedded install, built through the same services the API uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from volunteer.access import Grant, Principal
from volunteer.categories import ServiceCategory
from volunteer.hours import CHINA
from volunteer.identity import IdType, check_digit_mod11_2
from volunteer.organizations import decide_organization, register_organization
from volunteer.passwords import hash_password
from volunteer.pii import PiiCipher
from volunteer.projects import create_project, publish_project
from volunteer.regions import import_regions, read_csv, region_by_code
from volunteer.registration import Policy, register_by_organization, register_self
from volunteer.schemas import (
    Consent,
    OrganizationCreate,
    ProjectCreate,
    RegistrationByOrganization,
    SessionCreate,
    VolunteerRegistration,
)
from volunteer.signups import apply, decide_signup
from volunteer.tables import Account, OrganizationKind, Region, Role, RoleGrant

DEMO_REGIONS = Path(__file__).parent / "data" / "demo_regions.csv"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    who: str
    phone: str
    password: str


async def seed_demo(pii: PiiCipher, now: datetime) -> list[DemoLogin] | None:
    """Seed once: returns the logins it created, or None when the database already has data."""
    if await Region.count() > 0:
        return None
    await import_regions(read_csv(DEMO_REGIONS))
    logins = [
        DemoLogin("平台管理员 admin", "13900000001", "demo2026admin"),
        DemoLogin("崇明区文明办审核人 auditor", "13900000002", "demo2026audit"),
        DemoLogin("鳌山社区志愿服务队管理员 org_admin", "13900000003", "demo2026team"),
        DemoLogin("志愿者 volunteer（张小明）", "13900000004", "demo2026volunteer"),
    ]
    admin, auditor, captain, person = [await _account(pii, login, now) for login in logins]
    await _grant(admin, Role.admin, now)
    district = await region_by_code("310151")
    await _grant(auditor, Role.auditor, now, region_id=district.id)

    org = await register_organization(
        Principal(captain),
        OrganizationCreate(
            name="城桥镇鳌山社区志愿服务队",
            kind=OrganizationKind.community_team,
            region_code="310151101001",
            contact_name="李队长",
            contact_phone="021-59612345",
        ),
        now,
    )
    await decide_organization(
        Principal(auditor, (Grant(Role.auditor, region_path=district.path),)),
        org.id,
        approve=True,
        reason=None,
        now=now,
    )
    first17 = "31015119850615123"
    person_data = VolunteerRegistration(
        name="张小明",
        id_type=IdType.resident_id,
        id_number=first17 + check_digit_mod11_2(first17),
        region_code="310151101001",
        phone=logins[3].phone,
        skills=["急救", "摄影"],
        service_categories=[ServiceCategory.community_service, ServiceCategory.elderly_and_disabled],
    )
    today = now.astimezone(CHINA).date()
    consent = Consent(consenting_person="张小明", method="written", consented_at=now - timedelta(days=1))
    await register_by_organization(
        Principal(captain, (Grant(Role.org_admin, organization_id=org.id),)),
        pii,
        Policy(),
        org.id,
        RegistrationByOrganization(volunteer=person_data, consent=consent),
        today=today,
        now=now,
    )
    # The person then signs in and takes over the record the team entered (name and phone match).
    await register_self(Principal(person), pii, Policy(), person_data, today=today, now=now)
    await _demo_project(
        Principal(captain, (Grant(Role.org_admin, organization_id=org.id),)), person, org.id, now
    )
    return logins


async def _demo_project(
    captain: Principal, volunteer_account: uuid.UUID, org_id: uuid.UUID, now: datetime
) -> None:
    """A published project whose first session opens for check-in at once, the demo volunteer approved."""
    soon = now + timedelta(minutes=20)
    project = await create_project(
        captain,
        ProjectCreate(
            organization_id=org_id,
            title="鳌山社区敬老院陪伴",
            category=ServiceCategory.elderly_and_disabled,
            description="陪伴老人聊天、读报，协助午餐",
            region_code="310151101001",
            address="上海市崇明区城桥镇鳌山路1号",
            person_in_charge="李队长",
            contact_phone="021-59612345",
            headcount=30,
            latitude=31.6228,
            longitude=121.3976,
            geofence_m=500,
            allow_walk_in=True,
            sessions=[
                SessionCreate(starts_at=soon, ends_at=soon + timedelta(hours=3), capacity=30),
                SessionCreate(
                    starts_at=soon + timedelta(days=1), ends_at=soon + timedelta(days=1, hours=3), capacity=30
                ),
            ],
        ),
        now,
    )
    await publish_project(captain, project.id, now)
    first_session = min(project.sessions, key=lambda s: s.starts_at)
    signup = await apply(Principal(volunteer_account), first_session.id, now)
    await decide_signup(captain, signup.id, approve=True, reason=None, now=now)


async def _account(pii: PiiCipher, login: DemoLogin, now: datetime) -> uuid.UUID:
    account = Account(
        display_name=login.who.split(" ")[0],
        phone_hash=pii.keyed_hash(login.phone, purpose="phone"),
        phone_enc=pii.encrypt(login.phone, purpose="phone"),
        password_hash=await hash_password(login.password),
        created_at=now,
    )
    await account.save()
    return account.id


async def _grant(account_id: uuid.UUID, role: Role, now: datetime, *, region_id: int | None = None) -> None:
    await RoleGrant(account=account_id, role=role, region=region_id, granted_at=now).save()
