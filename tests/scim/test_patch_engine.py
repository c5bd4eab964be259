"""The PATCH engine on its own: operation, starting document → resulting document or SCIM error.

``scim.patch`` applies RFC 7644 §3.5.2 operations to a resource document and
``scim.documents`` validates the result, which is what ``scim.services.patch_user`` and
``patch_group`` do before saving. These tables pin that behaviour without a database or HTTP,
in both of Azure's PATCH dialects (``docs/azure-scim-client.md`` §2.6, §3.1: legacy capitalised
``op`` with ``"False"`` strings, and the ``aadOptscim062020`` dialect with path-less dotted
keys) and for each case of RFC 7644 §3.5.2.1–§3.5.2.3. Group membership operations are not
part of the engine (``scim.services`` turns them into membership rows) and are tested there.
"""

from __future__ import annotations

import copy

import pytest

from scim import documents
from scim.errors import ScimError
from scim.patch import apply_patch, operations_of

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
KNO2 = "urn:ietf:params:scim:schemas:extension:kno2:2.0:User"
WORK_EMAIL = 'emails[type eq "work"].value'
MANAGER_REF = "https://example.test/scim/v2/t/Users/m2"


class Fails:
    """The expected outcome of a row that must be refused: a SCIM error with this scimType."""

    def __init__(self, scim_type: str, mentions: str = "") -> None:
        self.scim_type = scim_type
        self.mentions = mentions

    def __repr__(self) -> str:
        return f"Fails({self.scim_type!r})"


def patched_user(before: dict, operations: list[dict]) -> dict:
    """What ``services.patch_user`` would save, minus the database."""
    parsed = operations_of({"schemas": [documents.PATCH_OP], "Operations": operations})
    return documents.clean_user(apply_patch(before, parsed), default_active=None)


def patched_group(before: dict, operations: list[dict]) -> dict:
    """What ``services.patch_group`` would save for non-member attributes."""
    parsed = operations_of({"schemas": [documents.PATCH_OP], "Operations": operations})
    result = apply_patch(before, parsed, documents.CORE_GROUP)
    result["members"] = []
    cleaned = documents.clean_group(result)
    cleaned.pop("members")
    return cleaned


def op(kind: str, path: str | None = None, value: object = ...) -> dict:
    operation: dict = {"op": kind}
    if path is not None:
        operation["path"] = path
    if value is not ...:
        operation["value"] = value
    return operation


ADA = {"userName": "ada@example.com", "active": True}
NAMED = {
    **ADA,
    "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"},
}
MAILED = {
    **ADA,
    "emails": [
        {"value": "ada@work.example", "type": "work", "primary": True},
        {"value": "ada@home.example", "type": "home"},
    ],
}
MANAGED = {**ADA, ENTERPRISE: {"department": "Maths", "manager": {"value": "m1"}}}
TITLED = {**ADA, "title": "Countess"}


AZURE_LEGACY = [
    pytest.param(
        ADA,
        [op("Replace", "active", "False")],
        {**ADA, "active": False},
        id="legacy: Replace active with the string False",
    ),
    pytest.param(
        {**ADA, "active": False},
        [op("Replace", "active", "True")],
        ADA,
        id="legacy: Replace active with the string True",
    ),
    pytest.param(
        ADA,
        [op("Add", "nickName", "Babs")],
        {**ADA, "nickName": "Babs"},
        id="legacy: Add a single-value string attribute",
    ),
    pytest.param(
        MAILED,
        [op("Replace", WORK_EMAIL, "new@work.example")],
        {
            **ADA,
            "emails": [
                {"value": "new@work.example", "type": "work", "primary": True},
                {"value": "ada@home.example", "type": "home"},
            ],
        },
        id="legacy: Replace the work email in place, the home email kept",
    ),
    pytest.param(
        NAMED,
        [op("Replace", "name.familyName", "Byron")],
        {**ADA, "name": {"formatted": "Ada Byron", "givenName": "Ada", "familyName": "Byron"}},
        id="legacy: Replace name.familyName recomputes a derived name.formatted",
    ),
    pytest.param(
        {**ADA, "name": {"formatted": "Lady Ada", "givenName": "Ada"}},
        [op("Replace", "name.givenName", "Augusta")],
        {**ADA, "name": {"formatted": "Lady Ada", "givenName": "Augusta"}},
        id="legacy: a name.formatted the client wrote itself is left alone",
    ),
    pytest.param(
        ADA,
        [
            op("Replace", "displayName", "Pvlo"),
            op("Replace", WORK_EMAIL, "t@x.example"),
            op("Replace", "name.givenName", "Gtfd"),
            op("Replace", "name.familyName", "Pkqf"),
            op("Replace", "externalId", "Eqpj"),
            op("Replace", f"{ENTERPRISE}:employeeNumber", "Eqpj"),
        ],
        {
            **ADA,
            "displayName": "Pvlo",
            "externalId": "Eqpj",
            "emails": [{"type": "work", "value": "t@x.example"}],
            "name": {"givenName": "Gtfd", "familyName": "Pkqf"},
            ENTERPRISE: {"employeeNumber": "Eqpj"},
        },
        id="legacy: Replace multiple attributes, one operation each",
    ),
    pytest.param(
        ADA,
        [op("Add", "manager", [{"$ref": MANAGER_REF, "value": "m2"}])],
        {**ADA, ENTERPRISE: {"manager": {"$ref": MANAGER_REF, "value": "m2"}}},
        id="legacy: Add manager as a one-element list, without the schema URN",
    ),
    pytest.param(
        MANAGED,
        [op("Replace", f"{ENTERPRISE}:manager", "m3")],
        {**ADA, ENTERPRISE: {"department": "Maths", "manager": {"value": "m3"}}},
        id="legacy: Replace manager by URN path with a bare string id",
    ),
    pytest.param(
        MANAGED,
        [op("Replace", f"{ENTERPRISE}:manager", "")],
        {**ADA, ENTERPRISE: {"department": "Maths"}},
        id="legacy: Replace manager with an empty string clears it",
    ),
    pytest.param(
        ADA,
        [op("Add", "roles", [{"value": '{"id":"06b0","value":"25","displayName":"R"}'}])],
        {**ADA, "roles": [{"value": '{"id":"06b0","value":"25","displayName":"R"}'}]},
        id="legacy: Add roles whose values are JSON-encoded strings",
    ),
    pytest.param(
        {**ADA, "name": {"givenName": "Ada"}},
        [op("Replace", "name.givenName", ""), op("Replace", "title", None)],
        {**ADA},
        id="legacy: Replace with an empty string or null clears the attribute",
    ),
]

AZURE_FLAG = [
    pytest.param(
        ADA,
        [op("replace", "active", False)],
        {**ADA, "active": False},
        id="flag: replace active with a boolean",
    ),
    pytest.param(
        ADA,
        [op("add", "nickName", "Babs")],
        {**ADA, "nickName": "Babs"},
        id="flag: add a single-value string attribute",
    ),
    pytest.param(
        NAMED,
        [
            op("replace", WORK_EMAIL, "m@x.example"),
            op(
                "replace",
                value={
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENTERPRISE}:employeeNumber": "Aklq",
                },
            ),
        ],
        {
            **ADA,
            "displayName": "Bjfe",
            "emails": [{"type": "work", "value": "m@x.example"}],
            "name": {"formatted": "Kkom Unua", "givenName": "Kkom", "familyName": "Unua"},
            ENTERPRISE: {"employeeNumber": "Aklq"},
        },
        id="flag: path-less replace with dotted and URN-qualified keys",
    ),
    pytest.param(
        MAILED,
        [op("add", 'emails[type eq "other"].value', "o@x.example")],
        {**MAILED, "emails": [*MAILED["emails"], {"type": "other", "value": "o@x.example"}]},
        id="flag: add on a value path with no match creates the element",
    ),
    pytest.param(
        MAILED,
        [op("replace", 'phoneNumbers[type eq "work"].value', "+1 555")],
        {**MAILED, "phoneNumbers": [{"type": "work", "value": "+1 555"}]},
        id="flag: replace on a value path of an absent attribute creates it",
    ),
    pytest.param(
        ADA,
        [op("replace", 'addresses[type eq "work"].locality', "Leeds")],
        {**ADA, "addresses": [{"type": "work", "locality": "Leeds"}]},
        id="flag: replace a sub-attribute of an address selected by type",
    ),
    pytest.param(
        MANAGED,
        [op("remove", f"{ENTERPRISE}:manager")],
        {**ADA, ENTERPRISE: {"department": "Maths"}},
        id="flag: remove manager by URN path",
    ),
    pytest.param(
        MANAGED,
        [op("remove", 'manager[value eq "m1"]')],
        {**ADA, ENTERPRISE: {"department": "Maths"}},
        id="flag: remove manager with a value filter",
    ),
    pytest.param(
        MANAGED,
        [op("replace", f"{ENTERPRISE}:manager", {"value": "m4"})],
        {**ADA, ENTERPRISE: {"department": "Maths", "manager": {"value": "m4"}}},
        id="flag: replace manager with an object",
    ),
    pytest.param(
        ADA,
        [op("replace", "displayName", "One"), op("replace", "displayName", "Two")],
        {**ADA, "displayName": "Two"},
        id="validator: multiple operations on the same attribute, the last one wins",
    ),
]

RFC_ADD = [
    pytest.param(
        NAMED,
        [op("add", value={"title": "Dr", "name": {"middleName": "K"}})],
        {**NAMED, "title": "Dr", "name": {**NAMED["name"], "middleName": "K"}},
        id="add without path: attributes added, complex sub-attributes merged",
    ),
    pytest.param(
        MAILED,
        [op("add", "emails", [{"value": "o@x.example", "type": "other"}])],
        {**MAILED, "emails": [*MAILED["emails"], {"value": "o@x.example", "type": "other"}]},
        id="add to a multi-valued attribute appends",
    ),
    pytest.param(
        MAILED,
        [op("add", "emails", [{"value": "ada@home.example", "type": "home"}])],
        MAILED,
        id="add of a value a multi-valued attribute already holds keeps it once",
    ),
    pytest.param(
        NAMED,
        [op("add", "name.middleName", "K")],
        {**NAMED, "name": {**NAMED["name"], "middleName": "K"}},
        id="add a complex sub-attribute by path",
    ),
    pytest.param(
        TITLED,
        [op("add", "title", "Dr")],
        {**ADA, "title": "Dr"},
        id="add to a single-valued attribute replaces its value",
    ),
    pytest.param(
        ADA, [op("add", "title")], Fails("invalidValue"), id="add without a value is refused"
    ),
    pytest.param(
        MANAGED,
        [op("add", ENTERPRISE, {"costCenter": "CC1"})],
        {
            **ADA,
            ENTERPRISE: {"department": "Maths", "manager": {"value": "m1"}, "costCenter": "CC1"},
        },
        id="add with the extension URN as path merges into the extension",
    ),
    pytest.param(
        ADA,
        [op("add", f"{ENTERPRISE}:department", "Physics")],
        {**ADA, ENTERPRISE: {"department": "Physics"}},
        id="add an enterprise attribute by URN path creates the extension",
    ),
    pytest.param(
        ADA,
        [op("add", "password", "hunter2")],
        ADA,
        id="add of the write-only password is dropped, never stored",
    ),
    pytest.param(
        ADA,
        [op("add", "emails", [{"type": "work"}])],
        ADA,
        id="add of an email without a value stores nothing",
    ),
]

RFC_REMOVE = [
    pytest.param(TITLED, [op("remove")], Fails("noTarget"), id="remove without a path is noTarget"),
    pytest.param(TITLED, [op("remove", "title")], ADA, id="remove a single-valued attribute"),
    pytest.param(
        NAMED,
        [op("remove", "name.givenName")],
        {**ADA, "name": {"formatted": "Lovelace", "familyName": "Lovelace"}},
        id="remove a complex sub-attribute (a derived formatted follows)",
    ),
    pytest.param(
        MAILED,
        [op("remove", 'emails[type eq "home"]')],
        {**ADA, "emails": [MAILED["emails"][0]]},
        id="remove the elements a value filter selects, the others kept",
    ),
    pytest.param(
        MAILED,
        [op("remove", WORK_EMAIL)],
        {**ADA, "emails": [MAILED["emails"][1]]},
        id="remove the value of a filtered element drops the hollow element",
    ),
    pytest.param(
        MAILED,
        [op("remove", "emails")],
        ADA,
        id="remove a multi-valued attribute without filter removes every value",
    ),
    pytest.param(
        MAILED,
        [op("remove", "emails", [{"value": "ada@work.example"}])],
        {**ADA, "emails": [MAILED["emails"][1]]},
        id="remove with a value list removes only the listed values",
    ),
    pytest.param(
        ADA, [op("remove", "title")], ADA, id="remove of an unassigned attribute changes nothing"
    ),
    pytest.param(
        MANAGED,
        [op("remove", ENTERPRISE)],
        ADA,
        id="remove with the extension URN as path removes the extension",
    ),
    pytest.param(
        ADA,
        [op("remove", "userName")],
        Fails("invalidValue", "userName"),
        id="remove of the required userName is refused",
    ),
    pytest.param(
        ADA,
        [op("remove", "active")],
        {"userName": "ada@example.com"},
        id="remove active leaves it unassigned",
    ),
]

RFC_REPLACE = [
    pytest.param(
        TITLED,
        [op("replace", value={"title": "Dr", "nickName": "A"})],
        {**ADA, "title": "Dr", "nickName": "A"},
        id="replace without path: each attribute replaced or added",
    ),
    pytest.param(
        NAMED,
        [op("replace", "name", {"givenName": "Augusta"})],
        {
            **NAMED,
            "name": {
                "formatted": "Augusta Lovelace",
                "givenName": "Augusta",
                "familyName": "Lovelace",
            },
        },
        id="replace a complex attribute: sub-attributes not given are unchanged",
    ),
    pytest.param(
        MAILED,
        [op("replace", "emails", [{"value": "only@x.example"}])],
        {**ADA, "emails": [{"value": "only@x.example"}]},
        id="replace a multi-valued attribute without filter replaces every value",
    ),
    pytest.param(
        MAILED,
        [op("replace", 'emails[type eq "work"]', {"value": "w2@x.example"})],
        {
            **ADA,
            "emails": [
                {"value": "w2@x.example", "type": "work", "primary": True},
                MAILED["emails"][1],
            ],
        },
        id="replace the elements a value filter selects with an object",
    ),
    pytest.param(
        MAILED,
        [op("replace", 'emails[type eq "work" and primary eq true].value', "p@x.example")],
        {
            **ADA,
            "emails": [
                {"value": "p@x.example", "type": "work", "primary": True},
                MAILED["emails"][1],
            ],
        },
        id="replace through a value filter of two conditions joined by and",
    ),
    pytest.param(
        MAILED,
        [op("replace", 'emails[type eq "WORK"].value', "c@x.example")],
        {
            **ADA,
            "emails": [
                {"value": "c@x.example", "type": "work", "primary": True},
                MAILED["emails"][1],
            ],
        },
        id="value filters compare strings ignoring case",
    ),
    pytest.param(
        TITLED,
        [op("replace", "title", "Dr")],
        {**ADA, "title": "Dr"},
        id="replace a single-valued attribute",
    ),
    pytest.param(
        ADA,
        [op("replace", "title", "Dr")],
        {**ADA, "title": "Dr"},
        id="replace of an unassigned attribute adds it",
    ),
    pytest.param(
        NAMED,
        [op("replace", "NAME.GIVENNAME", "Augusta")],
        {
            **NAMED,
            "name": {
                "formatted": "Augusta Lovelace",
                "givenName": "Augusta",
                "familyName": "Lovelace",
            },
        },
        id="attribute names in paths are case-insensitive",
    ),
    pytest.param(
        ADA,
        [op("replace", value={f"{documents.CORE_USER}:userName": "b@x.example"})],
        {**ADA, "userName": "b@x.example"},
        id="a path-less key qualified with the core schema URN names the core one",
    ),
    pytest.param(
        MANAGED,
        [op("replace", value={ENTERPRISE: {"department": "Physics"}})],
        {**ADA, ENTERPRISE: {"department": "Physics", "manager": {"value": "m1"}}},
        id="a path-less extension object replaces the attributes it names",
    ),
    pytest.param(
        MANAGED,
        [op("replace", ENTERPRISE, {"division": "East"})],
        {**ADA, ENTERPRISE: {"division": "East"}},
        id="replace with the extension URN as path replaces the whole extension",
    ),
    pytest.param(
        ADA,
        [op("replace", "id", "other")],
        Fails("mutability"),
        id="replace of the read-only id is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "groups", [])],
        Fails("mutability"),
        id="replace of the read-only groups is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "meta.created", "2020-01-01")],
        Fails("mutability"),
        id="replace of read-only meta is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", value={"id": "other"})],
        Fails("mutability"),
        id="a path-less replace changing id is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "active", "maybe")],
        Fails("invalidValue", "active"),
        id="replace active with a non-boolean is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "userName", 42)],
        Fails("invalidValue", "userName"),
        id="replace userName with a number is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "emails", "a@x.example")],
        Fails("invalidValue", "emails"),
        id="replace a multi-valued attribute with a string is refused",
    ),
    pytest.param(
        NAMED,
        [op("replace", "name", "Ada")],
        Fails("invalidValue", "name"),
        id="replace a complex attribute with a string is refused",
    ),
    pytest.param(
        ADA,
        [op("replace", "displayName", "x" * 256)],
        Fails("invalidValue"),
        id="a string longer than the column is refused",
    ),
    pytest.param(
        ADA, [op("replace")], Fails("invalidValue"), id="replace without a value is refused"
    ),
]

MALFORMED = [
    pytest.param(
        ADA,
        [op("move", "title", "x")],
        Fails("invalidSyntax"),
        id="an op other than add, remove and replace is invalidSyntax",
    ),
    pytest.param(ADA, [], Fails("invalidSyntax"), id="an empty Operations array is invalidSyntax"),
    pytest.param(
        ADA,
        ["replace"],
        Fails("invalidSyntax"),
        id="an operation that is not an object is invalidSyntax",
    ),
    pytest.param(
        ADA,
        [op("replace", "emails[", "x")],
        Fails("invalidPath"),
        id="an unclosed value filter is invalidPath",
    ),
    pytest.param(
        ADA,
        [op("replace", "name..givenName", "x")],
        Fails("invalidPath"),
        id="an empty path segment is invalidPath",
    ),
    pytest.param(
        ADA,
        [op("replace", 'emails[type co "w"].value', "x")],
        Fails("invalidFilter"),
        id="a value filter with an operator other than eq is invalidFilter",
    ),
    pytest.param(
        ADA,
        [op("replace", "title", "Dr"), op("replace", "active", "maybe")],
        Fails("invalidValue"),
        id="one bad operation fails the whole request",
    ),
    pytest.param(
        ADA,
        [op("replace", path=None, value="Dr")],
        Fails("invalidValue"),
        id="a path-less operation needs an object value",
    ),
    pytest.param(
        MAILED,
        [op("replace", "emails.value", "x@x.example")],
        Fails("invalidPath"),
        id="a sub-attribute of a multi-valued attribute needs a filter",
    ),
]

CLOSED_SCHEMA = [
    pytest.param(
        ADA,
        [op("add", "favouriteColour", "teal")],
        Fails("invalidPath", "favouriteColour"),
        id="closed: a path the core schema does not define is invalidPath",
    ),
    pytest.param(
        NAMED,
        [op("replace", "name.shoeSize", 7)],
        Fails("invalidPath", "name.shoeSize"),
        id="closed: an undefined sub-attribute is invalidPath",
    ),
    pytest.param(
        ADA,
        [op("add", f"{ENTERPRISE}:badge", "1")],
        Fails("invalidPath", "badge"),
        id="closed: an attribute the enterprise schema does not define is invalidPath",
    ),
    pytest.param(
        ADA,
        [op("replace", value={"title": "Dr", "favouriteColour": "teal"})],
        Fails("invalidPath", "favouriteColour"),
        id="closed: a path-less key the core schema does not define is invalidPath",
    ),
    pytest.param(
        ADA,
        [op("Add", f"{KNO2}:npi", "1234567890")],
        {**ADA, KNO2: {"npi": "1234567890"}},
        id="extension: an attribute path under an extension URN is kept",
    ),
    pytest.param(
        ADA,
        [op("replace", value={f"{KNO2}:npi": "1"})],
        {**ADA, KNO2: {"npi": "1"}},
        id="extension: a path-less URN-qualified extension key is kept",
    ),
    pytest.param(
        {**ADA, KNO2: {"npi": "1"}},
        [op("remove", f"{KNO2}:npi")],
        ADA,
        id="extension: remove the last attribute removes the extension",
    ),
    pytest.param(
        ADA,
        [op("add", KNO2, {"npi": "1", "ward": "4B"})],
        {**ADA, KNO2: {"npi": "1", "ward": "4B"}},
        id="extension: add with the extension URN as path",
    ),
    pytest.param(
        ADA,
        [op("add", f"{KNO2}:notes", "x" * 5000)],
        Fails("invalidValue", "notes"),
        id="extension: a value past the byte bound is refused",
    ),
    pytest.param(
        ADA,
        [op("add", "urn:example:custom:User:npi", "1")],
        Fails("invalidPath"),
        id="closed: a URN that is no extension schema is invalidPath",
    ),
]

CLOSED_SCHEMA.append(
    pytest.param(
        ADA,
        [op("add", ENTERPRISE, {"schemas": [ENTERPRISE], "department": "ICU"})],
        {**ADA, ENTERPRISE: {"department": "ICU"}},
        id="closed: schemas inside an extension object is derived, so ignored",
    )
)

GROUPS = [
    pytest.param(
        {"displayName": "Nurses"},
        [op("Replace", "displayName", "Doctors")],
        {"displayName": "Doctors"},
        id="group: Replace displayName (legacy)",
    ),
    pytest.param(
        {"displayName": "Nurses"},
        [op("replace", value={"displayName": "Doctors", "externalId": "g-1"})],
        {"displayName": "Doctors", "externalId": "g-1"},
        id="group: path-less replace of displayName and externalId (flag)",
    ),
    pytest.param(
        {"displayName": "Nurses", "externalId": "g-1"},
        [op("remove", "externalId")],
        {"displayName": "Nurses"},
        id="group: remove externalId",
    ),
    pytest.param(
        {"displayName": "Nurses"},
        [op("remove", "displayName")],
        Fails("invalidValue", "displayName"),
        id="group: remove of the required displayName is refused",
    ),
    pytest.param(
        {"displayName": "Nurses"},
        [op("replace", "id", "x")],
        Fails("mutability"),
        id="group: replace of the read-only id is refused",
    ),
]


def _check(engine, before: dict, operations: list[dict], expected: dict | Fails) -> None:
    original = copy.deepcopy(before)
    if isinstance(expected, Fails):
        with pytest.raises(ScimError) as raised:
            engine(before, operations)
        assert raised.value.scim_type == expected.scim_type, raised.value.detail
        assert expected.mentions in str(raised.value.detail)
    else:
        assert engine(before, operations) == expected
    assert before == original, "the engine must not change the document it was given"


@pytest.mark.parametrize(
    "before, operations, expected",
    AZURE_LEGACY + AZURE_FLAG + RFC_ADD + RFC_REMOVE + RFC_REPLACE + MALFORMED + CLOSED_SCHEMA,
)
def test_user_patch_engine_gives_the_document_or_the_error_in_its_row(before, operations, expected):
    _check(patched_user, before, operations, expected)


@pytest.mark.parametrize("before, operations, expected", GROUPS)
def test_group_patch_engine_gives_the_document_or_the_error_in_its_row(
    before, operations, expected
):
    _check(patched_group, before, operations, expected)
