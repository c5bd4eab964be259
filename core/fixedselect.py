"""``FixedSelect``: a hot path's one SELECT, written once per connection instead of per call.

Building a QuerySet and compiling it costs Django far more CPU than running the statement
costs PostgreSQL when the statement is a primary-key-sized lookup: the bearer-token check every
SCIM request starts with spent about 470 µs of its 780 µs in the ORM, against 80 µs running the
compiled SQL (README, "Issue 21, twelfth round"). A ``FixedSelect`` writes its SQL from the
models' own metadata the first time a connection runs it; each call then only prepares its
values as the fields prepare them for that database, and reads the row back through the same
converters a QuerySet applies, so SQLite and PostgreSQL read exactly what the ORM would. With
the same SQL text on every call, psycopg prepares it on the server too (``DB_PREPARE_THRESHOLD``).

Only for a few statements run on every request, each held by a test to the QuerySet it stands
for; everything else stays in the ORM.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class _Written:
    """The SQL for one connection, and the converters of each selected column."""

    sql: str
    converters: tuple[tuple[tuple[Converter, ...], Any], ...]


class FixedSelect(Generic[M]):
    """``SELECT`` the columns of ``model`` (and of the models its ``related`` foreign keys name,
    inner-joined and attached to each row as ``select_related`` would) ``WHERE`` ``where``.

    ``where`` names columns by field path in braces (``"{key} = %s AND
    {organization__provisioning_enabled}"``, a path through ``related`` only) and takes its
    values as ``%s``; ``params`` are the field paths whose fields prepare those values, in order.
    """

    def __init__(
        self,
        model: type[M],
        *,
        where: str,
        params: Sequence[str],
        related: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.where = where
        self.related = tuple(related)
        self._param_fields = tuple(self._field(path) for path in params)
        self._related_models: tuple[type[Model], ...] = tuple(
            model._meta.get_field(name).related_model for name in self.related
        )
        self._models: tuple[type[Model], ...] = (model, *self._related_models)
        self._written: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Written] = (
            weakref.WeakKeyDictionary()
        )

    def one(self, *values: Any) -> M | None:
        """The row matching ``values`` (``params`` order), or ``None``. For a ``where`` that
        pins at most one row (a unique key)."""
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        written = self._write(connection)
        params = [
            field.get_db_prep_value(value, connection)
            for field, value in zip(self._param_fields, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(written.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._instance(alias, connection, written, row)

    def _field(self, path: str) -> Field:
        name, _, rest = path.partition("__")
        field = self.model._meta.get_field(name)
        if rest:
            if name not in self.related:
                raise ValueError(f"{path!r} goes through {name!r}, which is not in related")
            field = field.related_model._meta.get_field(rest)
        return field

    def _instance(
        self, alias: str, connection: BaseDatabaseWrapper, written: _Written, row: Sequence
    ) -> M:
        values = [
            _converted(value, converters, expression, connection)
            for value, (converters, expression) in zip(row, written.converters, strict=True)
        ]
        instances = []
        for model in self._models:
            fields = model._meta.concrete_fields
            own, values = values[: len(fields)], values[len(fields) :]
            instances.append(model.from_db(alias, [f.attname for f in fields], own))
        root = instances[0]
        for name, related in zip(self.related, instances[1:], strict=True):
            setattr(root, name, related)
        return root

    def _write(self, connection: BaseDatabaseWrapper) -> _Written:
        """The SQL and converters for ``connection``, written on its first use (connections
        are per thread, and so are their converters)."""
        written = self._written.get(connection)
        if written is not None:
            return written
        quote = connection.ops.quote_name
        tables = {model: quote(model._meta.db_table) for model in self._models}
        if len(set(tables.values())) != len(tables):
            raise ValueError("FixedSelect joins each table once")
        root = tables[self.model]

        def column(path: str) -> str:
            name, _, rest = path.partition("__")
            target = self._field(path)
            if not rest:
                return f"{root}.{quote(target.column)}"
            joined = tables[self.model._meta.get_field(name).related_model]
            return f"{joined}.{quote(target.column)}"

        selected = ", ".join(
            f"{tables[model]}.{quote(field.column)}"
            for model in self._models
            for field in model._meta.concrete_fields
        )
        joins = "".join(
            f" INNER JOIN {tables[related]} ON {column(name)}"
            f" = {tables[related]}.{quote(related._meta.pk.column)}"
            for name, related in zip(self.related, self._related_models, strict=True)
        )
        where = self.where.format_map(_Columns(column))
        sql = f"SELECT {selected} FROM {root}{joins} WHERE {where}"  # noqa: S608 - quoted names
        converters = []
        for model in self._models:
            for field in model._meta.concrete_fields:
                expression = field.get_col(model._meta.db_table)
                found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                    connection
                )
                converters.append((tuple(found), expression))
        written = _Written(sql, tuple(converters))
        self._written[connection] = written
        return written


class _Columns(dict):
    """``str.format_map`` mapping: each ``{field__path}`` becomes its quoted column."""

    def __init__(self, column: Callable[[str], str]) -> None:
        super().__init__()
        self._column = column

    def __missing__(self, path: str) -> str:
        return self._column(path)


def _converted(
    value: Any, converters: tuple[Converter, ...], expression: Any, connection: BaseDatabaseWrapper
) -> Any:
    for converter in converters:
        value = converter(value, expression, connection)
    return value
