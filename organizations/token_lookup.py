"""The one statement that finds a presented Secret Token: written once, bound on every request.

Every SCIM request checks its bearer token before anything else. Built through the ORM, that
check (a join, four conditions, both models' columns) cost more CPU in Django building and
compiling the query than in everything else the check does, PostgreSQL's work included: about
470 µs of a 780 µs check on the bench machine, where running the compiled statement took 80 µs
(README, "Issue 21, twelfth round"). Here the SQL is written once per database connection from
the models' own metadata, each call binds its three values the way the fields prepare them for
that database, and the row comes back as model instances through the same converters a
QuerySet applies, so both backends read exactly what the ORM would.

What it asks is ``ProvisioningToken.objects.active(now)`` of the organization at ``public_id``
while provisioning is enabled there, for one key: ``tests/organizations/test_token_lookup.py``
holds it to the same answers as that QuerySet.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from .models import Organization, ProvisioningToken

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class _Statement:
    """The SQL and how to read its row, for one database connection."""

    sql: str
    # Per selected column, the converters the ORM would apply to its value (usually none).
    converters: tuple[tuple[tuple[Converter, ...], Any], ...]


_statements: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Statement] = (
    weakref.WeakKeyDictionary()
)


def _fields(model: type[Model]) -> list:
    return list(model._meta.concrete_fields)


def _statement(connection: BaseDatabaseWrapper) -> _Statement:
    """The statement for ``connection``, written on its first use (connections are per thread,
    and so are their converters)."""
    statement = _statements.get(connection)
    if statement is not None:
        return statement
    quote = connection.ops.quote_name
    token_table = quote(ProvisioningToken._meta.db_table)
    organization_table = quote(Organization._meta.db_table)

    def column(table: str, model: type[Model], name: str) -> str:
        return f"{table}.{quote(model._meta.get_field(name).column)}"

    columns = [(ProvisioningToken, field) for field in _fields(ProvisioningToken)] + [
        (Organization, field) for field in _fields(Organization)
    ]
    selected = ", ".join(
        f"{token_table if model is ProvisioningToken else organization_table}.{quote(field.column)}"
        for model, field in columns
    )
    expires_at = column(token_table, ProvisioningToken, "expires_at")
    sql = (
        f"SELECT {selected} FROM {token_table} INNER JOIN {organization_table} "  # noqa: S608 - quoted names
        f"ON {column(token_table, ProvisioningToken, 'organization')} = "
        f"{column(organization_table, Organization, 'id')} "
        f"WHERE {column(token_table, ProvisioningToken, 'key')} = %s "
        f"AND {column(token_table, ProvisioningToken, 'revoked_at')} IS NULL "
        f"AND ({expires_at} IS NULL OR {expires_at} > %s) "
        f"AND {column(organization_table, Organization, 'public_id')} = %s "
        f"AND {column(organization_table, Organization, 'provisioning_enabled')}"
    )
    converters = []
    for model, field in columns:
        expression = field.get_col(model._meta.db_table)
        converters.append(
            (
                tuple(
                    connection.ops.get_db_converters(expression)
                    + expression.get_db_converters(connection)
                ),
                expression,
            )
        )
    statement = _Statement(sql, tuple(converters))
    _statements[connection] = statement
    return statement


def active_token(public_id: uuid.UUID, key: str, now: datetime) -> ProvisioningToken | None:
    """The token with ``key`` that is active at ``now``, of the organization at ``public_id``
    while provisioning is enabled there, its organization loaded with it; else ``None``."""
    alias = router.db_for_read(ProvisioningToken)
    connection = connections[alias]
    statement = _statement(connection)
    params = (
        ProvisioningToken._meta.get_field("key").get_db_prep_value(key, connection),
        ProvisioningToken._meta.get_field("expires_at").get_db_prep_value(now, connection),
        Organization._meta.get_field("public_id").get_db_prep_value(public_id, connection),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        _converted(value, converters, expression, connection)
        for value, (converters, expression) in zip(row, statement.converters, strict=True)
    ]
    split = len(_fields(ProvisioningToken))
    token = ProvisioningToken.from_db(
        alias, [f.attname for f in _fields(ProvisioningToken)], values[:split]
    )
    token.organization = Organization.from_db(
        alias, [f.attname for f in _fields(Organization)], values[split:]
    )
    return token


def _converted(
    value: Any, converters: tuple[Converter, ...], expression: Any, connection: BaseDatabaseWrapper
) -> Any:
    for converter in converters:
        value = converter(value, expression, connection)
    return value
