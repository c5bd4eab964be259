"""History member rows keep their foreign keys in Django only (see ``SyncEventMember``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0011_drop_index_covered_by_a_composite"),
    ]

    operations = [
        migrations.AlterField(
            model_name="synceventmember",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="organizations.organization",
            ),
        ),
        migrations.AlterField(
            model_name="synceventmember",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="members",
                to="portal.syncevent",
            ),
        ),
    ]
