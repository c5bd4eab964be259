"""Every organization gets an identity-provider connection; existing ones become Entra ID.

The issuer string, derived until now from the Entra tenant and issuer format, is stored
(``sso_issuer``) so every kind has one, and the tutorial's rule (provisioning only once the SSO
identity provider is set) holds for every kind: ``provisioning_requires_identity_provider``
replaces ``provisioning_requires_sso_issuer``, which only knew Entra's tenant.
"""

from django.conf import settings
from django.db import migrations, models


def issuer_url(tenant_id, issuer_format):
    """The issuer as ``organizations.issuers.issuer_url`` spelled it when this was written."""
    if issuer_format == "v2":
        return f"https://login.microsoftonline.com/{tenant_id}/v2.0"
    return f"https://sts.windows.net/{tenant_id}/"


def existing_organizations_are_entra(apps, schema_editor):
    Organization = apps.get_model("organizations", "Organization")
    for organization in Organization.objects.filter(sso_tenant_id__isnull=False).only(
        "pk", "sso_tenant_id", "sso_issuer_format"
    ):
        Organization.objects.filter(pk=organization.pk).update(
            idp_kind="entra",
            sso_issuer=issuer_url(organization.sso_tenant_id, organization.sso_issuer_format),
        )


def only_entra_goes_back(apps, schema_editor):
    """Going back is possible while every connection is Entra: the old schema knew no other."""
    Organization = apps.get_model("organizations", "Organization")
    others = list(Organization.objects.exclude(idp_kind="entra").values_list("slug", flat=True))
    if others:
        raise RuntimeError(
            "These organizations sign in through an identity provider other than Entra ID, "
            f"which the previous schema cannot hold: {', '.join(sorted(others))}."
        )


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0004_move_oauth_to_its_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='organization',
            name='provisioning_requires_sso_issuer',
        ),
        migrations.AddField(
            model_name='organization',
            name='idp_kind',
            field=models.CharField(choices=[('entra', 'Microsoft Entra ID'), ('okta', 'Okta'), ('saml', 'Other SAML 2.0 identity provider')], db_default='entra', default='entra', max_length=10, verbose_name='identity provider'),
        ),
        migrations.AddField(
            model_name='organization',
            name='sso_issuer',
            field=models.CharField(blank=True, db_default='', default='', help_text="How the identity provider names itself, as its kind's rules store it.", max_length=500, verbose_name='SSO issuer / entity id'),
        ),
        migrations.AlterField(
            model_name='organization',
            name='sso_tenant_id',
            field=models.UUIDField(blank=True, help_text='Entra ID only: read from the SSO issuer; the directory that signs users in.', null=True, verbose_name='Entra tenant ID'),
        ),
        migrations.RunPython(existing_organizations_are_entra, only_entra_goes_back),
        migrations.AddConstraint(
            model_name='organization',
            constraint=models.CheckConstraint(condition=models.Q(('provisioning_enabled', False), models.Q(('sso_issuer', ''), _negated=True), _connector='OR'), name='provisioning_requires_identity_provider', violation_error_message="Provisioning can only be enabled once the organization's SSO identity provider is set."),
        ),
        migrations.AddConstraint(
            model_name='organization',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('idp_kind', 'entra'), ('sso_issuer', ''), ('sso_tenant_id', None)), models.Q(('idp_kind', 'entra'), ('sso_tenant_id__isnull', False), models.Q(('sso_issuer', ''), _negated=True)), models.Q(models.Q(('idp_kind', 'entra'), _negated=True), ('sso_tenant_id', None)), _connector='OR'), name='entra_issuer_names_its_tenant'),
        ),
        migrations.AddConstraint(
            model_name='organization',
            constraint=models.CheckConstraint(condition=models.Q(('idp_kind__in', ['entra', 'okta', 'saml'])), name='identity_provider_kind_is_known'),
        ),
    ]
