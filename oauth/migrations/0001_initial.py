"""The OAuth models, taken over from ``organizations`` with their tables and rows.

The tables were created by ``organizations.0003_oauth_clients`` and keep their names
(``db_table``), so this migration only adds the models to this app's state. Their content types
move too, so staff permissions on OAuth clients (``change_oauthclient``...) carry over.
"""

import django.db.models.deletion
import django.utils.timezone
import oauth.models
from django.conf import settings
from django.db import migrations, models


MODELS = ["oauthclient", "oauthclientsecret", "oauthaccesstoken", "usedassertion"]


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    taken = set(
        ContentType.objects.using(db)
        .filter(app_label=new, model__in=MODELS)
        .values_list("model", flat=True)
    )
    ContentType.objects.using(db).filter(app_label=old, model__in=MODELS).exclude(
        model__in=taken
    ).update(app_label=new)


def move_content_types(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "organizations", "oauth")


def move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "oauth", "organizations")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('organizations', '0004_move_oauth_to_its_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OAuthClient',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=oauth.models.client_kinds, max_length=20)),
                        ('client_id', models.CharField(editable=False, max_length=40, unique=True)),
                        ('label', models.CharField(blank=True, max_length=100)),
                        ('issuer', models.CharField(blank=True, max_length=200)),
                        ('subject', models.CharField(blank=True, max_length=200)),
                        ('audience', models.CharField(blank=True, max_length=200)),
                        ('jwks_url', models.URLField(blank=True, help_text="Only for sovereign clouds: the signing keys, instead of the issuer's OpenID discovery document.", max_length=300, verbose_name='JWKS URL')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='oauth_clients', to='organizations.organization')),
                        ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'OAuth client',
                        'db_table': 'organizations_oauthclient',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='OAuthClientSecret',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(editable=False, max_length=12, unique=True)),
                        ('digest', models.CharField(editable=False, max_length=64, unique=True)),
                        ('label', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField()),
                        ('client', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='secrets', to='oauth.oauthclient')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'OAuth client secret',
                        'db_table': 'organizations_oauthclientsecret',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='OAuthAccessToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(editable=False, max_length=12, unique=True)),
                        ('digest', models.CharField(editable=False, max_length=64, unique=True)),
                        ('label', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('client', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='access_tokens', to='oauth.oauthclient')),
                        ('client_secret', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='oauth.oauthclientsecret')),
                    ],
                    options={
                        'verbose_name': 'OAuth access token',
                        'db_table': 'organizations_oauthaccesstoken',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='UsedAssertion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('jti', models.CharField(max_length=200)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                        ('client', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='oauth.oauthclient')),
                    ],
                    options={
                        'db_table': 'organizations_usedassertion',
                    },
                ),
                migrations.AddConstraint(
                    model_name='oauthclient',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'workload_identity'), ('revoked_at__isnull', True)), fields=('organization',), name='one_active_workload_identity_per_organization'),
                ),
                migrations.AddConstraint(
                    model_name='usedassertion',
                    constraint=models.UniqueConstraint(fields=('client', 'jti'), name='assertion_used_once'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
