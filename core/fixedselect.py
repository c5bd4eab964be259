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
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class _Written:
    """The SQL for one connection, and the converters of each selected column."""

    sql: str
    converters: tuple[tuple[tuple[Converter, ...], Any], ...]


class FixedSelect(Generic[M]):
    """``SELECT`` the columns of ``model`` and of the models its ``related`` foreign-key paths
    name (inner-joined, each attached to its row as ``select_related`` would), ``WHERE``
    ``where``; ``outer`` paths are left-joined for ``where`` alone (a nullable foreign key).

    ``where`` names columns by field path in braces (``"{key} = %s AND
    {organization__provisioning_enabled}"``, through joined paths only) and takes its values as
    ``%s``; ``params`` are the field paths whose fields prepare those values, in order. A path in
    ``related`` (a foreign key that is never empty) or ``outer`` goes through the root model or a
    path listed before it, and each table is joined once.

    ``lock`` reads as ``select_for_update()`` reads: ``FOR UPDATE`` where the database has it
    (SQLite locks the whole database on write instead), and only inside a transaction.
    """

    def __init__(
        self,
        model: type[M],
        *,
        where: str,
        params: Sequence[str],
        related: Sequence[str] = (),
        outer: Sequence[str] = (),
        lock: bool = False,
    ) -> None:
        self.model = model
        self.where = where
        self.lock = lock
        self.related = tuple(related)
        self.outer = tuple(outer)
        self._joined: dict[str, type[Model]] = {}
        for path in (*self.related, *self.outer):
            _, foreign_key = self._field(path)
            if not foreign_key.many_to_one:
                raise ValueError(f"{path!r} is not a foreign key")
            if path in self.related and foreign_key.null:
                # An inner join would drop the rows where it is empty, which select_related keeps.
                raise ValueError(f"{path!r} may be empty: left-join it with outer")
            self._joined[path] = foreign_key.related_model
        self._models: tuple[type[Model], ...] = (
            model,
            *(self._joined[path] for path in self.related),
        )
        tables = {m._meta.db_table for m in (model, *self._joined.values())}
        if len(tables) != len(self._joined) + 1:
            raise ValueError("FixedSelect joins each table once")
        self._param_fields = tuple(self._field(path)[1] for path in params)
        self._attnames = tuple(
            [field.attname for field in m._meta.concrete_fields] for m in self._models
        )
        self._written: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Written] = (
            weakref.WeakKeyDictionary()
        )

    def one(self, *values: Any) -> M | None:
        """The row matching ``values`` (``params`` order), or ``None``. For a ``where`` that
        pins at most one row (a unique key)."""
        alias, connection, written, params = self._prepared(values)
        with connection.cursor() as cursor:
            cursor.execute(written.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._instance(alias, connection, written, row)

    def all(self, *values: Any) -> list[M]:
        """Every row matching ``values`` (``params`` order), in no particular order."""
        alias, connection, written, params = self._prepared(values)
        with connection.cursor() as cursor:
            cursor.execute(written.sql, params)
            rows = cursor.fetchall()
        return [self._instance(alias, connection, written, row) for row in rows]

    def _prepared(
        self, values: Sequence[Any]
    ) -> tuple[str, BaseDatabaseWrapper, _Written, list[Any]]:
        """The database alias and connection to run on, the SQL, and the values prepared by
        their fields."""
        # A locking read goes where writes go, as select_for_update() sends it.
        alias = (router.db_for_write if self.lock else router.db_for_read)(self.model)
        connection = connections[alias]
        if self.lock and connection.features.has_select_for_update and connection.get_autocommit():
            # What the ORM says of select_for_update() outside a transaction: a lock released
            # as soon as it is taken protects nothing.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        written = self._write(connection)
        params = [
            field.get_db_prep_value(value, connection)
            for field, value in zip(self._param_fields, values, strict=True)
        ]
        return alias, connection, written, params

    def _model_at(self, path: str) -> type[Model]:
        """The model a joined ``path`` reaches ("" is the root)."""
        if not path:
            return self.model
        if path not in self._joined:
            raise ValueError(f"{path!r} is not joined: name it in related or outer first")
        return self._joined[path]

    def _field(self, path: str) -> tuple[str, Field]:
        """The joined path a field path goes through, and its field."""
        parent, _, name = path.rpartition("__")
        return parent, self._model_at(parent)._meta.get_field(name)

    def _instance(
        self, alias: str, connection: BaseDatabaseWrapper, written: _Written, row: Sequence
    ) -> M:
        values = [
            _converted(value, converters, expression, connection)
            for value, (converters, expression) in zip(row, written.converters, strict=True)
        ]
        instances: dict[str, Model] = {}
        for path, model, attnames in zip(
            ("", *self.related), self._models, self._attnames, strict=True
        ):
            own, values = values[: len(attnames)], values[len(attnames) :]
            instances[path] = model.from_db(alias, attnames, own)
        for path in self.related:
            parent, _, name = path.rpartition("__")
            setattr(instances[parent], name, instances[path])
        return instances[""]

    def _write(self, connection: BaseDatabaseWrapper) -> _Written:
        """The SQL and converters for ``connection``, written on its first use (connections
        are per thread, and so are their converters)."""
        written = self._written.get(connection)
        if written is not None:
            return written
        quote = connection.ops.quote_name

        def table(path: str) -> str:
            return quote(self._model_at(path)._meta.db_table)

        def column(path: str) -> str:
            parent, field = self._field(path)
            return f"{table(parent)}.{quote(field.column)}"

        selected = ", ".join(
            f"{quote(model._meta.db_table)}.{quote(field.column)}"
            for model in self._models
            for field in model._meta.concrete_fields
        )
        joins = "".join(
            f" {'LEFT OUTER' if path in self.outer else 'INNER'} JOIN {table(path)}"
            f" ON {column(path)} = {table(path)}.{quote(self._joined[path]._meta.pk.column)}"
            for path in self._joined
        )
        where = self.where.format_map(_Columns(column))
        sql = f"SELECT {selected} FROM {table('')}{joins} WHERE {where}"  # noqa: S608 - quoted names
        if self.lock and connection.features.has_select_for_update:
            sql += " FOR UPDATE"
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
