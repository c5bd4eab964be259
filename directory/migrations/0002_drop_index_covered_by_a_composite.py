"""Drop the index of ``directory_directoryevent.organization_id``: the unique (organization, position) constraint leads with that column, so
it serves every lookup the index did, and each inserted row maintained one index more.

Only the index goes: the foreign key stays as it is (Django's ``AlterField`` would drop and
re-add it, validating every row of a large table under lock). On PostgreSQL the index is
dropped ``CONCURRENTLY``, so writes go on meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "directory_directoryevent"
COLUMN = "organization_id"
INDEX = "directory_directoryevent_organization_id_bde8c8a9"


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def drop_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{INDEX}"')


def create_index(apps, schema_editor):
    schema_editor.execute(
        f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "{INDEX}" '
        f'ON "{TABLE}" ("{COLUMN}")'
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('directory', '0001_directory_events_and_webhooks'),
        ('organizations', '0006_self_service'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='directoryevent',
                    name='organization',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='directory_events', to='organizations.organization'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
