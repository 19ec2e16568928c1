"""How many runs at once: at most ``limit`` in this server process, and one per job.

A run takes its slot before anything is awaited (so two requests cannot both take the
last one) and gives it back once its record is complete. Across replicas, one run per job
is checked in the history store: a run of the job still ``running`` there (another
replica's, or an orphan not closed yet) keeps a new one from starting.
"""

from __future__ import annotations

DEFAULT_MAX_RUNS = 4


class BusyError(RuntimeError):
    """A run cannot start now; the message says why."""


class JobBusyError(BusyError):
    """The job runs already (one run per job at a time)."""


class CapacityFullError(BusyError):
    """Every slot of this server process is taken."""


class Capacity:
    def __init__(self, limit: int = DEFAULT_MAX_RUNS) -> None:
        if limit < 1:
            raise ValueError(f"the most runs at once must be at least 1, not {limit}")
        self.limit = limit
        self._running: set[str] = set()

    @property
    def running(self) -> set[str]:
        """The jobs with a run in progress in this process."""
        return set(self._running)

    def take(self, job_id: str) -> None:
        """A slot for a run of ``job_id``; ``JobBusyError`` or ``CapacityFullError`` if none."""
        if job_id in self._running:
            raise JobBusyError(f"job {job_id} is running already: one run per job at a time")
        if len(self._running) >= self.limit:
            raise CapacityFullError(
                f"{len(self._running)} runs are in progress on this server, the most it runs "
                "at once (CCSYNC_MAX_RUNS, ccsync serve --max-runs)"
            )
        self._running.add(job_id)

    def release(self, job_id: str) -> None:
        self._running.discard(job_id)
