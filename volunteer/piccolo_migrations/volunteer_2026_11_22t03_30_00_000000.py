"""Indexes for the audit queue, anomalies and monthly statistics, measured with `python -m bench audit`
on 1,000,000 records.

- service_record_audit_queue: the queue lists confirmed records by (service_date, id); with every status
  in the (service_date, id) index, a street's first page read 6,400 records of the month to keep 1,700
  confirmed ones and find 50 of the street: 54 ms; reading only confirmed ones: 5 ms. Partial: a quarter
  of the records wait for the auditor at most (10 MB).
- service_record_recorder_entry: the manual-burst anomaly (rule 22) reads a recorder's entries within an
  hour of a queue page's manual records; without it PostgreSQL read the organization's whole history and
  filtered it: 80 ms a page (median; 170 ms cold), 0.1-1.5 ms with it. Partial: records settled from scans
  have no recorder (0.8 MB for 100,000 manual records).
- service_record_org_figures replaces service_record_org_date (same key): it carries the columns the
  monthly statistics add up, so a district's month (75,000 records) is read from the index alone instead
  of 28,000 scattered heap pages: 390-550 ms to 80-90 ms per query (74 MB instead of 9 MB; the table is
  235 MB). The audit queue's organization filter uses it as it used the old one. SQLite has no INCLUDE:
  the columns are key columns there.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-22T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service record indexes for the audit queue, the manual-burst anomaly and monthly statistics"

AUDIT_QUEUE = (
    "CREATE INDEX service_record_audit_queue ON service_record (service_date, id) WHERE status = 'confirmed'"
)
RECORDER_ENTRY = (
    "CREATE INDEX service_record_recorder_entry "
    "ON service_record (recorder, organization, created_at) WHERE recorder IS NOT NULL"
)
FIGURES = "volunteer, status, verified, credited_minutes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)

    async def run() -> None:
        db = engine_finder()
        assert db is not None
        columns = (
            f"organization, service_date, {FIGURES}"
            if isinstance(db, SQLiteEngine)
            else f"organization, service_date) INCLUDE ({FIGURES}"
        )
        await db.run_ddl(AUDIT_QUEUE)
        await db.run_ddl(RECORDER_ENTRY)
        await db.run_ddl(f"CREATE INDEX service_record_org_figures ON service_record ({columns})")
        await db.run_ddl("DROP INDEX service_record_org_date")
        if not isinstance(db, SQLiteEngine):
            # Widening service_record.status (2026-11-22T02:38) dropped the column's statistics: until
            # autovacuum comes by, the queue's plan was 100-176 ms instead of 5.
            await db.run_ddl("ANALYZE service_record")

    async def run_backwards() -> None:
        db = engine_finder()
        assert db is not None
        await db.run_ddl(
            "CREATE INDEX service_record_org_date ON service_record (organization, service_date)"
        )
        await db.run_ddl("DROP INDEX service_record_org_figures")
        await db.run_ddl("DROP INDEX service_record_recorder_entry")
        await db.run_ddl("DROP INDEX service_record_audit_queue")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
