"""A fresh benchmark database, migrated the way production is, and bulk test data loaded with COPY."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]

from bench.server import REPO_ROOT
from settings import _parse_jwt_keys
from volunteer.identity import check_digit_mod11_2
from volunteer.tokens import TokenKeys

PG = "postgresql://postgres@127.0.0.1:5432"
COMMUNITY_CODE = "310151101001"
_FIRST_BIRTH = date(1960, 1, 1)
_BIRTH_DAYS = (date(2000, 12, 31) - _FIRST_BIRTH).days + 1


def database_url(name: str) -> str:
    return f"{PG}/{name}"


async def connect(name: str) -> Any:
    return await asyncpg.connect(database_url(name))


async def fresh_database(name: str) -> str:
    """Drop and recreate `name`, so every run starts from the same empty tables."""
    if not name.isidentifier():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = await connect("postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_url(name)


def _migrate(url: str) -> None:
    cmd = [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"]
    done = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrations failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


async def migrate(url: str) -> None:
    """The piccolo CLI, as deployments run it, rather than creating tables from the classes."""
    await asyncio.to_thread(_migrate, url)


async def seed_regions(conn: Any) -> int:
    """A district and one community under it; returns the community's id."""
    district: int = await conn.fetchval(
        "INSERT INTO region (code, name, level, parent, path) "
        "VALUES ('310151', '崇明区', 'district', NULL, '310151/') RETURNING id"
    )
    community: int = await conn.fetchval(
        "INSERT INTO region (code, name, level, parent, path) "
        "VALUES ($1, '城桥镇某居委', 'community', $2, $3) RETURNING id",
        COMMUNITY_CODE,
        district,
        f"310151/{COMMUNITY_CODE}/",
    )
    return community


async def seed_accounts(conn: Any, count: int) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    records = [(account_id, f"bench{i}", now) for i, account_id in enumerate(ids)]
    await conn.copy_records_to_table("account", records=records, columns=["id", "display_name", "created_at"])
    return ids


def mint_tokens(jwt_keys: str, accounts: list[uuid.UUID]) -> list[str]:
    """Access tokens signed with the server's keys, valid for longer than any run."""
    keys = TokenKeys(keys=_parse_jwt_keys(jwt_keys), access_ttl=timedelta(hours=2))
    now = datetime.now(UTC)
    return [keys.issue_access(account_id, now) for account_id in accounts]


def id_number(i: int) -> str:
    """The i-th of ~15 million distinct valid Shanghai resident ID numbers born 1960-2000."""
    if not 0 <= i < _BIRTH_DAYS * 1000:
        raise ValueError("id number index out of range")
    born = _FIRST_BIRTH + timedelta(days=i % _BIRTH_DAYS)
    first17 = f"310151{born:%Y%m%d}{i // _BIRTH_DAYS:03d}"
    return first17 + check_digit_mod11_2(first17)
