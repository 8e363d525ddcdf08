"""A district's year of service records for the audit benchmark: regions, organizations, sessions,
volunteers and a million records, loaded with COPY in chunks so the rows never all sit in memory."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.scan_data import ACCOUNT, SESSION, VOLUNTEER, Row
from volunteer.hours import CHINA

DISTRICT = "310151"
STREETS = 10
COMMUNITIES_PER_STREET = 10
FIRST_DAY = date(2025, 11, 1)  # twelve whole months, ending before the run's month
DAYS = 365
MONTHS = [
    f"{(FIRST_DAY.month - 1 + i) // 12 + FIRST_DAY.year}-{(FIRST_DAY.month - 1 + i) % 12 + 1:02d}"
    for i in range(12)
]
FLAG = "missing_checkout"
_MASK39 = 2**39 - 1
_CHUNK = 100_000

RECORD = (
    "id", "volunteer", "organization", "project", "session", "activity_name", "service_date", "place",
    "content", "started_at", "ended_at", "credited_minutes", "person_in_charge", "recorder", "source",
    "status", "verified", "flags", "created_at",
)  # fmt: skip
# (status, share): most records of a year are audited, a quarter wait for the auditor.
STATUS_MIX = [("audited", 60), ("confirmed", 25), ("pending", 10), ("rejected", 5)]


@dataclass(frozen=True, slots=True)
class Sizes:
    records: int
    volunteers: int
    organizations: int
    sessions: int


@dataclass(frozen=True, slots=True)
class District:
    auditor: uuid.UUID
    streets: list[str]  # street region codes
    records: int


@dataclass(frozen=True, slots=True)
class _Session:
    id: uuid.UUID
    project: uuid.UUID
    organization: uuid.UUID
    day: date
    starts_at: datetime
    ends_at: datetime


async def _regions(conn: Any) -> tuple[int, list[str], list[int]]:
    """The district, its streets and their communities: the district id, street codes, community ids."""
    district: int = await conn.fetchval(
        "INSERT INTO region (code, name, level, parent, path) VALUES ($1, '崇明区', 'district', NULL, $2) "
        "RETURNING id",
        DISTRICT,
        f"{DISTRICT}/",
    )
    streets = [f"{DISTRICT}{101 + s:03d}" for s in range(STREETS)]
    await conn.copy_records_to_table(
        "region",
        records=[(c, f"街镇{i + 1}", "street", district, f"{DISTRICT}/{c}/") for i, c in enumerate(streets)],
        columns=["code", "name", "level", "parent", "path"],
    )
    street_ids = dict(await conn.fetch("SELECT code, id FROM region WHERE level = 'street'"))
    communities = [
        (
            f"{s}{c + 1:03d}",
            f"居委{s[-3:]}-{c + 1}",
            "community",
            street_ids[s],
            f"{DISTRICT}/{s}/{s}{c + 1:03d}/",
        )
        for s in streets
        for c in range(COMMUNITIES_PER_STREET)
    ]
    await conn.copy_records_to_table(
        "region", records=communities, columns=["code", "name", "level", "parent", "path"]
    )
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM region WHERE level = 'community' ORDER BY code")]
    return district, streets, ids


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA).astimezone(UTC)


async def seed_district(conn: Any, sizes: Sizes, now: datetime) -> District:
    started = time.perf_counter()
    rnd = random.Random(20261122)
    district, streets, communities = await _regions(conn)
    admin, auditor = uuid.uuid4(), uuid.uuid4()
    await conn.copy_records_to_table(
        "account", records=[(admin, "bench admin", True, now), (auditor, "bench auditor", True, now)],
        columns=list(ACCOUNT),
    )  # fmt: skip
    await conn.copy_records_to_table(
        "role_grant",
        records=[(uuid.uuid4(), auditor, "auditor", None, district, None, now)],
        columns=["id", "account", "role", "organization", "region", "granted_by", "granted_at"],
    )
    orgs = [(uuid.uuid4(), rnd.choice(communities)) for _ in range(sizes.organizations)]
    await conn.copy_records_to_table(
        "organization",
        records=[(o, f"志愿服务队{i}", "volunteer_association", f"91310151MA{i:08d}", region, "李队长",
                  "021-59612345", "verified", admin, now) for i, (o, region) in enumerate(orgs)],
        columns=["id", "name", "kind", "uscc", "region", "contact_name", "contact_phone", "status",
                 "created_by", "created_at"],
    )  # fmt: skip
    projects = [(uuid.uuid4(), o, region) for o, region in orgs for _ in range(2)]
    await conn.copy_records_to_table(
        "project",
        records=[(p, o, region, f"项目{i}", "elderly_and_disabled", "陪伴老人", "城桥镇", "李队长",
                  "021-59612345", 100_000, "published", admin, now, now)
                 for i, (p, o, region) in enumerate(projects)],
        columns=["id", "organization", "region", "title", "category", "description", "address",
                 "person_in_charge", "contact_phone", "headcount", "status", "created_by", "created_at",
                 "published_at"],
    )  # fmt: skip
    sessions: list[_Session] = []
    for n in range(sizes.sessions):
        project, org, _ = projects[n % len(projects)]
        day = FIRST_DAY + timedelta(days=rnd.randrange(DAYS))
        hour = rnd.choice((8, 9, 13, 14, 18))
        sessions.append(_Session(uuid.uuid4(), project, org, day, _at(day, hour), _at(day, hour + 3)))
    # settled_at set: the app's settlement cron must find nothing to do while the benchmark runs.
    session_rows: list[Row] = [
        (s.id, s.project, ((n + 1) * 0x9E3779B1 + 12345) & _MASK39 or 1, s.starts_at, s.ends_at, 100_000,
         120, now)
        for n, s in enumerate(sessions)
    ]  # fmt: skip
    await conn.copy_records_to_table("service_session", records=session_rows, columns=list(SESSION))
    await conn.execute("UPDATE service_session SET settled_at = ends_at + interval '1 day'")
    volunteers = [uuid.uuid4() for _ in range(sizes.volunteers)]
    registered = [_at(FIRST_DAY - timedelta(days=365), 12) + timedelta(minutes=i * 7) for i in range(1000)]
    born = date(1990, 1, 1)
    await conn.copy_records_to_table(
        "volunteer",
        records=[(v, None, f"9{i:011d}", "张三丰", "male", born, "resident_id", "enc", f"{i:064x}",
                  "3101****0012", "enc", "138****0000", communities[i % len(communities)], "[]", "[]",
                  ((i + 1) * 0x9E3779B1) & _MASK39 or 1, 1,
                  registered[i % 1000] + timedelta(days=(i * 731) % 700), now)
                 for i, v in enumerate(volunteers)],
        columns=list(VOLUNTEER),
    )  # fmt: skip
    print(f"seeded regions, {len(orgs)} organizations, {len(sessions)} sessions, {len(volunteers)} "
          f"volunteers in {time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip
    await _records(conn, rnd, sizes.records, sessions, volunteers, admin)
    started = time.perf_counter()
    # A live database is vacuumed and analyzed by autovacuum; a freshly copied one is neither (without the
    # visibility map, index-only scans read the heap anyway).
    await conn.execute("VACUUM ANALYZE")
    print(f"vacuumed and analyzed in {time.perf_counter() - started:.1f}s", flush=True)
    return District(auditor, streets, sizes.records)


async def _records(
    conn: Any,
    rnd: random.Random,
    count: int,
    sessions: list[_Session],
    volunteers: list[uuid.UUID],
    admin: uuid.UUID,
) -> None:
    started = time.perf_counter()
    statuses = [s for s, share in STATUS_MIX for _ in range(share)]
    flagged = f'["{FLAG}"]'
    done = 0
    while done < count:
        rows: list[Row] = []
        for _ in range(min(_CHUNK, count - done)):
            s = sessions[rnd.randrange(len(sessions))]
            manual = rnd.random() < 0.1
            rows.append(
                (uuid.uuid4(), volunteers[rnd.randrange(len(volunteers))], s.organization, s.project, s.id,
                 "社区陪伴", s.day, "城桥镇", "陪伴老人聊天", s.starts_at, s.ends_at, 180, "李队长",
                 admin if manual else None, "manual" if manual else "scan", statuses[rnd.randrange(100)],
                 not manual, flagged if rnd.random() < 0.05 else "[]", s.ends_at)
            )  # fmt: skip
        await conn.copy_records_to_table("service_record", records=rows, columns=list(RECORD))
        done += len(rows)
    elapsed = time.perf_counter() - started
    print(f"seeded {count} service records in {elapsed:.1f}s ({count / elapsed:.0f}/s)", flush=True)
