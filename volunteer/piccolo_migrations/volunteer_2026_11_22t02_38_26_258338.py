from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-11-22T02:38:26:258338"
VERSION = "1.38.0"
DESCRIPTION = "service_record.status fits awaiting_approval"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="volunteer", description=DESCRIPTION
    )

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
