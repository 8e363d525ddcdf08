"""Access tokens (short-lived JWTs signed with a named key) and opaque refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from errors import TOKEN_EXPIRED, TOKEN_INVALID, DomainError

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The first key signs; every key verifies, so a new key can be rolled out before the old one goes."""

    keys: tuple[tuple[str, bytes], ...]
    access_ttl: timedelta

    def issue_access(self, account_id: uuid.UUID, now: datetime) -> str:
        kid, secret = self.keys[0]
        claims = {
            "sub": str(account_id),
            "typ": "access",
            "iat": int(now.timestamp()),
            "exp": int((now + self.access_ttl).timestamp()),
        }
        return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})

    def verify_access(self, token: str, now: datetime) -> uuid.UUID:
        kid = _kid(token)
        secret = dict(self.keys).get(kid) if kid else None
        if secret is None:
            raise DomainError(TOKEN_INVALID)
        try:
            # algorithms is pinned: "alg: none" and algorithm-confusion tokens fail here.
            # Time claims are checked below against the app's clock, not PyJWT's wall clock.
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise DomainError(TOKEN_INVALID) from exc
        if claims.get("typ") != "access":
            raise DomainError(TOKEN_INVALID)
        if claims["exp"] <= now.timestamp():
            raise DomainError(TOKEN_EXPIRED)
        try:
            return uuid.UUID(claims["sub"])
        except (TypeError, ValueError) as exc:
            raise DomainError(TOKEN_INVALID) from exc


def _kid(token: str) -> str | None:
    """The key id, read only to pick the key: PyJWT then verifies header, algorithm and signature.
    (PyJWT's get_unverified_header parses the token a second time at a third of a request's CPU.)"""
    try:
        header = json.loads(base64.urlsafe_b64decode(token.partition(".")[0] + "=="))
    except ValueError:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_refresh_token(token: str) -> tuple[uuid.UUID, str] | None:
    """A refresh token is '<row id>.<secret>': the id finds the row, only the secret's hash is stored."""
    row_id, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return uuid.UUID(row_id), secret
    except ValueError:
        return None
