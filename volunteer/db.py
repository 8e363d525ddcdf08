"""Transactions that behave the same on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType

# SQLite allows one writer: deferred transactions fail with "database is locked" when two overlap,
# and unserialized IMMEDIATE ones crawl, so the process queues its writers behind one lock.
_sqlite_writer = asyncio.Lock()
T = TypeVar("T")
_writer_connection: list[Any] = []  # the one connection the serialized writers share


class _KeptConnection:
    """The shared writer connection, handed to Piccolo's transaction, which closes what it is given."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def close(self) -> None:
        """Kept open for the next writer."""


class _SharedWriterTransaction(SQLiteTransaction):
    """Piccolo opens a connection (and an aiosqlite thread) per transaction, about 1 ms of CPU each;
    writers here run one at a time, so they reuse one connection instead (measured: bench scans)."""

    async def get_connection(self) -> Any:
        if not _writer_connection:
            _writer_connection.append(await self.engine.get_connection())
        return _KeptConnection(_writer_connection[0])


def engine() -> Engine[Any]:
    db = engine_finder()
    assert db is not None, "piccolo_conf.py defines no engine"
    return db


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A write transaction: IMMEDIATE and serialized on SQLite, plain on PostgreSQL; re-entrant."""
    db = engine()
    if db.current_transaction.get() is not None:
        yield
        return
    if isinstance(db, SQLiteEngine):
        async with _sqlite_writer, _SharedWriterTransaction(db, transaction_type=TransactionType.immediate):
            yield
    else:
        async with db.transaction():
            yield


@asynccontextmanager
async def single_write() -> AsyncIterator[None]:
    """For one statement: atomic by itself on PostgreSQL (no BEGIN/COMMIT round trips), queued behind
    the process's other writers in an IMMEDIATE transaction on SQLite."""
    if isinstance(engine(), SQLiteEngine):
        async with write_transaction():
            yield
    else:
        yield


def is_unique_violation(exc: BaseException, column: str = "") -> bool:
    """A unique-key conflict, optionally on one column (both engines name it in the message)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return column in (exc.constraint_name or "") or column in str(exc)
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc) and column in str(exc)


async def open_database() -> None:
    """Start the connection pool (PostgreSQL) or switch the file to WAL (SQLite)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        Path(db.path).parent.mkdir(parents=True, exist_ok=True)
        await db.run_ddl("PRAGMA journal_mode=WAL")
    elif isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=2, max_size=20, reset=_rollback_if_open)


async def _rollback_if_open(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset costs a round trip per query (RESET ALL, UNLISTEN, unlock advisory locks).
    Nothing here keeps session state, so only an abandoned transaction needs undoing before reuse."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def close_database() -> None:
    db = engine()
    while _writer_connection:
        await _writer_connection.pop().close()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


def as_uuid(value: object) -> uuid.UUID:
    """Raw queries return UUIDs as strings on SQLite and as UUIDs on PostgreSQL."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_uuid_or_none(value: object) -> uuid.UUID | None:
    return None if value is None else as_uuid(value)


def as_json(value: object) -> Any:
    """Raw queries return JSON columns as text (SQLite, and PostgreSQL's json without a codec)."""
    return json.loads(value) if isinstance(value, str) else value


def as_str_list(value: object) -> list[str]:
    """A JSON list of strings (flags, evidence, skills); anything else reads as empty."""
    if value == "[]":  # the common case, without a parse
        return []
    loaded = as_json(value)
    return [str(item) for item in loaded] if isinstance(loaded, list) else []


def as_datetime(value: object) -> datetime:
    """Raw queries return timestamps as text on SQLite (declared types survive plain columns only); naive
    ones are UTC, as stored."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_datetime_or_none(value: object) -> datetime | None:
    return None if value is None else as_datetime(value)


def as_date(value: object) -> date:
    """Raw queries return dates as text on SQLite."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def run_with_database(work: Callable[[], Awaitable[T]]) -> T:
    """For commands: open the database, do the work, close it. Closing matters: the writer
    connection's thread would otherwise keep the process alive after the work is done."""

    async def main() -> T:
        await open_database()
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(main())


@asynccontextmanager
async def planned_for_each_call() -> AsyncIterator[None]:
    """PostgreSQL plans a prepared statement generically after five runs, and for `g.path LIKE $1` such a
    plan assumes one region matches and nests loops over a district's month of records (181 ms to
    2,418 ms, bench audit). These reads run in a transaction that plans each call for its own arguments;
    only here, as other queries gain from cached plans. SQLite plans every statement anyway."""
    db = engine()
    if not isinstance(db, PostgresEngine) or db.current_transaction.get() is not None:
        yield
        return
    async with db.transaction():
        await db.run_ddl("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
