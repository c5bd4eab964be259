"""Migration operations shared by the apps' migrations."""

from __future__ import annotations

from django.db import migrations


def drop_plain_index(table: str, column: str, index: str) -> migrations.RunPython:
    """Drop the single-column ``index`` of ``table.column``, and re-create it on reverse.

    Only the index: Django's ``AlterField(db_index=False)`` on a foreign key would drop and
    re-add the constraint too, validating every row of a large table under lock. On PostgreSQL
    both directions run ``CONCURRENTLY``, so writes go on meanwhile; a migration using this
    sets ``atomic = False``.
    """

    def concurrently(schema_editor) -> str:  # noqa: ANN001
        return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""

    def drop(apps, schema_editor) -> None:  # noqa: ANN001
        schema_editor.execute(f'DROP INDEX {concurrently(schema_editor)}IF EXISTS "{index}"')

    def create(apps, schema_editor) -> None:  # noqa: ANN001
        schema_editor.execute(
            f'CREATE INDEX {concurrently(schema_editor)}IF NOT EXISTS "{index}" '
            f'ON "{table}" ("{column}")'
        )

    return migrations.RunPython(drop, create)
