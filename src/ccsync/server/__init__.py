"""The server's application services, framework-free: what a push does (ingest), reports
and the window (reporting, over the in-memory mirror of each account's survivors), who may
do what (access, tokens), the live keys the server owns and the shapes it trusts, events,
metrics, retention, and the host's own agent.

The web framework stays in ``ccsync.api`` (transport only); storage below in
``ccsync.storage``; the device side in ``ccsync.agent`` never imports this package.
"""
