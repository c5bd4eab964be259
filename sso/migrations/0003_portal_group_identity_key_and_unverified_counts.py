"""Portal groups compared by SCIM identity key instead of SQL UPPER(); unverified ACS posts
counted per organization, hour and reason instead of logged one by one (issue 19 items 4, 11)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_display_name_keys(apps, schema_editor):
    """Key every portal group; of names that share a key, keep the first (they name one group)."""
    from scim.models import identity_key

    group_model = apps.get_model("sso", "SsoPortalGroup")
    seen = set()
    for group in group_model.objects.order_by("configuration_id", "pk"):
        key = identity_key(group.display_name)
        if (group.configuration_id, key) in seen:
            group.delete()
            continue
        seen.add((group.configuration_id, key))
        group.display_name_key = key
        group.save(update_fields=["display_name_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0004_move_oauth_to_its_app"),
        ("sso", "0002_refusal_reasons_protocol"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnverifiedSignInCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField(help_text="The start of the hour counted.")),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            (
                                "sso_disabled",
                                "single sign-on is switched off for this organization",
                            ),
                            ("invalid_response", "the SAML response is not valid"),
                            (
                                "bad_signature",
                                "the signature is missing or not by the IdP's current key",
                            ),
                            ("wrong_issuer", "the response comes from another identity provider"),
                            (
                                "wrong_audience",
                                "the assertion is meant for another service provider",
                            ),
                            ("wrong_recipient", "the assertion is addressed to another URL"),
                            ("expired", "the assertion is outside its validity period"),
                            ("unsolicited", "the response answers no sign-in this browser started"),
                            ("replayed", "the assertion was already used"),
                            ("idp_error", "the identity provider refused the sign-in"),
                            ("not_provisioned", "no provisioned user has this name"),
                            ("inactive", "the user is deactivated"),
                            ("not_in_group", "not in"),
                            (
                                "too_large",
                                "the SAML response is larger than identity providers send",
                            ),
                        ],
                        max_length=20,
                    ),
                ),
                ("count", models.PositiveIntegerField(default=0)),
            ],
            options={
                "ordering": ["-hour", "reason"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="ssoportalgroup",
            name="sso_portal_group_unique_ci",
        ),
        migrations.AddField(
            model_name="ssoportalgroup",
            name="display_name_key",
            field=models.CharField(
                default="",
                editable=False,
                help_text="identity_key(display_name): what group matching and uniqueness compare.",
                max_length=1020,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_display_name_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="signinattempt",
            name="reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sso_disabled", "single sign-on is switched off for this organization"),
                    ("invalid_response", "the SAML response is not valid"),
                    ("bad_signature", "the signature is missing or not by the IdP's current key"),
                    ("wrong_issuer", "the response comes from another identity provider"),
                    ("wrong_audience", "the assertion is meant for another service provider"),
                    ("wrong_recipient", "the assertion is addressed to another URL"),
                    ("expired", "the assertion is outside its validity period"),
                    ("unsolicited", "the response answers no sign-in this browser started"),
                    ("replayed", "the assertion was already used"),
                    ("idp_error", "the identity provider refused the sign-in"),
                    ("not_provisioned", "no provisioned user has this name"),
                    ("inactive", "the user is deactivated"),
                    ("not_in_group", "not in"),
                    ("too_large", "the SAML response is larger than identity providers send"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="ssoportalgroup",
            constraint=models.UniqueConstraint(
                fields=("configuration", "display_name_key"), name="sso_portal_group_unique_key"
            ),
        ),
        migrations.AddField(
            model_name="unverifiedsignincount",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sso_unverified_sign_in_counts",
                to="organizations.organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="unverifiedsignincount",
            constraint=models.UniqueConstraint(
                fields=("organization", "hour", "reason"), name="sso_unverified_count_unique"
            ),
        ),
    ]
