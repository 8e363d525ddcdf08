"""Piccolo's engine, chosen by DATABASE_URL: PostgreSQL in production, an SQLite file when embedded."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from settings import database_url, is_sqlite, sqlite_path


def _engine(url: str) -> PostgresEngine | SQLiteEngine:
    if is_sqlite(url):
        path = sqlite_path(url)
        # timeout: a writer waits for the lock instead of failing at once.
        return SQLiteEngine(path=str(path), timeout=30)
    return PostgresEngine(config={"dsn": url})


DB = _engine(database_url())

APP_REGISTRY = AppRegistry(apps=["volunteer.piccolo_app", "jobs.piccolo_app"])
