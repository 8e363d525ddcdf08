"""An index for the daily cap: settlement looks up a volunteer's records of the same days."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T01:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service record lookups by volunteer and time"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("CREATE INDEX service_record_volunteer_time ON service_record (volunteer, started_at)")

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("DROP INDEX service_record_volunteer_time")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
