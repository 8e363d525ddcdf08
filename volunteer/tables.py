"""Piccolo tables for people and organizations: columns and constraints only, no rules.

Composite unique keys and CHECK constraints live in the migrations as raw SQL (see
piccolo_migrations/): SQLite cannot add a constraint to an existing table, which is how
Piccolo's auto-migrations would write them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Role(StrEnum):
    volunteer = "volunteer"
    org_admin = "org_admin"
    dispatcher = "dispatcher"
    auditor = "auditor"
    requester = "requester"
    partner = "partner"
    admin = "admin"


class RegionLevel(StrEnum):
    district = "district"  # 区 / 新时代文明实践中心
    street = "street"  # 街镇 / 实践所
    community = "community"  # 村居 / 实践站


class OrganizationKind(StrEnum):
    volunteer_association = "volunteer_association"
    social_organization = "social_organization"
    public_institution = "public_institution"
    enterprise = "enterprise"
    school = "school"
    community_team = "community_team"  # under a 居委/村委; may have no 统一社会信用代码


class OrganizationStatus(StrEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class DecisionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class InviteStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class ConsentKind(StrEnum):
    self_registration = "self_registration"
    by_organization = "by_organization"
    guardian = "guardian"


class Region(Table):
    id = Serial(primary_key=True)
    code = Varchar(length=12, unique=True)
    name = Varchar(length=64)
    level = Varchar(length=12, choices=RegionLevel)
    parent: ForeignKey[Any] = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    # Codes from the root down, "310151/310151101/": a subtree is a prefix match.
    path = Varchar(length=80, unique=True)


class Account(Table):
    id = UUID(primary_key=True)
    display_name = Varchar(length=50, default="")
    phone_hash = Varchar(length=64, null=True, default=None, unique=True)
    phone_enc = Text(null=True, default=None)
    password_hash = Text(null=True, default=None)
    wechat_openid = Varchar(length=64, null=True, default=None, unique=True)
    is_active = Boolean(default=True)
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class Organization(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    kind = Varchar(length=32, choices=OrganizationKind)
    uscc = Varchar(length=18, null=True, default=None, unique=True)
    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict, index=True)
    parent: ForeignKey[Any] = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    contact_name = Varchar(length=50)
    contact_phone = Varchar(length=20)
    status = Varchar(length=12, choices=OrganizationStatus, default=OrganizationStatus.pending, index=True)
    status_reason = Text(null=True, default=None)
    decided_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class RoleGrant(Table):
    id = UUID(primary_key=True)
    account = ForeignKey(Account, null=False, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=16, choices=Role)
    organization = ForeignKey(Organization, null=True, on_delete=OnDelete.restrict)
    region = ForeignKey(Region, null=True, on_delete=OnDelete.restrict)
    granted_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)
    granted_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)


class RefreshToken(Table):
    id = UUID(primary_key=True)
    account = ForeignKey(Account, null=False, on_delete=OnDelete.restrict, index=True)
    family = UUID(index=True)
    token_hash = Varchar(length=64)
    issued_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class OrganizationInvite(Table):
    id = UUID(primary_key=True)
    organization = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict, index=True)
    account = ForeignKey(Account, null=False, on_delete=OnDelete.restrict, index=True)
    invited_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    status = Varchar(length=12, choices=InviteStatus, default=InviteStatus.pending)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)


class Volunteer(Table):
    id = UUID(primary_key=True)
    account = ForeignKey(Account, null=True, unique=True, on_delete=OnDelete.restrict)
    volunteer_no = Varchar(length=12, unique=True)
    name = Varchar(length=50)
    gender = Varchar(length=8)
    birth_date = Date()
    id_type = Varchar(length=24)
    # AES-GCM ciphertext; the keyed hash enforces one volunteer per ID number without decrypting.
    id_number_enc = Text()
    id_number_hash = Varchar(length=64, unique=True)
    id_number_masked = Varchar(length=24)
    phone_enc = Text()
    phone_masked = Varchar(length=16)
    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict, index=True)
    skills = JSON(default=[])
    service_categories = JSON(default=[])
    guardian_name = Varchar(length=50, null=True, default=None)
    guardian_relation = Varchar(length=16, null=True, default=None)
    guardian_phone_enc = Text(null=True, default=None)
    registered_by_org = ForeignKey(Organization, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ConsentRecord(Table):
    id = UUID(primary_key=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=24, choices=ConsentKind)
    organization = ForeignKey(Organization, null=True, on_delete=OnDelete.restrict)
    consenting_person = Varchar(length=50)  # who consented: the volunteer, or the guardian
    method = Varchar(length=24)  # written / in_person / online
    consented_at = Timestamptz()
    recorded_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz()


class Membership(Table):
    id = UUID(primary_key=True)
    organization = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict, index=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=12, choices=DecisionStatus, default=DecisionStatus.pending)
    reason = Text(null=True, default=None)
    requested_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)


ALL_TABLES: list[type[Table]] = [
    Region,
    Account,
    Organization,
    RoleGrant,
    RefreshToken,
    OrganizationInvite,
    Volunteer,
    ConsentRecord,
    Membership,
]
