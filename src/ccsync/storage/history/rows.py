"""Rows ↔ records, by name: a record's fields are its table's columns.

For records whose every field is a column of the same name and a plain value (no JSON
text, no tuple): ``values`` gives the columns to write, ``from_row`` builds the record
back from a row that holds at least those columns.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Row

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def values(record: DataclassInstance) -> dict[str, Any]:
    """The columns of ``record`` (each field by its name)."""
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}


def from_row(kind: type[R], row: Row[Any]) -> R:
    """A ``kind`` from the row's columns of the same names as its fields."""
    mapping = row._mapping
    return kind(**{field.name: mapping[field.name] for field in dataclasses.fields(kind)})
