"""Secrets kept in the database, encrypted: what the server must read back but nobody
else should (the usage poller's tokens).

``SecretBox`` seals and opens text with Fernet (AES-128-CBC with HMAC-SHA256, from
``cryptography``). The key is ``CCSYNC_SECRET_KEY`` when set (replicas sharing a database
share it), else a key file in the data dir made on first use, readable by its owner only.
A database copied without the key holds nothing usable.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ccsync.private import private_file

KEY_FILE = "secret.key"


class SecretError(ValueError):
    """A secret that cannot be opened (another key sealed it, or it was altered)."""


class SecretBox:
    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                "CCSYNC_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None

    @classmethod
    def of(cls, configured: str | None, data_dir: Path) -> SecretBox:
        """The configured key, else the data dir's key file (made when missing)."""
        if configured:
            return cls(configured)
        path = data_dir / KEY_FILE
        if not path.exists() or not path.read_bytes().strip():
            private_file(path).write_bytes(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            raise SecretError(
                "a stored secret cannot be opened with this server's key (CCSYNC_SECRET_KEY)"
            ) from None
