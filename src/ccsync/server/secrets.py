"""Secrets kept in the database, encrypted: what the server must read back but nobody
else should (the usage poller's tokens).

``SecretBox`` seals and opens text with Fernet (AES-128-CBC with HMAC-SHA256, from
``cryptography``). The key is ``CCSYNC_SECRET_KEY`` when set; else derived from the admin
token (``CCSYNC_ADMIN_TOKEN``, HKDF-SHA256), which replicas sharing a database share
already; else (local mode: one process) a key file in the data dir, made on first use and
readable by its owner only. A database copied without the key holds nothing usable;
changing the admin token without a ``CCSYNC_SECRET_KEY`` means giving the secrets again.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
    def of(
        cls, configured: str | None, data_dir: Path, admin_token: str | None = None
    ) -> SecretBox:
        """The configured key, else one derived from the admin token, else the data dir's
        key file (made when missing)."""
        if configured:
            return cls(configured)
        if admin_token:
            derived = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"ccsync secrets v1"
            ).derive(admin_token.encode())
            return cls(base64.urlsafe_b64encode(derived))
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
