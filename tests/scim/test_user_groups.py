"""A user's ``groups`` read alone (a statement written once) are what the QuerySet reads.

``adapters.groups_by_user`` answers one user, the ``groups`` of every GET, PATCH and PUT of
``/Users/{id}``, through ``core.fixedselect``, and a page of users through the ORM. These tests
hold the first to the second."""

import pytest

from scim import adapters
from tests import factories

from .conftest import make_group, make_user

pytestmark = pytest.mark.django_db

BASE = "https://kno2.test/scim/v2/tenant"


def test_one_users_groups_read_alone_are_what_a_page_of_users_reads(scim):
    alice = make_user(scim.organization, "alice@clinic.test")
    bob = make_user(scim.organization, "bob@clinic.test")
    # Created out of name order, and alice joins them out of creation order.
    wards = [make_group(scim.organization, name, [bob]) for name in ("Ward 3", "Ward 1", "ICU")]
    for ward in reversed(wards):
        scim.patch_ops(
            f"/Groups/{ward.scim_id}",
            {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
        )

    alone = adapters.groups_by_user([alice], BASE)
    in_a_page = adapters.groups_by_user([alice, bob], BASE)

    assert alone == {alice.pk: in_a_page[alice.pk]}
    assert [group["display"] for group in alone[alice.pk]] == ["Ward 3", "Ward 1", "ICU"]
    assert alone[alice.pk][0] == {
        "value": str(wards[0].scim_id),
        "$ref": f"{BASE}/Groups/{wards[0].scim_id}",
        "display": "Ward 3",
        "type": "direct",
    }


def test_a_user_in_no_group_has_none_and_sees_no_one_elses(scim):
    other = factories.make_organization(tenant_id=factories.TENANT_B)
    loner = make_user(scim.organization, "loner@clinic.test")
    make_group(scim.organization, "Nurses", [make_user(scim.organization, "nina@clinic.test")])
    make_group(other, "Doctors", [make_user(other, "doc@clinic.test")])

    assert adapters.groups_by_user([loner], BASE) == {loner.pk: []}
