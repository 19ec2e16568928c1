"""A job's environment: the server's, minus its secrets; claude keeps its own login."""

from __future__ import annotations

import pytest

from ccsync.scheduler.environment import RUN_TAG_VARIABLE, child_environment

SERVER = {
    "PATH": "/usr/bin",
    "HOME": "/home/ccsync",
    "TZ": "UTC",
    "CLAUDE_CONFIG_DIR": "/home/ccsync/.claude",
    "CCSYNC_ADMIN_TOKEN": "ccs_admin",
    "CCSYNC_TOKEN": "ccs_device",
    "CCSYNC_DATA_DIR": "/var/lib/ccsync",
    "DATABASE_URL": "postgresql://postgres:PgS3cretPW@db/ccsync",
    "REDIS_URL": "redis://:RedisPW@cache:6379/0",
    "REDIS_PASSWORD": "RedisPW",
    "REDIS_HOST": "cache",
    "PGPASSWORD": "PgS3cretPW",
    "PGPASSFILE": "/home/ccsync/.pgpass",
    "GITHUB_TOKEN": "ghp_x",
    "my_secret": "s",
    "SMTP_PASSWD": "p",
    "STRIPE_APIKEY": "k",
    "OPENAI_API_KEY": "sk-x",
    "DEPLOY_PRIVATE_KEY": "-----BEGIN",
    "GOOGLE_APPLICATION_CREDENTIALS": "/keys/sa.json",
    "BACKUP_TARGET": "s3://user:pw@bucket/x",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x",
    "ANTHROPIC_API_KEY": "sk-ant-api-x",
    "ANTHROPIC_AUTH_TOKEN": "gateway",
    "ANTHROPIC_BASE_URL": "https://gateway.example",
    "HTTPS_PROXY": "http://me:ProxyPW@proxy:3128",
    "no_proxy": "localhost",
}
NEVER = {
    "CCSYNC_ADMIN_TOKEN",
    "CCSYNC_TOKEN",
    "CCSYNC_DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PASSWORD",
    "REDIS_HOST",
    "PGPASSWORD",
    "PGPASSFILE",
    "GITHUB_TOKEN",
    "my_secret",
    "SMTP_PASSWD",
    "STRIPE_APIKEY",
    "OPENAI_API_KEY",
    "DEPLOY_PRIVATE_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "BACKUP_TARGET",
    "AWS_SECRET_ACCESS_KEY",
}
CLAUDE_LOGIN = {
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "HTTPS_PROXY",
}
PLAIN = {"PATH", "HOME", "TZ", "CLAUDE_CONFIG_DIR", "ANTHROPIC_BASE_URL", "no_proxy"}
"""Not secrets: every job gets them."""


@pytest.mark.parametrize("program", ["claude", "ccusage", "other"])
def test_the_server_secrets_never_reach_a_job(program: str) -> None:
    env = child_environment(SERVER, program)  # type: ignore[arg-type]
    assert not NEVER & set(env)
    assert set(env) >= PLAIN and all(env[name] == SERVER[name] for name in PLAIN)
    assert not {"ccs_admin", "PgS3cretPW", "RedisPW"} & set(env.values())


def test_claude_keeps_its_login_and_nothing_else_does() -> None:
    claude = child_environment(SERVER, "claude")
    assert set(claude) == PLAIN | CLAUDE_LOGIN
    for program in ("ccusage", "other"):
        assert set(child_environment(SERVER, program)) == PLAIN  # type: ignore[arg-type]


def test_claude_gets_the_cloud_credentials_of_its_provider_only() -> None:
    bedrock = {**SERVER, "CLAUDE_CODE_USE_BEDROCK": "1"}
    env = child_environment(bedrock, "claude")
    assert env["AWS_SECRET_ACCESS_KEY"] == "aws" and "GOOGLE_APPLICATION_CREDENTIALS" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in child_environment(bedrock, "other")
    off = child_environment({**SERVER, "CLAUDE_CODE_USE_BEDROCK": "0"}, "claude")
    assert "AWS_SECRET_ACCESS_KEY" not in off


def test_a_job_carries_its_run_tag() -> None:
    env = child_environment({**SERVER, RUN_TAG_VARIABLE: "forged"}, "other", "host:1:ab/7")
    assert env[RUN_TAG_VARIABLE] == "host:1:ab/7"
    assert RUN_TAG_VARIABLE not in child_environment({**SERVER, RUN_TAG_VARIABLE: "x"}, "other")
