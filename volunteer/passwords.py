"""Staff passwords: Argon2id hashing off the event loop, and the strength rule."""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import PASSWORD_TOO_WEAK, DomainError

_hasher = PasswordHasher()
# Verified when the phone is unknown, so a wrong phone costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def check_strength(password: str) -> None:
    if len(password) < 10 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise DomainError(PASSWORD_TOO_WEAK)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
