"""Encryption at rest for ERP credentials.

A `Cipher` wraps MultiFernet: the first key of ERP_SYNC_SECRET_KEYS encrypts, every key decrypts, so keys can be
rotated by putting a new one first and running `erp-sync db rotate-keys`. The cipher is built once by bootstrap
and handed to the repository; no key lives in a module global.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from erp_sync.errors import ErpSyncError


class Cipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ErpSyncError(
                "a stored ERP password cannot be decrypted with any key in ERP_SYNC_SECRET_KEYS; put back the key "
                "it was encrypted with (keys may be listed comma-separated, newest first)",
                code="DECRYPTION_FAILED",
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt with the first key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
