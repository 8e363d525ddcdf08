"""One row per published version of a region's month: two auditors publishing at once make two versions,
never two rows claiming the same one."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T03:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique version per region and month of published reports"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl(
            "CREATE UNIQUE INDEX published_report_version ON published_report (region, month, version)"
        )

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl("DROP INDEX published_report_version")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
