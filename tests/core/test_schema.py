"""Indexes a composite already covers are gone; the foreign keys they served stay, except the
history member rows', which are foreign keys in Django only (``portal.models.SyncEventMember``)."""

import pytest
from django.db import connection

COVERED = [
    ("scim_groupmembership", "scim_groupmembership_group_id_efa0bd9d"),
    ("directory_directoryevent", "directory_directoryevent_organization_id_bde8c8a9"),
    ("portal_synceventmember", "portal_synceventmember_organization_id_96831613"),
    ("portal_syncevent", "portal_syncevent_organization_id_1e91e490"),
]
CONSTRAINED = [(table, index) for table, index in COVERED if table != "portal_synceventmember"]


def _constraints(table: str) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(("table", "index"), COVERED)
def test_an_index_a_composite_covers_is_dropped(table, index):
    single_column_indexes = {
        name
        for name, info in _constraints(table).items()
        if info["index"] and not info["unique"] and len(info["columns"]) == 1
    }
    assert index not in single_column_indexes


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(("table", "index"), CONSTRAINED)
def test_the_foreign_key_a_dropped_index_served_is_kept(table, index):
    column = index.removeprefix(f"{table}_").rsplit("_", 1)[0]
    assert any(
        info["foreign_key"] and info["columns"] == [column] for info in _constraints(table).values()
    )


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_history_member_rows_have_no_database_foreign_keys():
    foreign_keys = [
        info["columns"]
        for info in _constraints("portal_synceventmember").values()
        if info["foreign_key"]
    ]
    assert foreign_keys == []
