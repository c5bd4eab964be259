"""Drop the index of ``portal_synceventmember.organization_id``: the eventmember_org_member index leads with that column, so
it serves every lookup the index did, and each inserted row maintained one index more.

Only the index goes: the foreign key stays as it is (Django's ``AlterField`` would drop and
re-add it, validating every row of a large table under lock). On PostgreSQL the index is
dropped ``CONCURRENTLY``, so writes go on meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "portal_synceventmember"
COLUMN = "organization_id"
INDEX = "portal_synceventmember_organization_id_96831613"


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
        ('organizations', '0006_self_service'),
        ('portal', '0010_syncevent_external_id_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='synceventmember',
                    name='organization',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
