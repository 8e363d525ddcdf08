import os

from tests.builders import World


async def test_health_checks_the_database_and_redis_when_configured(world: World) -> None:
    reply = await world.client.get("/health")
    assert reply.status_code == 200
    expected_redis = "ok" if os.environ.get("REDIS_URL") else "not_configured"
    assert reply.json() == {"status": "ok", "database": "ok", "redis": expected_redis}
