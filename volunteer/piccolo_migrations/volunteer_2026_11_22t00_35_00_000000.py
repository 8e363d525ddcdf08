"""Indexes the check-in path relies on, as raw SQL (SQLite cannot add constraints to a table), and a
check-in code subject for every volunteer registered before codes existed."""

import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-22T00:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "check-in indexes and volunteer code subjects"

INDEXES = [
    # SQLite cannot add a UNIQUE column, so the column came without and the index comes here.
    "CREATE UNIQUE INDEX volunteer_code_seq ON volunteer (code_seq)",
    # One sign-up per volunteer and session.
    "CREATE UNIQUE INDEX signup_one_per_session ON signup (session, volunteer)",
    # The client's event id: the same nonce from the same scanner is the same scan.
    "CREATE UNIQUE INDEX scan_nonce ON scan (scanned_by, nonce)",
    # At most one accepted check-in and one accepted check-out per volunteer and session, so two
    # racing scans can never both count. Partial indexes work on PostgreSQL and SQLite alike.
    "CREATE UNIQUE INDEX scan_accepted_once ON scan (session, volunteer, kind) WHERE accepted",
    "CREATE INDEX scan_attempts ON scan (volunteer, session, server_time)",
    "CREATE INDEX scan_volunteer_time ON scan (volunteer, effective_time)",
    "CREATE INDEX signup_volunteer_status ON signup (volunteer, status)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        for ddl in INDEXES:
            await db.run_ddl(ddl)
        for row in await db.run_ddl("SELECT id FROM volunteer WHERE code_seq IS NULL"):
            await db.run_querystring(
                QueryString("UPDATE volunteer SET code_seq = {} WHERE id = {}", secrets.randbits(39) + 1, row["id"])
            )

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        for ddl in INDEXES:
            await db.run_ddl(f"DROP INDEX {ddl.split(' ON ')[0].split()[-1]}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
