"""``documents.json_copy``: the document a write hands on is its own, as ``deepcopy`` made it."""

import copy

from scim.documents import json_copy, user_document
from scim.models import ScimUser

ATTRIBUTES = {
    "emails": [{"value": "a@clinic.test", "primary": True, "type": "work"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "manager": {"value": "m-1"},
        "costCenter": None,
        "employeeNumber": 7,
        "ratio": 0.5,
    },
    "x509Certificates": [],
}


def test_a_json_copy_equals_a_deep_copy():
    assert json_copy(ATTRIBUTES) == copy.deepcopy(ATTRIBUTES)


def test_changing_a_users_document_leaves_the_user_as_it_was():
    user = ScimUser(user_name="a@clinic.test", attributes=copy.deepcopy(ATTRIBUTES))

    document = user_document(user)
    document["emails"][0]["value"] = "changed@clinic.test"
    document["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"] = "x"
    document["x509Certificates"].append({"value": "c"})

    assert user.attributes == ATTRIBUTES
