"""Bringing a database up: migrations, the demo seed, and the first admin."""

from __future__ import annotations

import uuid
from datetime import datetime

from piccolo.apps.migrations.commands.forwards import run_forwards

from settings import Settings, is_sqlite, sqlite_path
from volunteer.access import Grant, Principal
from volunteer.pii import PiiCipher
from volunteer.staff import create_staff
from volunteer.tables import Role, RoleGrant


async def migrate(database_url: str | None = None) -> None:
    if database_url and is_sqlite(database_url):
        sqlite_path(database_url).parent.mkdir(parents=True, exist_ok=True)
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


async def create_first_admin(
    settings: Settings, *, phone: str, name: str, password: str, now: datetime
) -> uuid.UUID:
    pii = PiiCipher(settings.pii_key, settings.pii_hash_key)
    # Bootstrapping: the operator at the console stands in for an admin.
    console = Principal(uuid.UUID(int=0), (Grant(Role.admin),))
    account = await create_staff(console, pii, phone=phone, name=name, password=password, now=now)
    await RoleGrant(account=account.id, role=Role.admin, granted_at=now).save()
    return account.id
