"""The ``userName eq`` lookup Azure and Okta send for every user reads what the QuerySet reads.

``identity.user_with_key`` is a statement written by hand for speed (``core.fixedselect``);
these tests hold it to ``identity.users_named``, and the SCIM answer to the filter to what the
general filter path answers.
"""

import pytest
from django.forms.models import model_to_dict

from scim import identity
from scim.errors import InvalidFilter
from scim.filters import USER_ATTRS, _pinned_user_name_key, parse_filter, user_name_eq_key
from scim.models import identity_key
from tests import factories

from .conftest import make_user

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_each_name_at_each_organization_finds_what_users_named_finds(scim):
    other = factories.make_organization(tenant_id=factories.TENANT_B)
    make_user(scim.organization, "Alice@Clinic.test")
    make_user(other, "alice@clinic.test")
    make_user(other, "bob@clinic.test")

    answers, expected = {}, {}
    for organization in (scim.organization, other):
        for name in ("alice@clinic.test", "ALICE@CLINIC.TEST", "bob@clinic.test", "eve@x.test"):
            found = identity.user_with_key(organization.pk, identity_key(name))
            answers[(organization.slug, name)] = found.pk if found else None
            orm = identity.users_named(organization, name).first()
            expected[(organization.slug, name)] = orm.pk if orm else None

    assert answers == expected
    assert sum(1 for pk in answers.values() if pk) == 5


def test_the_user_found_reads_as_the_orm_reads_it(scim):
    user = make_user(
        scim.organization,
        "carol@clinic.test",
        externalId="c-1",
        active=False,
        name={"givenName": "Carol", "familyName": "Ng"},
        emails=[{"value": "carol@clinic.test", "type": "work", "primary": True}],
        **{ENTERPRISE: {"department": "Cardiology", "manager": {"value": "m-1"}}},
    )

    found = identity.user_with_key(scim.organization.pk, identity_key("carol@clinic.test"))
    orm = identity.users_named(scim.organization, "carol@clinic.test").get()

    assert found.pk == user.pk
    assert model_to_dict(found) == model_to_dict(orm)
    assert found.attributes == orm.attributes and found.attributes
    assert (found.scim_id, found.created_at, found.updated_at) == (
        orm.scim_id,
        orm.created_at,
        orm.updated_at,
    )
    assert found._state.adding is False


def test_a_user_name_lookup_answers_as_the_general_filter_path_does(scim):
    make_user(scim.organization, "dave@clinic.test", displayName="Dave")
    make_user(scim.organization, "dave.smith@clinic.test")

    pinned = scim.get("/Users", {"filter": 'userName eq "DAVE@clinic.test"'}).json()
    # The same user through the general path: the lookup ANDed with a condition it already meets.
    general = scim.get(
        "/Users", {"filter": 'userName eq "DAVE@clinic.test" and userName sw "dave@"'}
    ).json()

    assert pinned["totalResults"] == 1
    assert pinned == general


def test_a_user_name_lookup_past_the_first_page_lists_nobody_but_counts_the_user(scim):
    make_user(scim.organization, "erin@clinic.test")

    body = scim.get("/Users", {"filter": 'userName eq "erin@clinic.test"', "startIndex": 2}).json()

    assert body["totalResults"] == 1
    assert body["Resources"] == []


def test_a_user_name_lookup_never_finds_another_organizations_user(scim, other_scim):
    make_user(other_scim.organization, "frank@clinic.test")

    body = scim.get("/Users", {"filter": 'userName eq "frank@clinic.test"'}).json()

    assert body["totalResults"] == 0
    assert body["Resources"] == []


# Filters of the lookup's shape and near it: spacing, case, JSON escapes, values the parser
# refuses, and shapes the parser alone must read.
NEAR_LOOKUPS = [
    'userName eq "alice@clinic.test"',
    'USERNAME EQ "Alice@Clinic.test"',
    '  userName \t eq   "alice@clinic.test"  ',
    'userName eq "R&D \\"Night\\" Shift"',
    'userName eq "back\\\\slash"',
    'userName eq "caf\\u00e9"',
    'userName eq "café"',
    'userName eq ""',
    'userName eq "a\\u0000b"',
    'userName eq "\\ud800"',
    'userName eq "bad \\x escape"',
    'userName eq "tab\tinside"',
    'userName\neq "alice@clinic.test"',
    'userName eq "alice@clinic.test"\n',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@clinic.test"',
    'userName eq "a" and userName eq "b"',
    'userName eq "a" or externalId eq "b"',
    'userName ne "alice@clinic.test"',
    "userName eq alice@clinic.test",
    'displayName eq "alice@clinic.test"',
    f'userName eq "{"x" * 995}"',
]


def _parser_key(text: str) -> str | None:
    try:
        query = parse_filter(text, USER_ATTRS, work_email=True)
    except InvalidFilter:
        return None
    return _pinned_user_name_key(query)


def test_a_user_name_lookup_read_without_the_parser_finds_the_name_the_parser_finds():
    read = {text: user_name_eq_key(text) for text in NEAR_LOOKUPS}

    # Every filter read without the parser names exactly what the parser names...
    assert {text: key for text, key in read.items() if key is not None} == {
        text: _parser_key(text) for text, key in read.items() if key is not None
    }
    # ...and the lookups Azure and Okta send are all read that way.
    assert [text for text, key in read.items() if key is not None] == NEAR_LOOKUPS[:8]


def test_a_lookup_of_a_name_that_cannot_be_stored_is_refused_as_invalid(scim):
    response = scim.get("/Users", {"filter": 'userName eq "a\\u0000b"'})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
