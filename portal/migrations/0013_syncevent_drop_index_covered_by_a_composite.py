"""Drop the index of ``portal_syncevent.organization_id``: syncevent_org_time and six other
indexes of the history lead with that column, so they serve each lookup and cascade it served,
while every SCIM call's event maintained one index more (ten in all), about 12 bytes a row: a
gigabyte per hundred million events, in the largest table. The foreign key stays.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import drop_plain_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("organizations", "0006_self_service"),
        ("portal", "0012_synceventmember_without_fk_constraints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="syncevent",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sync_events",
                        to="organizations.organization",
                    ),
                ),
            ],
            database_operations=[
                drop_plain_index(
                    "portal_syncevent",
                    "organization_id",
                    "portal_syncevent_organization_id_1e91e490",
                ),
            ],
        ),
    ]
