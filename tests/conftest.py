"""Test harness: a fresh database (SQLite file, or PostgreSQL when DATABASE_URL says so), one app for the
session with a settable clock, a stand-in WeChat server on 127.0.0.1, and a clean slate for each test."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

_db_url = os.environ.get("DATABASE_URL", "")
if not _db_url:
    _db_url = f"sqlite:///{tempfile.mkdtemp(prefix='volunteer-test-')}/test.sqlite3"
    os.environ["DATABASE_URL"] = _db_url
elif not urlparse(_db_url).path.rstrip("/").endswith("_test"):
    raise RuntimeError("Tests drop and recreate their database: DATABASE_URL must name a *_test database")

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from litestar import Litestar  # noqa: E402
from piccolo.apps.migrations.commands.forwards import run_forwards  # noqa: E402

from app import create_app  # noqa: E402
from jobs.tables import ALL_TABLES as JOB_TABLES  # noqa: E402
from settings import Settings, generate_secrets, load_settings  # noqa: E402
from tests import wechat_standin  # noqa: E402
from tests.builders import Clock, World  # noqa: E402
from volunteer.db import engine  # noqa: E402
from volunteer.tables import ALL_TABLES  # noqa: E402

START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


async def _fresh_postgres(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = await asyncpg.connect(parsed._replace(path="/postgres").geturl())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def wechat_url() -> Iterator[str]:
    with wechat_standin.running() as url:
        yield url


@pytest.fixture(scope="session")
def settings(wechat_url: str) -> Settings:
    env = {
        **generate_secrets(),
        "DATABASE_URL": _db_url,
        "WECHAT_APPID": wechat_standin.APPID,
        "WECHAT_SECRET": wechat_standin.SECRET,
        "WECHAT_JSCODE2SESSION_URL": wechat_url,
        "WECHAT_TIMEOUT_S": "0.5",
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
    }
    if os.environ.get("CI") == "true" and not env["REDIS_URL"]:
        raise RuntimeError("CI runs against real Redis: set REDIS_URL (see .ci/run)")
    return load_settings(env)


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock(START)


@pytest.fixture(scope="session")
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Litestar]:
    if not settings.sqlite:
        await _fresh_postgres(settings.database_url)
    result = await run_forwards("all")
    assert result.success, result.message
    # Jobs run where a test asks for them (tests/test_jobs.py, the end-to-end walk), not in the background.
    yield create_app(settings, clock=clock, background_jobs=False)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    # Lifespan and requests run in the test's own event loop: the PostgreSQL pool is bound to its loop,
    # and Litestar's AsyncTestClient would run the app in a separate thread's loop.
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold_lifespan() -> None:
        # anyio needs the lifespan entered and exited in one task; fixture teardown runs in another.
        async with app.lifespan():
            started.set()
            await stop.wait()

    holder = asyncio.create_task(hold_lifespan())
    await started.wait()
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c
    stop.set()
    await holder


@pytest.fixture(autouse=True)
async def clean_slate(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[None]:
    clock.now = START
    yield
    if "client" in request.fixturenames or "world" in request.fixturenames:
        db = engine()
        names = [t._meta.tablename for t in reversed(ALL_TABLES + JOB_TABLES)]
        if db.engine_type == "postgres":
            await db.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
        else:
            # SQLite checks foreign keys row by row, so self-references are cut first.
            await db.run_ddl("UPDATE organization SET parent = NULL")
            await db.run_ddl("UPDATE region SET parent = NULL")
            await db.run_ddl("UPDATE service_record SET supersedes = NULL")
            for name in names:
                await db.run_ddl(f"DELETE FROM {name}")


@pytest.fixture
async def world(client: httpx.AsyncClient, settings: Settings, clock: Clock) -> World:
    w = World(client, settings, clock)
    await w.seed_regions()
    return w
