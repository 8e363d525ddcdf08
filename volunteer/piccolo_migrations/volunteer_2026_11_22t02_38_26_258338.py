"""service_record.status fits awaiting_approval (17 characters) on PostgreSQL.

SQLite does not enforce VARCHAR lengths and Piccolo warns (an error under the tests' -W error) when asked
to change one there, so the step is added for PostgreSQL only; migrations are generated on PostgreSQL,
so the auto-migration snapshot still sees the new length.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.engine import engine_finder

ID = "2026-11-22T02:38:26:258338"
VERSION = "1.38.0"
DESCRIPTION = "service_record.status fits awaiting_approval"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteer", description=DESCRIPTION)
    db = engine_finder()
    if db is not None and db.engine_type == "postgres":
        manager.alter_column(
            table_class_name="ServiceRecord",
            tablename="service_record",
            column_name="status",
            db_column_name="status",
            params={"length": 20},
            old_params={"length": 12},
            column_class=Varchar,
            old_column_class=Varchar,
            schema=None,
        )
    return manager
