"""``FixedSelect`` refuses a statement it could not write correctly, when it is declared."""

import pytest

from core.fixedselect import FixedSelect
from organizations.models import ProvisioningToken


def test_a_column_through_a_table_that_is_not_joined_is_refused_when_declared():
    with pytest.raises(ValueError, match="'organization' is not joined"):
        FixedSelect(
            ProvisioningToken,
            where="{organization__public_id} = %s",
            params=["organization__public_id"],
        )


def test_a_table_joined_twice_is_refused_when_declared():
    with pytest.raises(ValueError, match="joins each table once"):
        FixedSelect(
            ProvisioningToken,
            related=["organization"],
            outer=["created_by", "revoked_by"],
            where="{key} = %s",
            params=["key"],
        )


def test_an_empty_foreign_key_is_not_inner_joined_where_select_related_would_keep_the_row():
    with pytest.raises(ValueError, match="'revoked_by' may be empty"):
        FixedSelect(ProvisioningToken, related=["revoked_by"], where="{key} = %s", params=["key"])
