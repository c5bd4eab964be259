"""A directory event row may span positions: the member changes of one write are one row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0002_drop_index_covered_by_a_composite"),
    ]

    operations = [
        migrations.AddField(
            model_name="directoryevent",
            name="last_position",
            field=models.BigIntegerField(null=True),
        ),
        # Every row written so far holds one position.
        migrations.RunSQL(
            "UPDATE directory_directoryevent SET last_position = position",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="directoryevent",
            name="last_position",
            field=models.BigIntegerField(
                help_text="The row's last position: its position, or the last member's of a span."
            ),
        ),
        migrations.AddConstraint(
            model_name="directoryevent",
            constraint=models.UniqueConstraint(
                fields=("organization", "last_position"), name="directory_event_last_unique"
            ),
        ),
    ]
