"""Sign-in endpoints: WeChat and password logins, token refresh and logout, and "who am I"."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from errors import (
    ACCOUNT_DISABLED,
    LOGIN_FAILED,
    PASSWORD_TOO_WEAK,
    REFRESH_TOKEN_INVALID,
    REFRESH_TOKEN_REUSED,
    WECHAT_CODE_INVALID,
    WECHAT_RATE_LIMITED,
    WECHAT_UNAVAILABLE,
)
from volunteer import accounts
from volunteer.accounts import TokenPair
from volunteer.api.deps import Auth, CurrentPrincipal, Now, WeChat
from volunteer.api.security import BEARER, anyone, errors, signed_in
from volunteer.schemas import Me, PasswordChange, PasswordLogin, RefreshRequest, Tokens, WeChatLogin


def _tokens(pair: TokenPair) -> Tokens:
    return Tokens(
        access_token=pair.access_token,
        expires_in=pair.access_expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
        account_id=pair.account_id,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["登录认证"]

    @post(
        "/wechat",
        guards=[anyone],
        status_code=HTTP_200_OK,
        summary="小程序微信登录",
        description="用 wx.login() 的 code 换取登录凭证；首次登录自动创建账号。",
        responses=errors(
            WECHAT_CODE_INVALID, WECHAT_RATE_LIMITED, WECHAT_UNAVAILABLE, ACCOUNT_DISABLED, auth=False
        ),
    )
    async def wechat_login(
        self, data: JSONBody[WeChatLogin], auth_ctx: Auth, wechat: WeChat, now: Now
    ) -> Tokens:
        return _tokens(await accounts.login_wechat(auth_ctx, wechat, data.code, now))

    @post(
        "/login",
        guards=[anyone],
        status_code=HTTP_200_OK,
        summary="工作人员手机号密码登录",
        responses=errors(LOGIN_FAILED, ACCOUNT_DISABLED, auth=False),
    )
    async def password_login(self, data: JSONBody[PasswordLogin], auth_ctx: Auth, now: Now) -> Tokens:
        return _tokens(await accounts.login_password(auth_ctx, data.phone, data.password, now))

    @post(
        "/refresh",
        guards=[anyone],
        status_code=HTTP_200_OK,
        summary="刷新登录凭证",
        description="每个 refresh_token 只能使用一次；重复使用视为泄露，该次登录的所有凭证立即失效。",
        responses=errors(REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, ACCOUNT_DISABLED, auth=False),
    )
    async def refresh(self, data: JSONBody[RefreshRequest], auth_ctx: Auth, now: Now) -> Tokens:
        return _tokens(await accounts.refresh(auth_ctx, data.refresh_token, now))

    @post(
        "/logout",
        guards=[anyone],
        status_code=HTTP_204_NO_CONTENT,
        summary="退出登录",
        responses=errors(REFRESH_TOKEN_INVALID, auth=False),
    )
    async def logout(self, data: JSONBody[RefreshRequest], now: Now) -> None:
        await accounts.logout(data.refresh_token, now)

    @get("/me", guards=[signed_in], security=BEARER, summary="当前账号与角色", responses=errors())
    async def me(self, principal: CurrentPrincipal) -> Me:
        return await accounts.describe(principal)

    @post(
        "/password",
        guards=[signed_in],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        summary="修改密码",
        responses=errors(LOGIN_FAILED, PASSWORD_TOO_WEAK),
    )
    async def change_password(
        self, data: JSONBody[PasswordChange], principal: CurrentPrincipal, now: Now
    ) -> None:
        await accounts.change_password(principal, data.old_password, data.new_password, now)
