"""Drop the index of ``scim_scimuser.organization_id``: the ``(organization, id)`` paging index
and the unique ``(organization, user_name_key)`` constraint both lead with that column, so they
serve every lookup the index did, and every user create maintained one index more.
"""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import drop_plain_index


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('scim', '0006_drop_index_covered_by_a_composite'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='scimuser',
                    name='organization',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='scim_users', to='organizations.organization'),
                ),
            ],
            database_operations=[
                drop_plain_index(
                    "scim_scimuser", "organization_id", "scim_scimuser_organization_id_90f3030f"
                ),
            ],
        ),
    ]
