"""userName and group displayName identity decided in Python: ``scim.models.identity_key``.

Adds the key columns, fills them for existing rows, and swaps the ``UPPER()`` unique indexes
for unique constraints on the keys. Rows that the old rule kept apart but the new one makes the
same name (``kate@x`` and ``\u212aate@x`` with the Kelvin sign, fullwidth letters, …) would break
the new constraint: the migration then stops, changes nothing, and lists them, so staff can
rename or remove one of each pair (in Azure, then here) and migrate again.
"""

import unicodedata
from collections import defaultdict

from django.db import migrations, models

BATCH = 1000
IDENTITY_KEY_MAX_BYTES = 1020


def identity_key(name):
    """``scim.models.identity_key`` as of this migration (kept here so it never changes)."""
    return unicodedata.normalize("NFKC", name).casefold()


class IdentityCollision(Exception):
    """Existing rows that would become one name under the new identity rule."""


def _fill(model, name_field, key_field, what, organizations):
    seen: dict[tuple[int, str], list[str]] = defaultdict(list)
    batch = []
    rows = model.objects.only("pk", "organization_id", name_field).order_by("pk")
    for row in rows.iterator(chunk_size=BATCH):
        key = identity_key(getattr(row, name_field))
        setattr(row, key_field, key)
        seen[(row.organization_id, key)].append(getattr(row, name_field))
        batch.append(row)
        if len(batch) >= BATCH:
            model.objects.bulk_update(batch, [key_field])
            batch = []
    if batch:
        model.objects.bulk_update(batch, [key_field])
    return [
        f"organization {organizations.get(org_id, org_id)}: {what}s "
        f"{', '.join(repr(n) for n in names)} are all {key!r}"
        for (org_id, key), names in sorted(seen.items())
        if len(names) > 1
    ]


def fill_identity_keys(apps, schema_editor):
    organizations = dict(
        apps.get_model("organizations", "Organization").objects.values_list("pk", "slug")
    )
    collisions = _fill(apps.get_model("scim", "ScimUser"), "user_name", "user_name_key",
                       "userName", organizations)
    collisions += _fill(apps.get_model("scim", "ScimGroup"), "display_name",
                        "display_name_key", "group displayName", organizations)
    if collisions:
        raise IdentityCollision(
            "These names become the same name under the new rule (NFKC, then case folding); "
            "rename or delete one of each set, then migrate again:\n  " + "\n  ".join(collisions)
        )


class Migration(migrations.Migration):

    dependencies = [
        ("scim", "0003_tenant_page_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="scimuser",
            name="user_name_key",
            field=models.CharField(max_length=IDENTITY_KEY_MAX_BYTES, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="scimgroup",
            name="display_name_key",
            field=models.CharField(max_length=IDENTITY_KEY_MAX_BYTES, null=True, editable=False),
        ),
        migrations.RunPython(fill_identity_keys, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="scimuser",
            name="user_name_key",
            field=models.CharField(
                editable=False, max_length=IDENTITY_KEY_MAX_BYTES,
                help_text="identity_key(user_name): what uniqueness and userName filters compare.",
            ),
        ),
        migrations.AlterField(
            model_name="scimgroup",
            name="display_name_key",
            field=models.CharField(
                editable=False, max_length=IDENTITY_KEY_MAX_BYTES,
                help_text=(
                    "identity_key(display_name): what uniqueness and displayName filters compare."
                ),
            ),
        ),
        migrations.RemoveConstraint(
            model_name="scimuser",
            name="scim_user_name_unique_per_org_ci",
        ),
        migrations.RemoveConstraint(
            model_name="scimgroup",
            name="scim_group_display_name_unique_per_org_ci",
        ),
        migrations.AddConstraint(
            model_name="scimuser",
            constraint=models.UniqueConstraint(
                fields=("organization", "user_name_key"), name="scim_user_name_key_unique",
                violation_error_message="userName is already taken in this organization.",
            ),
        ),
        migrations.AddConstraint(
            model_name="scimgroup",
            constraint=models.UniqueConstraint(
                fields=("organization", "display_name_key"),
                name="scim_group_display_name_key_unique",
                violation_error_message="displayName is already taken in this organization.",
            ),
        ),
    ]
