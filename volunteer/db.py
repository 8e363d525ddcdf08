"""Transactions that behave the same on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

# SQLite allows one writer: deferred transactions fail with "database is locked" when two overlap,
# and unserialized IMMEDIATE ones crawl, so the process queues its writers behind one lock.
_sqlite_writer = asyncio.Lock()


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
        async with _sqlite_writer, db.transaction(transaction_type=TransactionType.immediate):
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
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


def as_uuid(value: object) -> uuid.UUID:
    """Raw queries return UUIDs as strings on SQLite and as UUIDs on PostgreSQL."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_uuid_or_none(value: object) -> uuid.UUID | None:
    return None if value is None else as_uuid(value)
