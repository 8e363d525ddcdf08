"""The demo district a fresh install shows: its logins work and check-in can be tried at once."""

from __future__ import annotations

import httpx

from settings import Settings
from tests.builders import Clock
from volunteer.pii import PiiCipher
from volunteer.seed import seed_demo
from volunteer.tables import Project, Signup


async def test_the_demo_seed_gives_working_logins_and_a_session_open_for_check_in(
    client: httpx.AsyncClient, settings: Settings, clock: Clock
) -> None:
    logins = await seed_demo(PiiCipher(settings.pii_key, settings.pii_hash_key), clock())
    assert logins is not None and len(logins) == 4
    assert await seed_demo(PiiCipher(settings.pii_key, settings.pii_hash_key), clock()) is None  # once only
    for login in logins:
        reply = await client.post("/auth/login", json={"phone": login.phone, "password": login.password})
        assert reply.status_code == 200, login.who
    assert await Project.count().where(Project.status == "published") == 1
    assert await Signup.count().where(Signup.status == "approved") == 1
