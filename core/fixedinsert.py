"""``FixedInsert``: a hot path's one INSERT, written once per connection instead of per call.

What ``core.fixedselect`` is for a lookup, this is for the row every user create writes.
``Model.save()`` builds an ``InsertQuery`` and compiles it on every call, which cost a SCIM
user create about as much of its CPU as running the statement (README, "Issue 21, thirteenth
round"). A ``FixedInsert`` writes the ``INSERT … RETURNING`` from the model's metadata the first
time a connection runs it. Each call prepares the values exactly as ``save()`` does (each
field's ``pre_save`` and ``get_db_prep_save``), and sets the primary key and ``_state`` as
``save()`` does, so the row and the instance are the ORM's. It sends no ``pre_save`` or
``post_save`` signal and does not go through an overridden ``save()``: a model that uses one
says so, and does what its ``save()`` adds, where it does (``scim.models.ScimUser.insert``).
``carried`` hands the same ``INSERT`` to a statement of another layer instead, which runs it as
its first ``WITH`` query (a user create's row and its directory event, in one round trip).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from .fixedselect import Converter, _converted

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Written:
    """The SQL for one connection, and how it learns the new primary key."""

    sql: str
    named_sql: str  # ``sql`` with ``%(name)s`` placeholders, for a carrying statement
    names: tuple[str, ...]
    returns_pk: bool
    pk_column: Any  # the primary key's Col, which its converters are given
    pk_converters: tuple[Converter, ...]


@dataclass(frozen=True)
class CarriedInsert:
    """A new row's ``INSERT … RETURNING`` key, for another statement to run (``carried``):
    ``sql`` has ``%(name)s`` placeholders, ``params`` their values; ``done(key)`` then leaves
    the instance saved, as ``insert`` does. Where no statement can carry it (a database whose
    ``INSERT`` returns no key), ``alone()`` runs it by itself, exactly as ``insert``."""

    sql: str
    params: dict[str, Any]
    done: Callable[[Any], None]
    alone: Callable[[], None]


class FixedInsert(Generic[M]):
    """``INSERT`` a new row of ``model``: every concrete field but its auto-increment primary
    key, which the database assigns. Refused when declared: a model whose primary key is not
    an auto-increment field, one with parent models (multi-table inheritance writes several
    tables), and one with a field whose value the database computes (``db_default``, a
    ``GeneratedField``), which ``save()`` would read back."""

    def __init__(self, model: type[M]) -> None:
        meta = model._meta
        if meta.parents:
            raise ValueError(f"{model.__name__} has parent models: save() writes several tables")
        if meta.auto_field is None or meta.pk is not meta.auto_field:
            raise ValueError(f"{model.__name__}'s primary key is not an auto-increment field")
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        for field in fields:
            if field.generated or field.has_db_default():
                raise ValueError(f"{model.__name__}.{field.name} is computed by the database")
        self.model = model
        self._fields: tuple[Field, ...] = tuple(fields)
        self._written: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Written] = (
            weakref.WeakKeyDictionary()
        )

    def insert(self, instance: M) -> None:
        """Write ``instance``, a row not saved yet, and give it its primary key."""
        alias, connection, written = self._target(instance)
        values = values_for_save(self._fields, instance, connection, adding=True)
        self._execute(instance, alias, connection, written, values)

    def carried(self, instance: M) -> CarriedInsert:
        """What ``insert`` sends, for a statement of another layer to carry as its first
        data-modifying ``WITH`` query, so one round trip writes both (where ``INSERT`` returns
        the key: PostgreSQL). The caller hands back what it returned to ``done``, or, where
        nothing can carry it, calls ``alone``."""
        alias, connection, written = self._target(instance)
        values = values_for_save(self._fields, instance, connection, adding=True)
        return CarriedInsert(
            sql=written.named_sql,
            params=dict(zip(written.names, values, strict=True)),
            done=lambda value: self._saved(instance, alias, connection, written, value),
            alone=lambda: self._execute(instance, alias, connection, written, values),
        )

    def _execute(
        self,
        instance: M,
        alias: str,
        connection: BaseDatabaseWrapper,
        written: _Written,
        values: list[Any],
    ) -> None:
        pk = self.model._meta.pk
        with connection.cursor() as cursor:
            cursor.execute(written.sql, values)
            if written.returns_pk:
                value = cursor.fetchone()[0]
            else:
                value = connection.ops.last_insert_id(cursor, self.model._meta.db_table, pk.column)
        self._saved(instance, alias, connection, written, value)

    def _target(self, instance: M) -> tuple[str, BaseDatabaseWrapper, _Written]:
        if not isinstance(instance, self.model):
            raise TypeError(f"{instance!r} is not a {self.model.__name__}")
        if not instance._state.adding or instance.pk is not None:
            raise ValueError(f"{instance!r} is saved already: FixedInsert writes new rows")
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        return alias, connection, self._write(connection)

    def _saved(
        self, instance: M, alias: str, connection: BaseDatabaseWrapper, written: _Written, pk: Any
    ) -> None:
        """Leave ``instance`` as ``save()`` leaves a new row: its key, and saved."""
        instance.pk = _converted(pk, written.pk_converters, written.pk_column, connection)
        instance._state.adding = False
        instance._state.db = alias

    def _write(self, connection: BaseDatabaseWrapper) -> _Written:
        written = self._written.get(connection)
        if written is not None:
            return written
        quote = connection.ops.quote_name
        meta = self.model._meta
        columns = ", ".join(quote(field.column) for field in self._fields)
        into = f"INSERT INTO {quote(meta.db_table)} ({columns})"  # noqa: S608 - quoted names
        sql = f"{into} VALUES ({', '.join(['%s'] * len(self._fields))})"
        # The same with named placeholders, which a carrying statement's own names sit beside.
        names = tuple(f"{meta.db_table}_{n}" for n in range(len(self._fields)))
        named_sql = f"{into} VALUES ({', '.join(f'%({name})s' for name in names)})"
        returns_pk = connection.features.can_return_columns_from_insert
        if returns_pk:
            returning, _ = connection.ops.return_insert_columns([meta.pk])
            sql = f"{sql} {returning}"
            named_sql = f"{named_sql} {returning}"
        expression = meta.pk.get_col(meta.db_table)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        written = _Written(sql, named_sql, names, returns_pk, expression, tuple(converters))
        self._written[connection] = written
        return written


def values_for_save(
    fields: Sequence[Field], instance: Model, connection: BaseDatabaseWrapper, *, adding: bool
) -> list[Any]:
    """``fields``' values of ``instance`` as ``save()`` sends them: each field's ``pre_save``,
    then ``get_db_prep_save``. An expression (``F("version") + 1``) is refused: a fixed
    statement has a placeholder for a value, not SQL."""
    values = []
    for field in fields:
        value = field.pre_save(instance, adding)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"{field.name}: a fixed statement writes values, not expressions")
        values.append(field.get_db_prep_save(value, connection=connection))
    return values
