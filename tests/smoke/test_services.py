"""The service fixtures talk to real servers, and the bundled fallbacks start real ones."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis

from fixtures.services import start_bundled_postgres, start_bundled_redis

pytestmark = pytest.mark.services


def test_redis_fixture(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(redis_prefix + "k", b"v", ex=300)
    assert client.get(redis_prefix + "k") == b"v"
    assert 0 < client.ttl(redis_prefix + "k") <= 300
    client.close()


def test_postgres_fixture(database_url: str, pg_schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{pg_schema}".t (id int PRIMARY KEY, v text)')
        conn.execute(f'INSERT INTO "{pg_schema}".t VALUES (1, %s)', ("x",))
        assert conn.execute(f'SELECT v FROM "{pg_schema}".t').fetchone() == ("x",)


def test_bundled_redis_server_starts(tmp_path: Path) -> None:
    url, process = start_bundled_redis(tmp_path)
    try:
        client = redis.Redis.from_url(url)
        assert client.ping() is True
        assert client.info("server")["redis_version"]
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_bundled_postgres_server_starts() -> None:
    # Not under tmp_path: as root, pgserver runs PostgreSQL as another user, which cannot
    # enter pytest's 0700 folders (the session fixture uses mkdtemp for the same reason).
    workdir = Path(tempfile.mkdtemp(prefix="ccsync-pg-smoke-"))
    url, server = start_bundled_postgres(workdir)
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
            assert row is not None and row[0] >= 120000
    finally:
        server.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(workdir, ignore_errors=True)
