"""Many values in one statement: ``IN`` lists on SQLite, array parameters on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, any_, literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ccsync.storage.history.urls import Backend

_T = TypeVar("_T")

SQLITE_IN_CHUNK = 2000
"""Values per ``IN (…)`` list on SQLite: far below its 32766 parameters."""
ARRAY_CHUNK = 50_000
"""Values per array parameter on PostgreSQL."""


def chunk_size(backend: Backend) -> int:
    """How many values one ``among`` takes on ``backend``."""
    return SQLITE_IN_CHUNK if backend == "sqlite" else ARRAY_CHUNK


def chunks(values: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(
    backend: Backend,
    column: ColumnElement[Any],
    values: Sequence[Any],
    item_type: type[TypeEngine[Any]],
) -> ColumnElement[bool]:
    """``column IN values``: on PostgreSQL one array parameter (``= ANY``), so one
    prepared statement serves every count; on SQLite an expanding ``IN`` list."""
    if backend == "postgresql":
        return column == any_(literal(list(values), postgresql.ARRAY(item_type)))
    return column.in_(values)
