"""Drop the index of ``portal_synceventmember.organization_id``: the eventmember_org_member index
leads with that column, so it serves every lookup the index did, and each inserted row
maintained one index more.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import drop_plain_index


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
            database_operations=[
                drop_plain_index(
                    "portal_synceventmember", "organization_id", "portal_synceventmember_organization_id_96831613"
                ),
            ],
        ),
    ]
