"""Check-in codes (DOMAIN rules 10-11): HMAC-signed, window-bound tokens short enough for a WeChat scene.

Format: ``<kind><subject>.<window or card version>.<mac>``, e.g. ``SYA.ZMLIO.3NEZTQCC2LEZE``.
Numbers are canonical upper-case base36, the MAC is 13 base32 characters (65 bits) of HMAC-SHA256, so
the whole code is QR alphanumeric and at most 31 characters for subjects < 2**40 and windows up to
the year 4000 at window_s >= 1. Nothing here logs: codes are bearer secrets for their window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from errors import CODE_EXPIRED, CODE_INVALID, DomainError

MAX_LENGTH = 32  # WeChat getwxacodeunlimit `scene` limit
MAX_SUBJECT = 2**40  # exclusive
MAX_VERSION = 2**31  # exclusive
_MAC_CHARS = 13
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Leading zeros are refused so that every claim has exactly one spelling.
_NUMBER = r"(0|[1-9A-Z][0-9A-Z]{0,7})"
_CODE = re.compile(rf"([SPC]){_NUMBER}\.{_NUMBER}\.([A-Z2-7]{{{_MAC_CHARS}}})")


class CodeKind(StrEnum):
    SESSION = "S"
    PERSONAL = "P"
    CARD = "C"


@dataclass(frozen=True, slots=True)
class CodeClaims:
    kind: CodeKind
    subject: int
    window: int  # 0 for cards
    version: int  # 0 for session and personal codes


class CodeSigner:
    """Signs and verifies codes with one key; the window length is part of the MAC, so changing it voids
    rotating codes (never cards) instead of reinterpreting their windows."""

    __slots__ = ("_grace", "_key", "_window", "window_s")

    def __init__(self, key: bytes, *, window_s: int = 30, grace_windows: int = 1) -> None:
        if len(key) < 16:
            raise ValueError("check-in code key must be at least 16 bytes")
        if window_s < 1 or grace_windows < 0:
            raise ValueError("window_s must be >= 1 and grace_windows >= 0")
        self._key = key
        self.window_s = window_s
        self._window = timedelta(seconds=window_s)
        self._grace = grace_windows

    def __repr__(self) -> str:
        return f"CodeSigner(window_s={self.window_s}, grace_windows={self._grace})"

    def session_code(self, session_seq: int, now: datetime) -> str:
        return self._sign(CodeClaims(CodeKind.SESSION, session_seq, self.window_of(now), 0))

    def personal_code(self, volunteer_seq: int, now: datetime) -> str:
        return self._sign(CodeClaims(CodeKind.PERSONAL, volunteer_seq, self.window_of(now), 0))

    def card_code(self, volunteer_seq: int, version: int) -> str:
        if not 0 <= version < MAX_VERSION:
            raise ValueError("card version out of range")
        return self._sign(CodeClaims(CodeKind.CARD, volunteer_seq, 0, version))

    def verify(self, code: str, now: datetime) -> CodeClaims:
        """Authentic and current, or DomainError; the caller still checks subject, version and replay."""
        match = _CODE.fullmatch(code.strip()) if len(code) <= 4 * MAX_LENGTH else None
        if match is None:
            raise DomainError(CODE_INVALID)
        kind = CodeKind(match[1])
        subject, middle = int(match[2], 36), int(match[3], 36)
        if kind is CodeKind.CARD:
            claims = CodeClaims(kind, subject, 0, middle)
        else:
            claims = CodeClaims(kind, subject, middle, 0)
        if not 0 < subject < MAX_SUBJECT or not 0 <= claims.version < MAX_VERSION:
            raise DomainError(CODE_INVALID)
        if not hmac.compare_digest(match[4].encode(), self._mac(claims).encode()):
            raise DomainError(CODE_INVALID)
        if kind is not CodeKind.CARD:
            current = self.window_of(now)
            # One window ahead is tolerated: the screen may have rotated just before our clock did.
            if not current - self._grace <= claims.window <= current + 1:
                raise DomainError(CODE_EXPIRED)
        return claims

    def window_of(self, at: datetime) -> int:
        if at.tzinfo is None:
            raise ValueError("check-in code times must be timezone-aware")
        return (at - _EPOCH) // self._window

    def window_bounds(self, window: int) -> tuple[datetime, datetime]:
        start = _EPOCH + window * self._window
        return start, start + self._window

    def seconds_left(self, now: datetime) -> int:
        _, end = self.window_bounds(self.window_of(now))
        return -((now - end) // timedelta(seconds=1))  # ceiling: 1..window_s

    def _sign(self, claims: CodeClaims) -> str:
        if not 0 < claims.subject < MAX_SUBJECT:
            raise ValueError("code subject must be a positive int below 2**40")
        if claims.window < 0:
            raise ValueError("cannot sign a window before 1970")
        middle = claims.version if claims.kind is CodeKind.CARD else claims.window
        code = f"{claims.kind}{_base36(claims.subject)}.{_base36(middle)}.{self._mac(claims)}"
        if len(code) > MAX_LENGTH:
            raise ValueError("check-in code longer than the WeChat scene limit")
        return code

    def _mac(self, claims: CodeClaims) -> str:
        window_s = 0 if claims.kind is CodeKind.CARD else self.window_s
        message = (
            f"checkin-code/v1|{claims.kind}|{claims.subject}|{claims.window}|{claims.version}|{window_s}"
        )
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:10]).decode()[:_MAC_CHARS]


def _base36(n: int) -> str:
    out = ""
    while True:
        n, digit = divmod(n, 36)
        out = _DIGITS[digit] + out
        if n == 0:
            return out
