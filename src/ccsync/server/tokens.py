"""API tokens: made with ``secrets``, stored as SHA-256 hashes, compared in constant time.

Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
The admin token of a server bound off loopback lives, in clear, only in a 0600 file in
the data directory (and in the operator's hands); the database holds its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ccsync.private import private_dir

TOKEN_PREFIX = "ccs_"
ADMIN_TOKEN_FILE = "admin-token"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(6)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def ensure_admin_token(data_dir: Path) -> tuple[str, bool]:
    """The admin token from ``<data_dir>/admin-token``, made (mode 0600) on first use.

    Returns the token and whether it was created just now (so it can be shown once).
    """
    path = data_dir / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    private_dir(data_dir)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True
