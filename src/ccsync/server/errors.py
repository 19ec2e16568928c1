"""What a service refuses to do, and why: one tree that the API maps to statuses and codes.

A service raises one of these with a message that says what to change; ``ccsync.api``
answers it as ``{"error": message, **extra}`` with the HTTP status, or as a WebSocket error
frame with the code, beside it::

    RefusedError                                     HTTP   WebSocket
    ├── InvalidRequestError     (ValueError)          400    4000  malformed: an id, a date
    ├── UnprocessableError      (ValueError)          422    4000  well-formed, not acceptable
    ├── UnauthenticatedError                          401    4002  no token, or not a valid one
    ├── ForbiddenError          (PermissionError)     403    4001  another device's, the server's
    ├── NotFoundError           (LookupError)         404    4001  an unknown device, token, key
    ├── ConflictError                                 409    4003  not how this server runs
    ├── TooLargeError                                 413    4003  a cap of the live store
    ├── TooManyRequestsError                          429    4003  ``retry_after`` seconds
    └── UnavailableError                              503    4003  a backend does not answer

Errors raised elsewhere that the API maps too: ``reporting.AccountError`` (400),
``ingest.IngestError`` (422), the scheduler's ``JobError`` (400), ``JobNotFoundError``
(404), ``JobBusyError`` (409) and ``CapacityFullError`` (429), and
``storage.StorageUnavailableError`` (503). Anything else is a bug: a logged 500.
"""

from __future__ import annotations

from typing import Any


class RefusedError(Exception):
    """A request a service will not carry out. ``extra``: fields for the error body."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidRequestError(RefusedError, ValueError):
    """The request is malformed: a device id that is not one, a date that is not one."""


class UnprocessableError(RefusedError, ValueError):
    """The request is well-formed but cannot be taken: a value that cannot be stored."""


class UnauthenticatedError(RefusedError):
    """No token, or not one this server knows (a service that authenticates by itself)."""


class ForbiddenError(RefusedError, PermissionError):
    """Not for this principal: another device or account, a key the server owns."""


class NotFoundError(RefusedError, LookupError):
    """An unknown device, token or live key."""


class ConflictError(RefusedError):
    """The request conflicts with how this server runs (no host agent, a fixed store)."""


class TooLargeError(RefusedError):
    """A value or the live store over its cap."""


class TooManyRequestsError(RefusedError):
    """Too many requests of a kind from one client: try again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float, **extra: Any) -> None:
        super().__init__(message, retryAfter=round(retry_after, 2), **extra)
        self.retry_after = retry_after


class UnavailableError(RefusedError):
    """A backend does not answer (the message names it)."""
