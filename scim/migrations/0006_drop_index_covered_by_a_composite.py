"""Drop the index of ``scim_groupmembership.group_id``: the unique (group, user) constraint leads
with that column, so it serves every lookup the index did, and each inserted row maintained one
index more.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import drop_plain_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('scim', '0005_extension_attributes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='groupmembership',
                    name='group',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='scim.scimgroup'),
                ),
            ],
            database_operations=[
                drop_plain_index(
                    "scim_groupmembership", "group_id", "scim_groupmembership_group_id_efa0bd9d"
                ),
            ],
        ),
    ]
