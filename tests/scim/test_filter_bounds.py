"""Filters are bounded in length, nesting and terms, so none can exhaust the stack (a 500)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim.errors import InvalidFilter
from scim.filters import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
    USER_ATTRS,
    parse_filter,
)

from .conftest import make_user


def search(scim, filter_):
    return scim.get("/Users", {"filter": filter_})


@pytest.mark.parametrize(
    "filter_",
    [
        "(" * 500 + "id pr" + ")" * 500,
        " and ".join(["id pr"] * 280),
        " or ".join(["id pr"] * 280),
    ],
    ids=["500 nested parentheses", "id pr and ×280", "id pr or ×280"],
)
def test_oversized_filters_answer_400_invalid_filter(scim, filter_):
    response = search(scim, filter_)

    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidFilter"


def test_a_filter_past_the_length_bound_names_the_bound(scim):
    response = search(scim, 'userName eq "' + "a" * MAX_FILTER_LENGTH + '"')

    assert response.status_code == 400
    assert f"longer than {MAX_FILTER_LENGTH} characters" in response.json()["detail"]


def test_a_filter_nested_past_the_depth_bound_is_refused(scim):
    depth = MAX_FILTER_DEPTH + 1

    response = search(scim, "(" * depth + 'userName eq "a"' + ")" * depth)

    assert response.status_code == 400
    assert f"more than {MAX_FILTER_DEPTH} levels" in response.json()["detail"]


def test_filters_at_the_bounds_still_match(scim):
    make_user(scim.organization, "alice@riverside.example")
    nested = "(" * MAX_FILTER_DEPTH + 'userName eq "alice@riverside.example"'
    nested += ")" * MAX_FILTER_DEPTH
    terms = " and ".join(["id pr"] * (MAX_FILTER_TERMS - 1) + [nested])

    response = search(scim, terms)

    assert response.status_code == 200, response.content
    assert response.json()["totalResults"] == 1


def test_parentheses_inside_a_quoted_value_do_not_count_as_nesting(scim):
    make_user(scim.organization, "((((((((((x))))))))))@riverside.example")

    response = search(scim, 'userName eq "((((((((((x))))))))))@riverside.example"')

    assert response.json()["totalResults"] == 1


def test_a_bounded_filter_finds_nothing_of_another_organization(scim, other_scim):
    make_user(other_scim.organization, "bob@elsewhere.example")

    response = search(scim, '((userName eq "bob@elsewhere.example") or (id pr))')

    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


LEAVES = st.sampled_from(['userName eq "a"', "id pr", 'externalId eq "(b)"'])


@st.composite
def filters(draw, depth: int = 0) -> tuple[str, int, int]:
    """A random filter and its true nesting depth and number of and/or operators."""
    shape = "leaf" if depth > 14 else draw(st.sampled_from(["leaf", "paren", "join", "chain"]))
    if shape == "leaf":
        return draw(LEAVES), 0, 0
    if shape == "paren":
        inner, inner_depth, inner_terms = draw(filters(depth + 1))
        prefix = draw(st.sampled_from(["(", "not ("]))
        return f"{prefix}{inner})", inner_depth + 1, inner_terms
    joiner = draw(st.sampled_from([" and ", " or "]))
    if shape == "chain":
        leaves = draw(st.lists(LEAVES, min_size=1, max_size=40))
        return joiner.join(leaves), 0, len(leaves) - 1
    parts = [draw(filters(depth + 1)) for _ in range(draw(st.integers(2, 3)))]
    text = joiner.join(part[0] for part in parts)
    return text, max(part[1] for part in parts), sum(part[2] for part in parts) + len(parts) - 1


@settings(max_examples=150, deadline=None, derandomize=True)
@given(drawn=filters())
def test_any_filter_is_parsed_within_the_bounds_or_refused_with_invalid_filter(drawn):
    text, depth, terms = drawn
    within = (
        len(text) <= MAX_FILTER_LENGTH and depth <= MAX_FILTER_DEPTH and terms < MAX_FILTER_TERMS
    )

    if within:
        assert parse_filter(text, USER_ATTRS) is not None
    else:
        with pytest.raises(InvalidFilter):
            parse_filter(text, USER_ATTRS)


def test_a_deep_filter_the_lexer_refuses_is_still_bounded(scim):
    """Unquoted values (``externalId eq a@b``, docs/azure-scim-client.md §2.5) are retried
    quoted; the bounds hold for that retry too."""
    response = search(scim, "(" * 490 + "externalId eq a@b" + ")" * 490)

    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidFilter"
