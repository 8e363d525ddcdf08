"""Check-in test data as plain rows: loaded with COPY on PostgreSQL, one executemany transaction on SQLite."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from piccolo.engine.sqlite import convert_datetime_in

from bench.data import COMMUNITY_CODE

SITE = (31.6228, 121.3976)  # 崇明 城桥镇, as in tests/scan_builders.py
_MASK39 = 2**39 - 1

Row = tuple[Any, ...]

ACCOUNT = ("id", "display_name", "is_active", "created_at")
VOLUNTEER = (
    "id", "account", "volunteer_no", "name", "gender", "birth_date", "id_type", "id_number_enc",
    "id_number_hash", "id_number_masked", "phone_enc", "phone_masked", "region", "skills",
    "service_categories", "code_seq", "card_version", "created_at", "updated_at",
)  # fmt: skip
SESSION = ("id", "project", "code_seq", "starts_at", "ends_at", "capacity", "cancel_cutoff_min", "created_at")
SIGNUP = ("id", "session", "volunteer", "status", "walk_in", "applied_at", "decided_at")
SCAN = (
    "id", "scanned_by", "nonce", "body_hash", "session", "volunteer", "kind", "method", "offline",
    "accepted", "refusal", "code_window", "device_time", "server_time", "effective_time", "latitude",
    "longitude", "device_id", "flags",
)  # fmt: skip


@dataclass(slots=True)
class Batch:
    """Rows to load, table by table in the order first added (foreign-key order)."""

    tables: dict[str, tuple[tuple[str, ...], list[Row]]] = field(default_factory=dict)

    def add(self, table: str, columns: tuple[str, ...], rows: Iterable[Row]) -> None:
        known, existing = self.tables.setdefault(table, (columns, []))
        if known != columns:
            raise ValueError(f"{table}: rows added with different columns")
        existing.extend(rows)

    def counts(self) -> str:
        return ", ".join(f"{len(rows)} {table}" for table, (_, rows) in self.tables.items())


async def copy_batch(conn: Any, batch: Batch) -> None:
    """COPY per table: ~300k rows/s here, against ~18k/s for ORM inserts."""
    async with conn.transaction():
        for table, (columns, rows) in batch.tables.items():
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))


def _sqlite_value(value: Any) -> Any:
    """Stored the way Piccolo's SQLite adapters store them, so the app's raw queries compare alike."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return convert_datetime_in(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_sqlite(path: Path, batch: Batch) -> None:
    """Every table in one transaction: executemany per table."""
    con = sqlite3.connect(path)
    try:
        with con:
            for table, (columns, rows) in batch.tables.items():
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                con.executemany(sql, [tuple(map(_sqlite_value, row)) for row in rows])
    finally:
        con.close()


def sqlite_regions(batch: Batch) -> int:
    """The same district and community as bench.data.seed_regions; returns the community's id."""
    batch.add(
        "region",
        ("id", "code", "name", "level", "parent", "path"),
        [
            (1, "310151", "崇明区", "district", None, "310151/"),
            (2, COMMUNITY_CODE, "城桥镇某居委", "community", 1, f"310151/{COMMUNITY_CODE}/"),
        ],
    )
    return 2


@dataclass(frozen=True, slots=True)
class Org:
    id: uuid.UUID
    admin: uuid.UUID  # account holding the org_admin grant
    project: uuid.UUID
    region: int


@dataclass(frozen=True, slots=True)
class Session:
    id: uuid.UUID
    code_seq: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    volunteer: uuid.UUID
    account: uuid.UUID | None
    code_seq: int


def organization(batch: Batch, region: int, now: datetime) -> Org:
    """A verified organization, its admin (org_admin grant) and one published project."""
    org = Org(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), region)
    batch.add("account", ACCOUNT, [(org.admin, "bench admin", True, now)])
    batch.add(
        "organization",
        ("id", "name", "kind", "uscc", "region", "contact_name", "contact_phone", "status", "created_by",
         "created_at"),
        [(org.id, "崇明区志愿者协会", "volunteer_association", "91310151MA1FL0BENC", region, "李队长",
          "021-59612345", "verified", org.admin, now)],
    )  # fmt: skip
    batch.add(
        "role_grant",
        ("id", "account", "role", "organization", "region", "granted_by", "granted_at"),
        [(uuid.uuid4(), org.admin, "org_admin", org.id, None, None, now)],
    )
    batch.add(
        "project",
        ("id", "organization", "region", "title", "category", "description", "address", "latitude",
         "longitude", "geofence_m", "person_in_charge", "contact_phone", "insurance_required", "insured",
         "headcount", "allow_walk_in", "status", "created_by", "created_at", "published_at"),
        [(org.project, org.id, region, "鳌山社区敬老院陪伴", "elderly_and_disabled", "陪伴老人聊天、读报",
          "城桥镇鳌山路1号", SITE[0], SITE[1], None, "李队长", "021-59612345", False, False, 100_000, False,
          "published", org.admin, now, now)],
    )  # fmt: skip
    return org


def session(batch: Batch, org: Org, n: int, starts_at: datetime, ends_at: datetime, now: datetime) -> Session:
    """The n-th session of the run: n picks a distinct code subject."""
    seq = (n * 0x9E3779B1 + 12345) & _MASK39 or 1
    created = Session(uuid.uuid4(), seq, starts_at, ends_at)
    batch.add(
        "service_session", SESSION, [(created.id, org.project, seq, starts_at, ends_at, 100_000, 120, now)]
    )
    return created


def volunteers(
    batch: Batch, region: int, first: int, count: int, now: datetime, *, accounts: bool
) -> list[Person]:
    """Volunteers first .. first+count-1 (distinct numbers, hashes and code subjects across a run).
    The encrypted fields hold placeholder text: nothing in check-in decrypts them."""
    people = [
        Person(uuid.uuid4(), uuid.uuid4() if accounts else None, ((first + i) * 0x9E3779B1) & _MASK39 or 1)
        for i in range(count)
    ]
    if accounts:
        batch.add(
            "account", ACCOUNT, [(p.account, f"bench{first + i}", True, now) for i, p in enumerate(people)]
        )
    born = date(1990, 1, 1)
    batch.add(
        "volunteer",
        VOLUNTEER,
        [
            (p.volunteer, p.account, f"9{first + i:011d}", "张三", "male", born, "resident_id", "enc",
             f"{first + i:064x}", "3101****0012", "enc", "138****0000", region, "[]", "[]", p.code_seq, 1,
             now, now)
            for i, p in enumerate(people)
        ],
    )  # fmt: skip
    return people


def signups(batch: Batch, sess: Session, people: Sequence[Person], now: datetime) -> None:
    batch.add(
        "signup", SIGNUP, [(uuid.uuid4(), sess.id, p.volunteer, "approved", False, now, now) for p in people]
    )


def attended(batch: Batch, sess: Session, people: Sequence[Person], scanner: uuid.UUID) -> None:
    """An accepted check-in a few minutes after the start and check-out a few minutes before the end."""
    rows: list[Row] = []
    for i, p in enumerate(people):
        came = sess.starts_at + timedelta(seconds=i % 600)
        left = sess.ends_at - timedelta(seconds=(i * 7) % 600)
        for kind, at in (("check_in", came), ("check_out", left)):
            rows.append(
                (uuid.uuid4(), scanner, uuid.uuid4().hex, "", sess.id, p.volunteer, kind,
                 "organizer_scans_volunteer", False, True, None, None, None, at, at, SITE[0], SITE[1], None,
                 "[]")
            )  # fmt: skip
    batch.add("scan", SCAN, rows)
