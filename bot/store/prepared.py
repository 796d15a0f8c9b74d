"""UPDATE statements built once per shape and reused (issue 21.5).

Building a statement per write (`update(t).where(...).values(...)`) and deriving its cache
key were most of a store write's CPU: SQLAlchemy coerces every value into a bound parameter
and walks the types for the key each time. A statement built once with named bound
parameters keeps its cache key, so a write is a cache lookup and the values. Shapes are
few (which columns a write sets, and how), so the cache stays small.

A value is set as given, or through a marker: `First(v)` keeps a stored value and sets `v`
only over NULL (a first start time), `Plus(v)` adds to the stored number (NULL counting as
0: a run's cost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, Update, bindparam, func, update


@dataclass(frozen=True)
class First:
    """Set the column to `value` only where it is NULL."""

    value: Any


@dataclass(frozen=True)
class Plus:
    """Add `value` to the column (NULL counts as 0)."""

    value: float


def update_row(
    table: Table, keys: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[Update, dict[str, Any]]:
    """The UPDATE of `table`'s rows matching `keys` (column -> value) setting `values`, and
    its parameters; the statement is shared by every call of the same shape."""
    shape = tuple((column, _kind(value)) for column, value in values.items())
    statement = _update(table, tuple(keys), shape)
    params = {f"k_{column}": value for column, value in keys.items()}
    for column, value in values.items():
        params[f"v_{column}"] = value.value if isinstance(value, First | Plus) else value
    return statement, params


def _kind(value: Any) -> str:
    if isinstance(value, First):
        return "first"
    if isinstance(value, Plus):
        return "plus"
    return "set"


@cache
def _update(table: Table, keys: tuple[str, ...], shape: tuple[tuple[str, str], ...]) -> Update:
    where = [table.c[key] == bindparam(f"k_{key}", type_=table.c[key].type) for key in keys]
    values: dict[str, ColumnElement[Any]] = {}
    for column, kind in shape:
        col = table.c[column]
        param = bindparam(f"v_{column}", type_=col.type)
        if kind == "first":
            values[column] = func.coalesce(col, param)
        elif kind == "plus":
            values[column] = func.coalesce(col, 0.0) + param
        else:
            values[column] = param
    return update(table).where(*where).values(values)
