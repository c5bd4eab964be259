"""``FixedUpdate``: ``save(update_fields=…)`` for a hot path, written once per connection.

What ``core.fixedinsert`` is for a new row, this is for a changed one: ``Model.save()`` with
``update_fields`` builds an ``UpdateQuery`` and compiles it on every call, a twelfth of a SCIM
user PATCH's instructions (README, "Issue 21, fourteenth round"). A ``FixedUpdate`` writes
``UPDATE … SET … WHERE pk = %s`` for one set of fields the first time a connection runs it.
Each call prepares the values exactly as ``save()`` does (each field's ``pre_save`` and
``get_db_prep_save``) and, like ``save(update_fields=…)``, refuses to pass silently when no row
was updated. It sends no ``pre_save`` or ``post_save`` signal and does not go through an
overridden ``save()``: a model that uses one does what its ``save()`` adds, where it does
(``scim.models.ScimUser.save_fields``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Generic, TypeVar

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from .fixedinsert import values_for_save

M = TypeVar("M", bound=Model)


class FixedUpdate(Generic[M]):
    """``UPDATE`` the ``fields`` (names) of a saved row of ``model``, found by primary key.
    Refused when declared: the primary key, a field that is not a concrete column of the
    model's own table, and one the database computes (a ``GeneratedField``)."""

    def __init__(self, model: type[M], fields: Iterable[str]) -> None:
        meta = model._meta
        chosen: list[Field] = []
        for name in sorted(set(fields)):
            field = meta.get_field(name)
            if field.primary_key:
                raise ValueError(f"{model.__name__}.{name} is the primary key")
            if not field.concrete or field not in meta.local_concrete_fields:
                raise ValueError(f"{model.__name__}.{name} is not a column of its own table")
            if field.generated:
                raise ValueError(f"{model.__name__}.{name} is computed by the database")
            chosen.append(field)
        if not chosen:
            raise ValueError("FixedUpdate needs at least one field")
        self.model = model
        self._fields: tuple[Field, ...] = tuple(chosen)
        self._sql: weakref.WeakKeyDictionary[BaseDatabaseWrapper, str] = weakref.WeakKeyDictionary()

    def update(self, instance: M) -> None:
        """Write ``instance``'s values of the fields to its row; ``DatabaseError`` if it has
        none (deleted meanwhile), as ``save(update_fields=…)`` raises."""
        if not isinstance(instance, self.model):
            raise TypeError(f"{instance!r} is not a {self.model.__name__}")
        if instance._state.adding or instance.pk is None:
            raise ValueError(f"{instance!r} is not saved: FixedUpdate changes saved rows")
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        params = values_for_save(self._fields, instance, connection, adding=False)
        params.append(self.model._meta.pk.get_db_prep_value(instance.pk, connection))
        with connection.cursor() as cursor:
            cursor.execute(self._write(connection), params)
            updated = cursor.rowcount
        if updated != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
        instance._state.db = alias

    def _write(self, connection: BaseDatabaseWrapper) -> str:
        sql = self._sql.get(connection)
        if sql is None:
            quote = connection.ops.quote_name
            meta = self.model._meta
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in self._fields)
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - quoted names
                f"WHERE {quote(meta.pk.column)} = %s"
            )
            self._sql[connection] = sql
        return sql
