"""The relay's index, as raw SQL: a partial index over the rows not yet done, so it stays as small as
the backlog however many done rows the outbox keeps. Both PostgreSQL and SQLite support partial indexes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T00:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox partial index on pending rows"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="jobs", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("CREATE INDEX outbox_pending ON outbox (created_at) WHERE done_at IS NULL")

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("DROP INDEX outbox_pending")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
