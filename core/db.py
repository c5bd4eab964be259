"""Database helpers that no single app owns.

On PostgreSQL the project binds parameters on the server (``server_side_binding``), so that
psycopg can prepare the statements every SCIM request repeats (``DB_PREPARE_THRESHOLD``):
PostgreSQL then parses and plans the token check, the lookup, the insert and the directory
event's statement once per connection instead of on every request. The extended protocol that
server-side binding speaks takes one statement per execution; the few places that send several
at once, to save round trips (``BEGIN; SET LOCAL …; …; COMMIT``), ask ``multi_statement_cursor``
for a cursor that binds on the client instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection
from django.db.backends.utils import CursorWrapper


@contextlib.contextmanager
def multi_statement_cursor() -> Iterator[CursorWrapper]:
    """A cursor of the default connection that may execute several ``;``-separated statements.

    On PostgreSQL it binds parameters on the client (psycopg's ``ClientCursor``) whatever
    ``server_side_binding`` says, wrapped as Django wraps its own cursors, so execute wrappers
    (query counts, ``django_assert_num_queries``) and debug logging still see it. Elsewhere it is
    the connection's ordinary cursor.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    # What ``connection.cursor()`` does around creating its cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = psycopg.ClientCursor(connection.connection)
    wrapped = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    with wrapped as cursor:
        yield cursor
