"""Signing in: WeChat and password logins, access tokens, refresh rotation, logout, password change."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from errors import DomainError
from tests import wechat_standin
from tests.builders import World, phone
from volunteer.tables import Account
from volunteer.tokens import TokenKeys
from volunteer.wechat import WeChatClient

PASSWORD = "chongming2026"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert body["code"] == code, body
    return body


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def advance(world: World, by: timedelta) -> None:
    """Move the app's clock on (the world's clock is the settable one from conftest)."""
    world.clock.now += by


async def me(world: World, access_token: str) -> httpx.Response:
    return await world.client.get("/auth/me", headers=bearer(access_token))


async def refresh(world: World, refresh_token: str) -> httpx.Response:
    return await world.client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def password_login(world: World, phone_no: str, password: str) -> httpx.Response:
    return await world.client.post("/auth/login", json={"phone": phone_no, "password": password})


async def staff_with_password(world: World) -> tuple[uuid.UUID, str]:
    phone_no = phone()
    return await world.account(phone=phone_no, password=PASSWORD), phone_no


# --- WeChat login -------------------------------------------------------------------------------


async def test_first_wechat_login_creates_an_account_whose_token_works(world: World) -> None:
    tokens = await world.wechat_login("first")

    reply = await me(world, tokens["access_token"])

    assert reply.status_code == 200, reply.text
    assert reply.json()["account_id"] == tokens["account_id"]
    assert reply.json()["roles"] == []
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert await Account.count() == 1


async def test_second_wechat_login_with_same_openid_returns_same_account(world: World) -> None:
    first = await world.wechat_login("returning")
    second = await world.wechat_login("returning")

    assert second["account_id"] == first["account_id"]
    assert second["refresh_token"] != first["refresh_token"]
    assert await Account.count() == 1


async def test_two_simultaneous_first_logins_make_one_account(world: World) -> None:
    replies = await asyncio.gather(
        world.client.post("/auth/wechat", json={"code": "ok-double-tap"}),
        world.client.post("/auth/wechat", json={"code": "ok-double-tap"}),
    )

    assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
    assert replies[0].json()["account_id"] == replies[1].json()["account_id"]
    assert await Account.count() == 1


@pytest.mark.parametrize(
    ("wechat_code", "status", "code", "message"),
    [
        ("invalid", 401, "WECHAT_CODE_INVALID", "微信登录凭证无效或已使用，请重新进入小程序"),
        ("used", 401, "WECHAT_CODE_INVALID", "微信登录凭证无效或已使用，请重新进入小程序"),
        ("ratelimit", 429, "WECHAT_RATE_LIMITED", "微信登录过于频繁，请稍后再试"),
        ("busy", 503, "WECHAT_UNAVAILABLE", "微信登录服务暂时不可用，请稍后重试"),
        ("http500", 503, "WECHAT_UNAVAILABLE", "微信登录服务暂时不可用，请稍后重试"),
        ("garbage", 503, "WECHAT_UNAVAILABLE", "微信登录服务暂时不可用，请稍后重试"),
        ("slow", 503, "WECHAT_UNAVAILABLE", "微信登录服务暂时不可用，请稍后重试"),
    ],
    ids=["invalid", "used", "ratelimit", "busy", "http500", "garbage", "timeout"],
)
async def test_wechat_failure_gets_its_own_reply_and_creates_no_account(
    world: World, wechat_code: str, status: int, code: str, message: str
) -> None:
    reply = await world.client.post("/auth/wechat", json={"code": wechat_code})

    assert refused(reply, status, code)["message"] == message
    assert await Account.count() == 0


async def test_unreachable_wechat_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as http:
        client = WeChatClient(
            http,
            f"http://127.0.0.1:{port}/sns/jscode2session",
            wechat_standin.APPID,
            wechat_standin.SECRET,
            0.5,
        )
        with pytest.raises(DomainError) as refusal:
            await client.openid_for("ok-anyone")

    assert refusal.value.error.code == "WECHAT_UNAVAILABLE"
    assert refusal.value.status == 503


# --- Password login -----------------------------------------------------------------------------


async def test_staff_logs_in_with_phone_and_password(world: World) -> None:
    account_id, phone_no = await staff_with_password(world)

    reply = await password_login(world, phone_no, PASSWORD)

    assert reply.status_code == 200, reply.text
    assert reply.json()["account_id"] == str(account_id)
    assert (await me(world, reply.json()["access_token"])).json()["account_id"] == str(account_id)


async def test_wrong_password_and_unknown_phone_get_the_same_refusal(world: World) -> None:
    _, phone_no = await staff_with_password(world)

    wrong_password = await password_login(world, phone_no, "chongming2027")
    unknown_phone = await password_login(world, phone(), PASSWORD)

    body = refused(wrong_password, 401, "LOGIN_FAILED")
    assert body["message"] == "手机号或密码错误"
    assert refused(unknown_phone, 401, "LOGIN_FAILED") == body


async def test_disabled_staff_account_cannot_log_in_with_password(world: World) -> None:
    account_id, phone_no = await staff_with_password(world)
    disabled = await world.client.post(f"/admin/accounts/{account_id}/disable", headers=await world.admin())
    assert disabled.status_code == 204, disabled.text

    reply = await password_login(world, phone_no, PASSWORD)

    assert refused(reply, 403, "ACCOUNT_DISABLED")["message"] == "账号已停用，请联系管理员"


# --- Access tokens ------------------------------------------------------------------------------


async def test_signed_in_endpoint_without_token_asks_to_log_in(world: World) -> None:
    reply = await world.client.get("/auth/me")

    assert refused(reply, 401, "TOKEN_MISSING")["message"] == "请先登录"


async def test_access_token_expires_after_fifteen_minutes(world: World) -> None:
    tokens = await world.wechat_login()
    advance(world, timedelta(seconds=899))
    assert (await me(world, tokens["access_token"])).status_code == 200

    advance(world, timedelta(seconds=2))

    reply = await me(world, tokens["access_token"])
    assert refused(reply, 401, "TOKEN_EXPIRED")["message"] == "登录已过期，请重新登录"


async def test_token_with_tampered_payload_is_invalid(world: World) -> None:
    victim = await world.wechat_login("victim")
    attacker = await world.wechat_login("attacker")
    header, _, signature = attacker["access_token"].split(".")
    forged_claims = {**claims_of(attacker["access_token"]), "sub": victim["account_id"]}

    reply = await me(world, f"{header}.{b64url(forged_claims)}.{signature}")

    assert refused(reply, 401, "TOKEN_INVALID")["message"] == "登录凭证无效，请重新登录"


async def test_unsigned_alg_none_token_is_invalid(world: World) -> None:
    tokens = await world.wechat_login()
    kid = world.settings.jwt_keys[0][0]
    header = {"alg": "none", "typ": "JWT", "kid": kid}

    reply = await me(world, f"{b64url(header)}.{b64url(claims_of(tokens['access_token']))}.")

    refused(reply, 401, "TOKEN_INVALID")


async def test_token_signed_with_wrong_key_under_real_kid_is_invalid(world: World) -> None:
    tokens = await world.wechat_login()
    kid = world.settings.jwt_keys[0][0]
    forged = jwt.encode(claims_of(tokens["access_token"]), b"w" * 43, algorithm="HS256", headers={"kid": kid})

    refused(await me(world, forged), 401, "TOKEN_INVALID")


async def test_token_with_unknown_kid_is_invalid(world: World) -> None:
    tokens = await world.wechat_login()
    secret = world.settings.jwt_keys[0][1]
    forged = jwt.encode(
        claims_of(tokens["access_token"]), secret, algorithm="HS256", headers={"kid": "retired-key"}
    )

    refused(await me(world, forged), 401, "TOKEN_INVALID")


async def test_token_that_is_not_an_access_token_is_refused(world: World) -> None:
    tokens = await world.wechat_login()
    kid, secret = world.settings.jwt_keys[0]
    other_kind = jwt.encode(
        {**claims_of(tokens["access_token"]), "typ": "refresh"},
        secret,
        algorithm="HS256",
        headers={"kid": kid},
    )

    refused(await me(world, other_kind), 401, "TOKEN_INVALID")


async def test_authorization_scheme_other_than_bearer_is_invalid(world: World) -> None:
    tokens = await world.wechat_login()

    reply = await world.client.get("/auth/me", headers={"Authorization": f"Token {tokens['access_token']}"})

    refused(reply, 401, "TOKEN_INVALID")


async def test_token_signed_with_previous_key_verifies_until_that_key_is_removed(world: World) -> None:
    ttl = timedelta(minutes=15)
    now = world.clock()
    old = ("k-2025", b"o" * 43)
    new = ("k-2026", b"n" * 43)
    account_id = uuid.uuid4()
    before = TokenKeys((old,), ttl)
    during = TokenKeys((new, old), ttl)
    after = TokenKeys((new,), ttl)
    token = before.issue_access(account_id, now)

    assert during.verify_access(token, now) == account_id
    assert jwt.get_unverified_header(during.issue_access(account_id, now))["kid"] == "k-2026"
    with pytest.raises(DomainError) as refusal:
        after.verify_access(token, now)
    assert refusal.value.error.code == "TOKEN_INVALID"


# --- Refresh tokens -----------------------------------------------------------------------------


async def test_refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working(world: World) -> None:
    tokens = await world.wechat_login()

    reply = await refresh(world, tokens["refresh_token"])

    assert reply.status_code == 200, reply.text
    fresh = reply.json()
    assert fresh["account_id"] == tokens["account_id"]
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert (await me(world, fresh["access_token"])).status_code == 200
    assert (await refresh(world, tokens["refresh_token"])).status_code == 401


async def test_refresh_token_used_twice_ends_the_whole_login(world: World) -> None:
    tokens = await world.wechat_login()
    fresh = (await refresh(world, tokens["refresh_token"])).json()

    replayed = await refresh(world, tokens["refresh_token"])

    body = refused(replayed, 401, "REFRESH_TOKEN_REUSED")
    assert body["message"] == "刷新凭证已被使用，为保护账号安全已退出所有登录，请重新登录"
    refused(await refresh(world, fresh["refresh_token"]), 401, "REFRESH_TOKEN_INVALID")


async def test_reused_refresh_token_leaves_other_logins_of_the_account_alone(world: World) -> None:
    phone_login = await world.wechat_login("two-devices")
    tablet_login = await world.wechat_login("two-devices")
    await refresh(world, phone_login["refresh_token"])

    refused(await refresh(world, phone_login["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")

    assert (await refresh(world, tablet_login["refresh_token"])).status_code == 200


async def test_two_concurrent_refreshes_of_one_token_let_exactly_one_through(world: World) -> None:
    tokens = await world.wechat_login()

    replies = await asyncio.gather(
        refresh(world, tokens["refresh_token"]), refresh(world, tokens["refresh_token"])
    )

    assert sorted(r.status_code for r in replies) == [200, 401]


async def test_refresh_token_still_works_late_in_its_thirty_days(world: World) -> None:
    tokens = await world.wechat_login()
    advance(world, timedelta(days=29))

    reply = await refresh(world, tokens["refresh_token"])

    assert reply.status_code == 200, reply.text
    assert (await me(world, reply.json()["access_token"])).status_code == 200


async def test_refresh_token_expires_after_thirty_days(world: World) -> None:
    tokens = await world.wechat_login()
    advance(world, timedelta(days=30, seconds=1))

    reply = await refresh(world, tokens["refresh_token"])

    assert refused(reply, 401, "REFRESH_TOKEN_INVALID")["message"] == "刷新凭证无效，请重新登录"


@pytest.mark.parametrize(
    "garbage",
    ["not-a-token", "6f1c2d3e-0000-4000-8000-000000000000.some-secret", "x.y.z", "."],
    ids=["no-dot", "unknown-id", "not-a-uuid", "empty"],
)
async def test_garbage_refresh_token_is_invalid(world: World, garbage: str) -> None:
    refused(await refresh(world, garbage), 401, "REFRESH_TOKEN_INVALID")


async def test_refresh_token_with_real_id_and_wrong_secret_is_invalid(world: World) -> None:
    tokens = await world.wechat_login()
    row_id, _, _ = tokens["refresh_token"].partition(".")

    refused(await refresh(world, f"{row_id}.guessed-secret"), 401, "REFRESH_TOKEN_INVALID")
    assert (await refresh(world, tokens["refresh_token"])).status_code == 200


# --- Logout and password change -----------------------------------------------------------------


async def test_logout_ends_the_refresh_token(world: World) -> None:
    tokens = await world.wechat_login()

    reply = await world.client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})

    assert reply.status_code == 204, reply.text
    refused(await refresh(world, tokens["refresh_token"]), 401, "REFRESH_TOKEN_INVALID")


async def test_password_change_with_wrong_old_password_is_refused(world: World) -> None:
    account_id, _ = await staff_with_password(world)

    reply = await world.client.post(
        "/auth/password",
        json={"old_password": "chongming2027", "new_password": "baozhen20261"},
        headers=world.headers(account_id),
    )

    assert refused(reply, 401, "LOGIN_FAILED")["message"] == "手机号或密码错误"


async def test_password_change_to_a_weak_password_is_refused(world: World) -> None:
    account_id, phone_no = await staff_with_password(world)

    reply = await world.client.post(
        "/auth/password",
        json={"old_password": PASSWORD, "new_password": "onlyletters"},
        headers=world.headers(account_id),
    )

    body = refused(reply, 422, "PASSWORD_TOO_WEAK")
    assert body["message"] == "密码至少 10 位，且需同时包含字母和数字"
    assert (await password_login(world, phone_no, PASSWORD)).status_code == 200


async def test_password_change_signs_out_old_sessions_and_new_password_logs_in(world: World) -> None:
    _, phone_no = await staff_with_password(world)
    session = (await password_login(world, phone_no, PASSWORD)).json()

    reply = await world.client.post(
        "/auth/password",
        json={"old_password": PASSWORD, "new_password": "baozhen20261"},
        headers=bearer(session["access_token"]),
    )

    assert reply.status_code == 204, reply.text
    refused(await refresh(world, session["refresh_token"]), 401, "REFRESH_TOKEN_INVALID")
    refused(await password_login(world, phone_no, PASSWORD), 401, "LOGIN_FAILED")
    assert (await password_login(world, phone_no, "baozhen20261")).status_code == 200
