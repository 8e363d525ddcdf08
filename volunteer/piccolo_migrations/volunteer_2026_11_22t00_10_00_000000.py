"""Composite unique key and CHECK constraints, as raw SQL.

SQLite cannot ALTER TABLE ... ADD CONSTRAINT, which is how Piccolo writes them: a unique index works
on both engines; the CHECK is PostgreSQL-only and the organization service enforces it everywhere.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique key and check constraints"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("CREATE UNIQUE INDEX membership_one_per_org ON membership (organization, volunteer)")
        if db.engine_type == "postgres":
            await db.run_ddl(
                "ALTER TABLE organization ADD CONSTRAINT organization_uscc_unless_team "
                "CHECK (uscc IS NOT NULL OR kind = 'community_team')"
            )

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("DROP INDEX membership_one_per_org")
        if db.engine_type == "postgres":
            await db.run_ddl("ALTER TABLE organization DROP CONSTRAINT organization_uscc_unless_team")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
