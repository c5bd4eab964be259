"""SCIM ``filter`` → Django ``Q`` (RFC 7644 §3.4.2.2), on scim2-filter-parser's Q transpiler.

django-scim2's default ``FilterQuery`` builds raw SQL and appends the tenant clause after an
unparenthesised ``WHERE`` (so ``a or b`` plus ``and tenant`` leaks across tenants), and its views
then narrow the rows in Python. Here the filter becomes a ``Q`` that the ORM parenthesises and
ANDs with the organization from ``scim.scoping``, so the database does all the narrowing.

The stock transpiler silently drops attributes missing from its map (``bogus eq "x"`` would
match everything); ``StrictTranspiler`` raises ``invalidFilter`` instead. ``userName`` and a
group's ``displayName`` compare their ``identity_key`` column (the rule uniqueness uses); elsewhere
``eq`` compiles to ``iexact``: every attribute mapped here is ``caseExact: false`` except
``externalId`` and ``id``, which Azure and Microsoft's reference SP nonetheless match ignoring
case (docs/azure-scim-client.md §3.2).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet, UniqueConstraint
from django.http import HttpRequest
from django_scim.filters import FilterQuery
from scim2_filter_parser import ast as scim2ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.django_q_object import Transpiler

from . import identity, scoping
from .errors import InvalidFilter
from .models import ScimGroup, ScimUser, identity_key

AttrMap = dict[tuple[str, str | None, str | None], str]

USER_ATTRS: AttrMap = {
    ("id", None, None): "scim_id",
    ("userName", None, None): "user_name_key",
    ("externalId", None, None): "external_id",
    ("displayName", None, None): "display_name",
    ("active", None, None): "active",
    ("name", "givenName", None): "given_name",
    ("name", "familyName", None): "family_name",
    ("meta", "created", None): "created_at",
    ("meta", "lastModified", None): "updated_at",
}
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
# The transpiler turns every "." of a column into "__", which would break the "2.0" in the
# URN; JSON paths name the extension by this placeholder, swapped back in ``_with_urns``.
ENTERPRISE_KEY = "ENTERPRISE"
ENTERPRISE_JSON = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
for _attr in ("employeeNumber", "costCenter", "organization", "division", "department"):
    for _uri in (None, ENTERPRISE_URN):
        USER_ATTRS[(_attr, None, _uri)] = f"attributes__{ENTERPRISE_KEY}__{_attr}"
for _uri in (None, ENTERPRISE_URN):
    # Azure's walkthrough checks the manager with "manager eq" (docs/azure-scim-client.md §2.5,
    # example 4).
    USER_ATTRS[("manager", None, _uri)] = f"attributes__{ENTERPRISE_KEY}__manager__value"
    USER_ATTRS[("manager", "value", _uri)] = f"attributes__{ENTERPRISE_KEY}__manager__value"
# emails[type eq "work"].value is handled by StrictTranspiler.is_filter.
WORK_EMAIL_COLUMN = "work_email"
# Azure's walkthrough sends an unquoted value: externalId eq jyoung (docs/azure-scim-client.md
# §2.5).
_BARE_VALUE = re.compile(
    r"(\beq\s+)(?!(?:true|false|null)\b)([A-Za-z_][\w.@+-]*)(?=\s|\)|$)", re.IGNORECASE
)

MEMBER_COLUMN = "memberships__user__scim_id"

GROUP_ATTRS: AttrMap = {
    ("id", None, None): "scim_id",
    ("displayName", None, None): "display_name_key",
    ("externalId", None, None): "external_id",
    ("meta", "created", None): "created_at",
    ("meta", "lastModified", None): "updated_at",
    # Entra's membership check: GET /Groups?filter=id eq "g" and members eq "u"; also the
    # value-path form members[value eq "u"] (StrictTranspiler.is_filter). One join on the
    # (group, user) unique index of GroupMembership.
    ("members", None, None): MEMBER_COLUMN,
    ("members", "value", None): MEMBER_COLUMN,
}
# Columns holding ``scim.models.identity_key`` of a name: a value is compared by its own key,
# with case-sensitive lookups, so "eq" means "the same name" exactly as uniqueness does.
IDENTITY_COLUMNS = {"user_name_key", "display_name_key"}
UUID_COLUMNS = {"scim_id", MEMBER_COLUMN}

# Bounds on a filter's size (RFC 7644 §3.4.2.2 sets none). Azure sends one ``eq``, or two joined
# by ``and`` (docs/azure-scim-client.md §3.2), well under 600 characters even with two 255-character
# values; these leave ample room for hand-written queries. Past them the parser's tree would grow
# deep enough for the recursive transpiler to exhaust Python's stack (a 500), so refuse early.
MAX_FILTER_LENGTH = 1000
MAX_FILTER_DEPTH = 8  # nested "(" and "[" ("not" always takes a parenthesis)
MAX_FILTER_TERMS = 16  # comparisons joined by "and"/"or"

CORE_URNS = {
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
}


class QuotedString(str):
    """A filter value that was a JSON string, so ``"true"`` stays text, not a boolean."""


class EscapingLexer(SCIMLexer):
    """The library lexer, but a string value follows JSON string rules (RFC 7644 §3.4.2.2:
    compValue is a JSON literal), so ``"R&D \\"Night\\" Shift"`` and ``"back\\\\slash"``
    compare as the names they spell."""

    tokens = SCIMLexer.tokens

    @_(r'"(?:[^"\\]|\\.)*"')  # noqa: F821 - sly injects "_" into lexer class bodies
    def COMP_VALUE(self, t: Any) -> Any:
        t.value = QuotedString(json.loads(t.value))
        return t


class StrictTranspiler(Transpiler):
    """The library transpiler, but an attribute it cannot map is an error, not a no-op."""

    def __init__(self, attr_map: AttrMap, *, work_email: bool) -> None:
        super().__init__(attr_map)
        self.work_email = work_email

    def visit_AttrPath(self, node: Any) -> str:
        uri = node.uri.lower() if node.uri else None
        if uri in CORE_URNS:
            # "urn:…:core:2.0:User:userName" names the same attribute as "userName".
            node = scim2ast.AttrPath(node.attr_name, node.sub_attr, None)
        column = super().visit_AttrPath(node)
        if column is None:
            name = node.attr_name + (f".{node.sub_attr.value}" if node.sub_attr else "")
            raise InvalidFilter(f"filtering on {name} is not supported")
        return column

    def is_filter(self, node: Any) -> Q:
        """``emails[type eq "work"].value eq "x"``: the one value filter Azure sends."""
        filter_node = node.attr_path.attr_name
        negated = filter_node.negated
        namespace = filter_node.namespace
        expr = filter_node.expr
        while isinstance(expr, scim2ast.Filter):
            negated = negated or expr.negated
            expr = expr.expr
        sub_attr = namespace.sub_attr if namespace is not None else None
        if (
            self.work_email
            and namespace is not None
            and namespace.attr_name.lower() == "emails"
            and isinstance(expr, scim2ast.AttrExpr)
            and not negated
            and expr.value.lower() == "eq"
            and isinstance(expr.attr_path.attr_name, str)
            and expr.attr_path.attr_name.lower() == "type"
            and expr.attr_path.sub_attr is None
            and isinstance(expr.comp_value, scim2ast.CompValue)
            and str(expr.comp_value.value).lower() == "work"
            and (sub_attr is None or sub_attr.value.lower() == "value")
        ):
            op, value = self.visit_AttrExprValue(node)
            query = Q(**{f"{WORK_EMAIL_COLUMN}__{op}": value})
            return ~query if node.value.lower() == "ne" else query
        raise InvalidFilter(
            'the supported value filters are emails[type eq "work"].value and '
            'members[value eq "<user id>"]'
        )

    @staticmethod
    def visit_CompValue(node: Any) -> Any:
        if isinstance(node.value, QuotedString):
            return str(node.value)
        return Transpiler.visit_CompValue(node)

    def visit_AttrExprValue(self, node: Any) -> tuple[str, Any]:
        """Numbers compare as text: every non-boolean column here is text, uuid or a timestamp,
        and PostgreSQL will not UPPER() a number."""
        op, value = super().visit_AttrExprValue(node)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return op, value

    def visit_AttrExpr(self, node: Any) -> Q:
        if isinstance(node.attr_path.attr_name, scim2ast.Filter):
            return self.is_filter(node)
        column = self.visit(node.attr_path)
        if column in IDENTITY_COLUMNS:
            return self.identity_expr(column, node)
        if column in UUID_COLUMNS and node.value.lower() == "eq":
            return self.uuid_expr(column, node)
        if column != "active":
            return super().visit_AttrExpr(node)
        # A boolean column: iexact would compile to UPPER(active::text), which PostgreSQL
        # rejects for a boolean parameter; accept true/false and Azure's "True"/"False".
        operator = node.value.lower()
        if operator == "pr":
            return Q(active__isnull=False)
        value = self.visit(node.comp_value) if node.comp_value else None
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            value = value.lower() == "true"
        if operator not in {"eq", "ne"} or not isinstance(value, bool):
            raise InvalidFilter("active is a boolean; compare it with eq or ne to true or false")
        # Unassigned active (NULL) counts as active, as everywhere else in this service.
        inactive = Q(active=False)
        wants_active = value if operator == "eq" else not value
        return ~inactive if wants_active else inactive

    def uuid_expr(self, column: str, node: Any) -> Q:
        """``eq`` on a uuid column, compared as a uuid (any case, one index lookup) rather
        than ``UPPER(column::text)``, which no index serves; a value that is no uuid matches
        nothing."""
        _, value = self.visit_AttrExprValue(node)
        try:
            return Q(**{column: uuid.UUID(str(value))})
        except ValueError:
            return Q(pk__in=[])

    def identity_expr(self, column: str, node: Any) -> Q:
        """A comparison on a name's identity key: the value is keyed the same way, and the
        lookup is the case-sensitive twin of the one the library picked (``iexact`` → ``exact``)."""
        op, value = self.visit_AttrExprValue(node)
        if isinstance(value, str):
            value = identity_key(value)
            op = (
                op.removeprefix("i")
                if op in {"iexact", "icontains", "istartswith", "iendswith"}
                else op
            )
        query = Q(**{f"{column}__{op}": value})
        return ~query if node.value.lower() == "ne" else query


def _with_urns(query: Q) -> Q:
    """Swap the extension placeholder in JSON lookups for the real schema URN."""
    children = []
    for child in query.children:
        if isinstance(child, Q):
            children.append(_with_urns(child))
        else:
            key, value = child
            children.append((key.replace(ENTERPRISE_KEY, ENTERPRISE_JSON), value))
    query.children = children
    return query


def _transpile(text: str, attr_map: AttrMap, work_email: bool) -> Q:
    tree = SCIMParser().parse(EscapingLexer().tokenize(text))
    return StrictTranspiler(attr_map, work_email=work_email).transpile(tree)


def _unstorable(text: str) -> bool:
    """NUL and lone surrogates: PostgreSQL can neither store nor compare them."""
    return "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _leaves(query: Q) -> Iterator[tuple[str, object]]:
    """Every ``(lookup, value)`` comparison in ``query``, however nested."""
    for child in query.children:
        if isinstance(child, Q):
            yield from _leaves(child)
        else:
            yield child


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')
_LOGICAL = re.compile(r"(?<![\w.:$-])(?:and|or)(?![\w.:$-])", re.IGNORECASE)


def check_bounds(text: str) -> None:
    """Refuse a filter longer, deeper or with more terms than the ``MAX_FILTER_*`` bounds.

    Counted on the text outside quoted values, so ``userName eq "a(b"`` nests nothing. Done on
    the characters rather than the lexer's tokens so that text the lexer refuses (and that
    ``parse_filter`` then retries with bare values quoted) is bounded too.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    unquoted = _QUOTED.sub('""', text)
    depth = 0
    for char in unquoted:
        if char in "([":
            depth += 1
            if depth > MAX_FILTER_DEPTH:
                raise InvalidFilter(f"filter nests more than {MAX_FILTER_DEPTH} levels deep")
        elif char in ")]":
            depth -= 1
    if len(_LOGICAL.findall(unquoted)) >= MAX_FILTER_TERMS:
        raise InvalidFilter(f"filter joins more than {MAX_FILTER_TERMS} comparisons with and/or")


def parse_filter(text: str, attr_map: AttrMap, *, work_email: bool = False) -> Q:
    """The ``Q`` for a SCIM filter, or ``invalidFilter`` (RFC 7644 §3.4.2.2, §3.12)."""
    if not text.strip():
        raise InvalidFilter("filter is empty")
    check_bounds(text)
    if _unstorable(text):
        raise InvalidFilter("filter contains characters that cannot be stored or compared")
    errors = (
        SCIMParserError,
        ValueError,
        TypeError,
        AttributeError,
        NotImplementedError,
        IndexError,
        KeyError,
    )
    try:
        try:
            query = _transpile(text, attr_map, work_email)
        except errors:
            quoted = _BARE_VALUE.sub(lambda m: f'{m[1]}"{m[2]}"', text)
            if quoted == text:
                raise
            query = _transpile(quoted, attr_map, work_email)
    except InvalidFilter:
        raise
    except errors as exc:
        raise InvalidFilter(f"filter {text!r} is not valid SCIM filter syntax") from exc
    if not isinstance(query, Q):
        raise InvalidFilter(f"filter {text!r} is not valid SCIM filter syntax")
    # A JSON escape such as \u0000 in a quoted value only becomes a NUL once parsed.
    if any(isinstance(value, str) and _unstorable(value) for _, value in _leaves(query)):
        raise InvalidFilter("filter contains characters that cannot be stored or compared")
    return _with_urns(query)


@cache
def unique_within_organization(model: type[Model]) -> frozenset[str]:
    """The columns of ``model`` that no two rows of one organization share: the unique fields
    (``scim_id``) and the second field of each ``(organization, field)`` unique constraint
    (``user_name_key``, ``display_name_key``)."""
    columns = {field.attname for field in model._meta.concrete_fields if field.unique}
    for constraint in model._meta.constraints:
        if (
            isinstance(constraint, UniqueConstraint)
            and constraint.condition is None
            and len(constraint.fields) == 2
            and constraint.fields[0] == "organization"
        ):
            columns.add(constraint.fields[1])
    return frozenset(columns)


def matches_at_most_one(query: Q, unique_columns: frozenset[str]) -> bool:
    """Whether ``query`` can match at most one row of an organization: it requires equality
    on a column in ``unique_columns`` (``userName eq "x"``, ``id eq "…"``, alone or ANDed with
    anything else)."""
    if query.negated:
        return False
    pins = [_pins_one(child, unique_columns) for child in query.children]
    return any(pins) if query.connector == Q.AND else len(pins) == 1 and pins[0]


def _pins_one(child: Q | tuple[str, object], unique_columns: frozenset[str]) -> bool:
    if isinstance(child, Q):
        return matches_at_most_one(child, unique_columns)
    column, _, lookup = child[0].partition("__")
    return column in unique_columns and lookup in ("", "exact")


@dataclass(frozen=True)
class Search:
    """A filter's rows in the request's organization, and whether at most one can match.

    ``read_one``, where set, reads that one row (or ``None``) without a QuerySet: for
    ``userName eq "…"``, which Azure and Okta send for every user they provision, building and
    compiling the QuerySet cost more than the rest of the lookup (README, "Issue 21, twelfth
    round"). ``queryset`` is then built only if something asks for it.
    """

    build: Callable[[], QuerySet]
    at_most_one: bool
    read_one: Callable[[], Model | None] | None = None

    @cached_property
    def queryset(self) -> QuerySet:
        return self.build()


class ScopedFilterQuery(FilterQuery):
    """django-scim2's parser hook (``USER_FILTER_PARSER``/``GROUP_FILTER_PARSER``), returning a
    tenant-scoped ``QuerySet`` instead of a raw query over every tenant."""

    attr_map: ClassVar[AttrMap] = {}
    work_email: ClassVar[bool] = False
    model: ClassVar[type[Model]]

    @classmethod
    def search(cls, filter_query: str, request: HttpRequest | None = None) -> QuerySet:
        return cls.find(filter_query, request).queryset

    @classmethod
    def find(cls, filter_query: str, request: HttpRequest | None = None) -> Search:
        """``search``, knowing whether the filter pins one row by a unique column: the SCIM
        views read such a result without ordering it (``ScimViewMixin._the_one_and_total``)."""
        key = user_name_eq_key(filter_query) if cls.model is ScimUser else None
        if key is None:
            query = parse_filter(filter_query, cls.attr_map, work_email=cls.work_email)
            key = _pinned_user_name_key(query) if cls.model is ScimUser else None
        if key is not None:
            organization = scoping.organization_of(request)
            return Search(
                lambda: scoping.scoped_queryset(cls.model, request).filter(user_name_key=key),
                at_most_one=True,
                read_one=lambda: identity.user_with_key(organization.pk, key),
            )
        try:
            queryset = scoping.scoped_queryset(cls.model, request).filter(query)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidFilter(f"filter {filter_query!r} has a value of the wrong type") from exc
        if any(lookup.startswith(MEMBER_COLUMN) for lookup, _ in _leaves(query)):
            # The membership join yields a group once per member the filter names
            # (``members eq "a" or members eq "b"``); a resource is listed once.
            queryset = queryset.distinct()
        return Search(
            lambda: queryset, matches_at_most_one(query, unique_within_organization(cls.model))
        )


# ``userName eq "…"`` and nothing else, spaced as Azure and Okta send it: the filter both send
# before creating every user. Only spaces and tabs, which the lexer skips; anything else (a
# schema-qualified name, another attribute, more terms) goes to the parser.
_USER_NAME_EQ = re.compile(r'[ \t]*userName[ \t]+eq[ \t]+"((?:[^"\\]|\\.)*)"[ \t]*', re.IGNORECASE)


def user_name_eq_key(text: str) -> str | None:
    """The folded name (``identity_key``) ``text`` looks up when it is exactly
    ``userName eq "…"``, read without the parser; ``None`` for any other filter, and for one
    the parser would refuse (too long, a value that is not a JSON string or cannot be stored),
    so that ``parse_filter`` answers those as it answers every filter.

    The SLY parser and transpiler took a third of a lookup's own CPU for this one shape
    (README, "Issue 21, thirteenth round"); the answer is the parser's
    (``tests/scim/test_user_lookup.py`` holds the two side by side).
    """
    if len(text) > MAX_FILTER_LENGTH:
        return None
    found = _USER_NAME_EQ.fullmatch(text)
    if found is None:
        return None
    try:
        value = json.loads(f'"{found[1]}"')
    except ValueError:
        return None
    if _unstorable(value):
        return None
    return identity_key(value)


def _pinned_user_name_key(query: Q) -> str | None:
    """The folded name when ``query`` is exactly ``userName eq "…"``, else ``None``."""
    if query.negated or len(query.children) != 1:
        return None
    child = query.children[0]
    if isinstance(child, tuple) and child[0] in ("user_name_key", "user_name_key__exact"):
        return child[1] if isinstance(child[1], str) else None
    return None


class UserFilterQuery(ScopedFilterQuery):
    model = ScimUser
    attr_map = USER_ATTRS
    work_email = True


class GroupFilterQuery(ScopedFilterQuery):
    model = ScimGroup
    attr_map = GROUP_ATTRS


# One attribute that identifies a user or group, compared with one string: how Azure looks a
# user up before creating or updating it (reference §2.2).
_IDENTITY_LOOKUP = re.compile(
    r'^\s*(?:userName|externalId|displayName|emails\[type eq "work"\]\.value)\s+eq\s+'
    r'"((?:[^"\\]|\\.)*)"\s*$',
    re.IGNORECASE,
)


def looked_up_value(text: str) -> str | None:
    """The name a filter looks up, for ``userName eq "x"``-shaped filters; else ``None``."""
    found = _IDENTITY_LOOKUP.match(text or "")
    if found is None:
        return None
    try:
        value = json.loads(f'"{found.group(1)}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None
