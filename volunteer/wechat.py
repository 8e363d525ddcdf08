"""The WeChat mini-program login exchange (jscode2session): a wx.login code for an openid."""

from __future__ import annotations

import logging

import httpx

from errors import WECHAT_CODE_INVALID, WECHAT_RATE_LIMITED, WECHAT_UNAVAILABLE, DomainError

log = logging.getLogger("volunteer.wechat")

# errcodes documented for jscode2session: the user's code is bad, or we are asking too often.
_CODE_REJECTED = {40029, 40163, 40226}
_RATE_LIMITED = {45011}


class WeChatClient:
    def __init__(self, http: httpx.AsyncClient, url: str, appid: str, secret: str, timeout_s: float) -> None:
        self._http = http
        self._url = url
        self._params = {"appid": appid, "secret": secret, "grant_type": "authorization_code"}
        self._timeout = timeout_s

    async def openid_for(self, code: str) -> str:
        try:
            reply = await self._http.get(
                self._url, params={**self._params, "js_code": code}, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            log.warning("jscode2session unreachable: %s", type(exc).__name__)
            raise DomainError(WECHAT_UNAVAILABLE) from exc
        if reply.status_code != 200:
            log.warning("jscode2session answered HTTP %s", reply.status_code)
            raise DomainError(WECHAT_UNAVAILABLE)
        try:
            # WeChat sends JSON labelled text/plain, so parse the body whatever its content type.
            body = reply.json()
        except ValueError as exc:
            raise DomainError(WECHAT_UNAVAILABLE) from exc
        errcode = body.get("errcode", 0) if isinstance(body, dict) else -1
        if errcode in _CODE_REJECTED:
            raise DomainError(WECHAT_CODE_INVALID)
        if errcode in _RATE_LIMITED:
            raise DomainError(WECHAT_RATE_LIMITED)
        openid = body.get("openid") if isinstance(body, dict) else None
        if errcode != 0 or not isinstance(openid, str) or not openid:
            # Busy (-1) or our own configuration (bad appid/secret): not the user's fault.
            log.error("jscode2session refused the exchange: errcode=%s", errcode)
            raise DomainError(WECHAT_UNAVAILABLE)
        return openid
