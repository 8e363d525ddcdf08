"""Personal data at rest: AES-GCM encryption, keyed hashes for uniqueness, and masking rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"  # the first byte names the key generation, so keys can rotate later


class PiiCipher:
    def __init__(self, key: bytes, hash_key: bytes) -> None:
        self._aead = AESGCM(key)
        self._hash_key = hash_key

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        """Encrypt, binding the ciphertext to its purpose so it cannot be pasted into another column."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode()

    def decrypt(self, token: str, *, purpose: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        if raw[:1] != _VERSION:
            raise ValueError("unknown key version")
        return self._aead.decrypt(raw[1:13], raw[13:], purpose.encode()).decode()

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """A stable lookup key that reveals nothing without the hash key (unlike a bare SHA-256 of an ID)."""
        return hmac.new(self._hash_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
