"""Keys the rules rely on, as raw SQL (SQLite cannot add constraints to existing tables).

- a record is replaced at most once: two racing corrections of one version make one new version;
- one star level row per volunteer and period; a record counted once per certificate;
- one open correction request per record: the organization answers before the next one.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T02:18:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique keys for corrections, star levels, certificates and correction requests"

INDEXES = {
    "service_record_one_successor": "service_record (supersedes) WHERE supersedes IS NOT NULL",
    "star_level_volunteer_period": "star_level (volunteer, period)",
    "certificate_record_once": "certificate_record (certificate, record)",
    "correction_request_one_open": "correction_request (record) WHERE status = 'open'",
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        for name, target in INDEXES.items():
            await db.run_ddl(f"CREATE UNIQUE INDEX {name} ON {target}")

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        for name in INDEXES:
            await db.run_ddl(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
