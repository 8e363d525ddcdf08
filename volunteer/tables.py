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
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
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
    # Subject of the volunteer's personal and card check-in codes: random, so it reveals nothing.
    code_seq = BigInt(null=True, default=None)  # unique index in the migrations
    card_version = Integer(default=1)  # bumped when a printed card is revoked and reissued
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


class ProjectStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"


class SignupStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    waitlisted = "waitlisted"
    rejected = "rejected"
    cancelled = "cancelled"
    no_show = "no_show"


class ScanKind(StrEnum):
    check_in = "check_in"
    check_out = "check_out"


class ScanMethod(StrEnum):
    volunteer_scans_session = "volunteer_scans_session"
    organizer_scans_volunteer = "organizer_scans_volunteer"
    organizer_scans_card = "organizer_scans_card"
    system_close = "system_close"  # a missing check-out closed at session end (rule 14)


class RecordSource(StrEnum):
    scan = "scan"
    offline_scan = "offline_scan"
    manual = "manual"
    correction = "correction"


class RecordStatus(StrEnum):
    awaiting_approval = "awaiting_approval"  # a manual entry (补录) waiting for its second approver
    pending = "pending"
    confirmed = "confirmed"
    audited = "audited"
    rejected = "rejected"
    superseded = "superseded"  # a correction replaced it (rule 18); the new version points here
    revoked = "revoked"  # an auditor withdrew audited minutes; star levels and certificates follow


# Records that stand for time served: the others were refused, replaced, withdrawn or not yet approved.
LIVE_STATUSES = (RecordStatus.pending, RecordStatus.confirmed, RecordStatus.audited)
LIVE_SQL = "('pending', 'confirmed', 'audited')"  # for raw queries: `status IN {LIVE_SQL}`


class Project(Table):
    id = UUID(primary_key=True)
    organization = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict, index=True)
    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=100)
    category = Varchar(length=32)
    description = Text()
    address = Varchar(length=200)
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
    geofence_m = Integer(null=True, default=None)
    person_in_charge = Varchar(length=50)
    contact_phone = Varchar(length=20)
    insurance_required = Boolean(default=False)
    insured = Boolean(default=False)
    headcount = Integer()
    allow_walk_in = Boolean(default=False)
    status = Varchar(length=12, choices=ProjectStatus, default=ProjectStatus.draft, index=True)
    created_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    published_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class ServiceSession(Table, tablename="service_session"):
    id = UUID(primary_key=True)
    project = ForeignKey(Project, null=False, on_delete=OnDelete.restrict, index=True)
    # Subject of the session's rotating check-in code: random, so codes reveal nothing about volume.
    code_seq = BigInt(unique=True)
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz(index=True)
    capacity = Integer()
    cancel_cutoff_min = Integer(default=120)  # sign-ups may be cancelled until this long before start
    settled_at = Timestamptz(null=True, default=None, index=True)
    created_at = Timestamptz()


class Signup(Table):
    id = UUID(primary_key=True)
    session = ForeignKey(ServiceSession, null=False, on_delete=OnDelete.restrict, index=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=12, choices=SignupStatus)
    walk_in = Boolean(default=False)
    applied_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)
    reason = Text(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)


class Scan(Table):
    """Append-only: every scan attempt, accepted or refused, exactly as it arrived."""

    id = UUID(primary_key=True)
    scanned_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)  # null: the system
    nonce = Varchar(length=64)  # the client's event id: the same one again is the same scan
    body_hash = Varchar(length=64)
    session = ForeignKey(ServiceSession, null=True, on_delete=OnDelete.restrict)
    volunteer = ForeignKey(Volunteer, null=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=12, choices=ScanKind)
    method = Varchar(length=32, choices=ScanMethod)
    offline = Boolean(default=False)
    accepted = Boolean()
    refusal = Varchar(length=32, null=True, default=None)
    code_window = BigInt(null=True, default=None)
    device_time = Timestamptz(null=True, default=None)
    server_time = Timestamptz()
    effective_time = Timestamptz()  # the moment that counts: server time online, device time offline
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
    device_id = Varchar(length=64, null=True, default=None)
    flags = JSON(default=[])


class ServiceRecord(Table, tablename="service_record"):
    """Rule 16: what was served, computed by the server; never edited in place."""

    id = UUID(primary_key=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    organization = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict, index=True)
    project = ForeignKey(Project, null=False, on_delete=OnDelete.restrict)
    session = ForeignKey(ServiceSession, null=True, on_delete=OnDelete.restrict, index=True)
    activity_name = Varchar(length=100)
    service_date = Date()
    place = Varchar(length=200)
    content = Text()
    started_at = Timestamptz()
    ended_at = Timestamptz()
    credited_minutes = Integer()
    person_in_charge = Varchar(length=50)
    recorder = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)  # null: settled by the system
    source = Varchar(length=16, choices=RecordSource)
    status = Varchar(length=20, choices=RecordStatus, default=RecordStatus.pending, index=True)
    verified = Boolean()
    flags = JSON(default=[])
    # "session:volunteer" for records settled from scans: settling again inserts nothing.
    settlement_key = Varchar(length=80, null=True, default=None, unique=True)
    created_at = Timestamptz()
    # Rule 18: a correction is a new version pointing to the one it replaces, with its reason.
    supersedes: ForeignKey[Any] = ForeignKey("self", null=True, on_delete=OnDelete.restrict, index=True)
    version = Integer(default=1)
    reason = Text(null=True, default=None)  # why this version exists: correction, manual entry
    # Rule 19: manual entries carry evidence (file references) and a second approver, never the recorder.
    evidence = JSON(default=[])
    approved_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)
    # Rule 17: entered or confirmed after the 10-working-day deadline: a reason, and an auditor decides.
    late_reason = Text(null=True, default=None)
    status_reason = Text(null=True, default=None)  # why it was rejected or revoked


class AuditEntry(Table, tablename="audit_entry"):
    """Rule 21: append-only, each entry carrying the hash of the one before (volunteer/audit_log.py)."""

    id = UUID(primary_key=True)
    seq = BigInt(unique=True)  # the position in the chain: 1, 2, 3...
    at = Timestamptz()
    actor = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)  # null: the system
    action = Varchar(length=48)  # "record.confirm", "certificate.issue", ...
    subject_type = Varchar(length=32)
    subject_id = Varchar(length=64)
    region_path = Varchar(length=80, null=True, default=None)  # the jurisdiction it concerns
    detail = JSON(default={})  # never personal data
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class CorrectionRequestStatus(StrEnum):
    open = "open"
    accepted = "accepted"  # the organization corrected the record: `correction` is the new version
    declined = "declined"  # the organization answered why not


class CorrectionRequest(Table, tablename="correction_request"):
    """Rule 18: a volunteer asks the recording organization to correct a record; the whole exchange stays."""

    id = UUID(primary_key=True)
    record = ForeignKey(ServiceRecord, null=False, on_delete=OnDelete.restrict, index=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    organization = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict, index=True)
    requested_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    message = Text()
    proposed_started_at = Timestamptz(null=True, default=None)
    proposed_ended_at = Timestamptz(null=True, default=None)
    status = Varchar(length=12, choices=CorrectionRequestStatus, default=CorrectionRequestStatus.open)
    answer = Text(null=True, default=None)
    answered_by = ForeignKey(Account, null=True, on_delete=OnDelete.restrict)
    answered_at = Timestamptz(null=True, default=None)
    correction = ForeignKey(ServiceRecord, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class Notification(Table):
    """A message for people to act on (rule 17 reminders and escalations, correction requests).

    Addressed to an organization's admins, to the auditors of a region (by path), or to one account;
    `key` makes a job that runs twice notify once.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=48)
    organization = ForeignKey(Organization, null=True, on_delete=OnDelete.restrict, index=True)
    region_path = Varchar(length=80, null=True, default=None, index=True)
    account = ForeignKey(Account, null=True, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=200)
    body = Text()
    detail = JSON(default={})
    key = Varchar(length=120, null=True, default=None, unique=True)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class StarLevel(Table, tablename="star_level"):
    """Rule 24: a volunteer's star level for a period ("all", or a calendar year such as "2026").

    `level` is the published one; a higher level reached waits in `pending_level` until its 公示
    period ends on `publicity_ends_on`. Every change appends a StarLevelEvent.
    """

    id = UUID(primary_key=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=8)
    level = Integer(default=0)
    audited_minutes = BigInt(default=0)
    pending_level = Integer(null=True, default=None)
    publicity_ends_on = Date(null=True, default=None, index=True)
    updated_at = Timestamptz()


class StarLevelEventKind(StrEnum):
    proposed = "proposed"  # reached: 公示 starts
    published = "published"  # 公示 ended without the hours falling
    withdrawn = "withdrawn"  # hours fell during 公示
    demoted = "demoted"  # revoked hours took the total below the published level


class StarLevelEvent(Table, tablename="star_level_event"):
    id = UUID(primary_key=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=8)
    kind = Varchar(length=12, choices=StarLevelEventKind)
    from_level = Integer()
    to_level = Integer()
    audited_minutes = BigInt()
    publicity_ends_on = Date(null=True, default=None)
    at = Timestamptz()


class CertificateStatus(StrEnum):
    valid = "valid"
    revoked = "revoked"


class Certificate(Table):
    """Rule 23: a 志愿服务记录证明 built only from audited records; `number` is public, the rest is not."""

    id = UUID(primary_key=True)
    number = Varchar(length=32, unique=True)
    volunteer = ForeignKey(Volunteer, null=False, on_delete=OnDelete.restrict, index=True)
    organization = ForeignKey(Organization, null=True, on_delete=OnDelete.restrict)  # null: all
    period_from = Date()
    period_to = Date()
    minutes = BigInt()
    record_count = Integer()
    status = Varchar(length=12, choices=CertificateStatus, default=CertificateStatus.valid)
    issued_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoke_reason = Text(null=True, default=None)
    content = JSON(default={})  # what the PDF states besides the person: units, persons in charge, content


class CertificateRecord(Table, tablename="certificate_record"):
    """Which audited records a certificate counts: a revoked record finds its certificates here."""

    id = UUID(primary_key=True)
    certificate = ForeignKey(Certificate, null=False, on_delete=OnDelete.restrict)
    record = ForeignKey(ServiceRecord, null=False, on_delete=OnDelete.restrict, index=True)


class PublishedReport(Table, tablename="published_report"):
    """A month's statistics of a region as an auditor published them: frozen, versioned, public."""

    id = UUID(primary_key=True)
    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict)
    month = Varchar(length=7)  # "2026-11"
    version = Integer()
    figures = JSON()  # the StatisticsOut as published
    published_by = ForeignKey(Account, null=False, on_delete=OnDelete.restrict)
    published_at = Timestamptz()


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
    Project,
    ServiceSession,
    Signup,
    Scan,
    ServiceRecord,
    AuditEntry,
    CorrectionRequest,
    Notification,
    StarLevel,
    StarLevelEvent,
    Certificate,
    CertificateRecord,
    PublishedReport,
]
