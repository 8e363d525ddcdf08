"""Who may call an endpoint: bearer-token authentication, guards, and the errors each route documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.openapi.datastructures import ResponseSpec

from errors import (
    FORBIDDEN,
    REQUEST_INVALID,
    REQUEST_MALFORMED,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    TOKEN_MISSING,
    TOKEN_REVOKED,
    DomainError,
    ErrorCode,
)
from volunteer.access import Principal
from volunteer.accounts import load_principal
from volunteer.schemas import Error
from volunteer.tables import Role
from volunteer.tokens import TokenKeys

# Guards are coroutines: Litestar runs a sync guard in a worker thread, a hop on every request.
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Anonymous requests pass with user None (guards decide); a bad token is refused outright."""

    keys: TokenKeys
    clock: Callable[[], datetime]

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            return AuthenticationResult(user=None, auth=None)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise DomainError(TOKEN_INVALID)
        account_id = self.keys.verify_access(token.strip(), self.clock())
        handler = connection.scope.get("route_handler")
        if handler is not None and handler.opt.get("token_only"):
            # Hot paths whose own single statement checks the account (scans) skip the extra query.
            return AuthenticationResult(user=Principal(account_id), auth=None)
        return AuthenticationResult(user=await load_principal(account_id), auth=None)


def bearer_middleware(keys: TokenKeys, clock: Callable[[], datetime]) -> type[BearerAuthMiddleware]:
    return type("BoundBearerAuth", (BearerAuthMiddleware,), {"keys": keys, "clock": staticmethod(clock)})


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise DomainError(TOKEN_MISSING)
    return user


async def anyone(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Public: no sign-in needed."""


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    principal_of(connection)


def has_role(*roles: Role) -> Guard:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal_of(connection).has_role(*roles):
            raise DomainError(FORBIDDEN)

    guard.__name__ = f"has_role({', '.join(roles)})"
    return guard


_AUTH_ERRORS = (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED)


def errors(*codes: ErrorCode, auth: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI responses for a route: every code it can answer with, grouped by HTTP status."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in (REQUEST_MALFORMED, REQUEST_INVALID, *(_AUTH_ERRORS if auth else ()), *codes):
        if code not in by_status.setdefault(code.status, []):
            by_status[code.status].append(code)
    return {
        status: ResponseSpec(
            data_container=Error,
            description="；".join(f"`{c.code}` {c.message}" for c in listed),
            generate_examples=False,
        )
        for status, listed in sorted(by_status.items())
    }
