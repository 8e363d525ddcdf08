from tests.builders import World


async def test_health(world: World) -> None:
    r = await world.client.get("/health")
    assert r.status_code == 200


async def test_register(world: World) -> None:
    headers, profile = await world.volunteer()
    assert profile["name"] == "张小明"
    r = await world.client.get("/volunteers/me", headers=headers)
    assert r.status_code == 200, r.text
    print(r.json())
