"""Indexes a composite already covers are gone; the foreign keys they served stay."""

import pytest
from django.db import connection

COVERED = [
    ("scim_groupmembership", "scim_groupmembership_group_id_efa0bd9d"),
    ("directory_directoryevent", "directory_directoryevent_organization_id_bde8c8a9"),
    ("portal_synceventmember", "portal_synceventmember_organization_id_96831613"),
]


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(("table", "index"), COVERED)
def test_an_index_a_composite_covers_is_dropped_and_its_foreign_key_kept(table, index):
    with connection.cursor() as cursor:
        indexes = {
            info["columns"][0]: name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"] and not info["unique"] and len(info["columns"]) == 1
        }
        constraints = connection.introspection.get_constraints(cursor, table)
    assert index not in indexes.values()
    column = index.removeprefix(f"{table}_").rsplit("_", 1)[0]
    assert any(info["foreign_key"] and info["columns"] == [column] for info in constraints.values())
