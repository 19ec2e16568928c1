"""The server's application services, framework-free. ``ccsync.api`` is transport only: a
route parses, calls one service here and returns the typed value it gets back.

- What a push does (``ingest``), who may push for a device (``admission``), devices and
  their presence (``devices``), reports and the window (``reporting`` over ``mirror``,
  ``window``, ``report_views``), the host's own agent (``host_agent``), Claude Code's own
  OpenTelemetry export taken as pushes are (``otlp``).
- Runtime settings and their defaults (``runtime_config``) and ``/api/config``
  (``configuration``); tokens (``tokens``, ``access``); the live key-value API
  (``live_data``) over the keys the server owns (``live_keys``, ``live_values``); health and
  status (``status``); retention; metrics (``telemetry``).
- The typed edge: every answer is a msgspec Struct defined beside its service; events
  (``events``) and WebSocket answers (``frames``) too; refusals are ``errors``.

Storage is below in ``ccsync.storage``; the device side in ``ccsync.agent`` never imports
this package.
"""
