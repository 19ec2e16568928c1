"""Secrets sealed at rest: the key's three origins, and what a wrong key does."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ccsync.server.secrets import KEY_FILE, SecretBox, SecretError


def test_a_configured_key_seals_and_opens() -> None:
    key = Fernet.generate_key().decode()
    sealed = SecretBox(key).seal("sk-ant-oat01-secret")
    assert "secret" not in sealed
    assert SecretBox(key).open(sealed) == "sk-ant-oat01-secret"
    with pytest.raises(SecretError, match="cannot be opened"):
        SecretBox(Fernet.generate_key()).open(sealed)
    with pytest.raises(ValueError, match="not a Fernet key"):
        SecretBox("too short")


def test_replicas_with_one_admin_token_share_the_key(tmp_path: Path) -> None:
    one = SecretBox.of(None, tmp_path / "a", "ccs_admin_token_of_the_deployment")
    two = SecretBox.of(None, tmp_path / "b", "ccs_admin_token_of_the_deployment")
    assert two.open(one.seal("x")) == "x"
    other = SecretBox.of(None, tmp_path / "c", "another-admin-token")
    with pytest.raises(SecretError):
        other.open(one.seal("x"))
    assert not (tmp_path / "a").exists()  # no key file when the token gives the key


def test_without_either_a_private_key_file_is_made_once(tmp_path: Path) -> None:
    first = SecretBox.of(None, tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SecretBox.of(None, tmp_path).open(first.seal("y")) == "y"
    key = Fernet.generate_key().decode()
    assert SecretBox.of(key, tmp_path).open(SecretBox(key).seal("z")) == "z"  # configured wins
