"""The environment a job's program runs in: the server's own, minus its secrets.

A job is a program the server starts; its output is stored. So the server's secrets stay
with the server, whatever the job and with or without ``--allow-commands``:

- every ``CCSYNC_*`` variable (admin token, agent token, data directory…);
- the stores: ``DATABASE_URL``, every ``REDIS_*``, ``PGPASSWORD``, ``PGPASSFILE``;
- any variable whose name says it holds a secret (``SECRET_NAME``: TOKEN, SECRET,
  PASSWORD, PASSWD, PASSPHRASE, API_KEY/APIKEY, CREDENTIAL, PRIVATE_KEY, any case);
- any variable whose value is a URL with a password in it (``scheme://user:pass@host``).

``claude`` jobs get Claude Code's own variables back (``CLAUDE_*`` and ``ANTHROPIC_*``:
``CLAUDE_CODE_OAUTH_TOKEN``, ``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``,
``ANTHROPIC_BASE_URL``…), the proxy variables, and the cloud credentials of the provider
Claude Code is told to use (``CLAUDE_CODE_USE_BEDROCK`` → ``AWS_*``, ``_VERTEX`` →
``GOOGLE_*``/``CLOUDSDK_*``, ``_FOUNDRY`` → ``AZURE_*``): claude cannot log in without
them. Other programs (``ccusage``, and anything ``--allow-commands`` lets run) do not:
a program that needs to call Claude reads the login claude keeps on disk.

Every job also gets ``CCSYNC_RUN`` (its run's tag: instance and run id), by which a later
server recognises the processes of a run orphaned by a dead one (``orphans``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ccsync.scheduler.commands import Program

RUN_TAG_VARIABLE: Final = "CCSYNC_RUN"
SECRET_NAME: Final = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|CREDENTIAL|PRIVATE_?KEY", re.IGNORECASE
)
SERVER_SECRETS: Final = frozenset({"DATABASE_URL", "PGPASSWORD", "PGPASSFILE"})
SERVER_PREFIXES: Final = ("CCSYNC_", "REDIS_")
URL_WITH_PASSWORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")

CLAUDE_PREFIXES: Final = ("CLAUDE_", "ANTHROPIC_")
PROXIES: Final = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})
PROVIDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "CLAUDE_CODE_USE_BEDROCK": ("AWS_",),
    "CLAUDE_CODE_USE_VERTEX": ("GOOGLE_", "CLOUDSDK_"),
    "CLAUDE_CODE_USE_FOUNDRY": ("AZURE_",),
}
"""Claude Code's switch for a cloud provider, and the variables that provider logs in with."""


def is_secret(name: str, value: str) -> bool:
    """Whether a variable stays with the server (see the module doc)."""
    upper = name.upper()
    return (
        upper in SERVER_SECRETS
        or upper.startswith(SERVER_PREFIXES)
        or SECRET_NAME.search(name) is not None
        or URL_WITH_PASSWORD.search(value) is not None
    )


def child_environment(
    server: Mapping[str, str], program: Program, run_tag: str | None = None
) -> dict[str, str]:
    """The environment a job running ``program`` gets, from the server's ``server``."""
    env = {name: value for name, value in server.items() if not is_secret(name, value)}
    if program == "claude":
        env.update((name, value) for name, value in server.items() if _claude_needs(name, server))
    if run_tag is not None:
        env[RUN_TAG_VARIABLE] = run_tag
    return env


def _claude_needs(name: str, server: Mapping[str, str]) -> bool:
    upper = name.upper()
    if upper.startswith(SERVER_PREFIXES) or upper in SERVER_SECRETS:
        return False
    if upper.startswith(CLAUDE_PREFIXES) or upper in PROXIES:
        return True
    return any(
        _on(server.get(switch)) and upper.startswith(prefixes)
        for switch, prefixes in PROVIDERS.items()
    )


def _on(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")
