"""``ccsync otel-env``: the environment that makes Claude Code report to a ccsync server.

Claude Code exports its own telemetry over OTLP/HTTP when told to; each ``api_request``
event then reaches the server as a usage entry, with nothing of ccsync installed on the
device. The block is printed for a shell (``export`` lines; the ``settings.json`` ``env``
snippet follows as comments, so the whole output can be pasted), or as the snippet alone
(``--json``). Server, token and device default as the agent's do (flags, ``CCSYNC_*``,
``agent.json``).
"""

from __future__ import annotations

import json
import shlex

import click

from ccsync.agent.config import load_config

PROTOCOLS = ("http/protobuf", "http/json")
SHUTDOWN_TIMEOUT_MS = "10000"
"""How long Claude Code waits for its last export when it ends (its default, 2 s, can
lose a short ``claude -p`` run's events on a slow network)."""


def otel_environment(
    server: str,
    token: str | None,
    device: str,
    protocol: str = "http/protobuf",
    project: str | None = None,
) -> dict[str, str]:
    """The variables, in the order they are printed."""
    attributes = [f"ccsync.device={device}"]
    if project:
        attributes.append(f"ccsync.project={project}")
    env = {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": server.rstrip("/"),
    }
    if token:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer {token}"
    env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(attributes)
    env["CLAUDE_CODE_OTEL_SHUTDOWN_TIMEOUT_MS"] = SHUTDOWN_TIMEOUT_MS
    return env


def shell_block(env: dict[str, str]) -> str:
    lines = ["# Claude Code reports its usage to ccsync (read at start: restart claude)."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    snippet = json.dumps({"env": env}, indent=2).splitlines()
    lines.append("# Or, for every session: merge this into ~/.claude/settings.json")
    lines += [f"#   {line}" for line in snippet]
    return "\n".join(lines)


@click.command("otel-env")
@click.option("--server", help="the ccsync server's URL (default: the agent's)")
@click.option("--token", help="a device token (default: the agent's; local mode needs none)")
@click.option("--device", help="the device id to report as (default: the agent's)")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=PROTOCOLS[0], show_default=True)
@click.option("--project", help="the project name entries get (default: otel)")
@click.option("--json", "as_json", is_flag=True, help="print only the settings.json snippet")
def otel_env(
    server: str | None,
    token: str | None,
    device: str | None,
    protocol: str,
    project: str | None,
    as_json: bool,
) -> None:
    """Print the environment that makes Claude Code send its telemetry to a ccsync server."""
    config = load_config(server=server, token=token, device=device)
    env = otel_environment(config.server, config.token, config.device, protocol, project)
    click.echo(json.dumps({"env": env}, indent=2) if as_json else shell_block(env))
