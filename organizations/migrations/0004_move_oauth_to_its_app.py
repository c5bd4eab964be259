"""OAuth's models moved to the ``oauth`` app (its 0001 takes them over); audit actions come
from the ``core.audit`` registry.

The tables stay where they are (``OAuthClient.Meta.db_table`` keeps their names): this only
removes the models from this app's migration state, and touches no row.
"""

import core.audit
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0003_oauth_clients'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditrecord',
            name='action',
            field=models.CharField(choices=core.audit.choices, max_length=40),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='oauthclient',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='oauthclient',
                    name='organization',
                ),
                migrations.RemoveField(
                    model_name='oauthclient',
                    name='revoked_by',
                ),
                migrations.RemoveField(
                    model_name='oauthclientsecret',
                    name='client',
                ),
                migrations.RemoveField(
                    model_name='usedassertion',
                    name='client',
                ),
                migrations.RemoveField(
                    model_name='oauthclientsecret',
                    name='created_by',
                ),
                migrations.DeleteModel(
                    name='OAuthAccessToken',
                ),
                migrations.DeleteModel(
                    name='OAuthClient',
                ),
                migrations.DeleteModel(
                    name='UsedAssertion',
                ),
                migrations.DeleteModel(
                    name='OAuthClientSecret',
                ),
            ],
            database_operations=[],
        ),
    ]
