"""OpenTelemetry ingest: Claude Code's own OTLP/HTTP export as a way in for devices that
run nothing of ccsync.

- ``model``: the OTLP/JSON bodies (typed Structs); ``decode``: JSON or protobuf (the
  official ``opentelemetry-proto`` messages), gzip, → plain records and points.
- ``mapping``: ``claude_code.api_request`` → a usage entry (its identity and how it meets
  the transcript's copy: ``ccsync.usage.dedup``), metric points, retention sweeps.
- ``service``: ``/v1/logs`` and ``/v1/metrics`` (auth, device, limits, ingest);
  ``answers``: success, partial success and ``google.rpc.Status`` refusals, encoded.
- ``checks``: the metrics beside the entries per session, and retention sweeps.
"""
