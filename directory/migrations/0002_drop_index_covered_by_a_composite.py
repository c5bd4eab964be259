"""Drop the index of ``directory_directoryevent.organization_id``: the unique (organization,
position) constraint leads with that column, so it serves every lookup the index did, and each
inserted row maintained one index more.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import drop_plain_index


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
            database_operations=[
                drop_plain_index(
                    "directory_directoryevent", "organization_id", "directory_directoryevent_organization_id_bde8c8a9"
                ),
            ],
        ),
    ]
