"""Plain words for sync events: what a request did, and how to fix one that failed.

Tenant admins read these instead of calling Kno2 support, so they name their SCIM client's own
screens and explain what it will do next: Azure AD's for an Entra organization
(``docs/azure-scim-client.md`` §3.3, §3.7, §3.8), the Okta Admin Console's for Okta, plain SCIM
terms for any other identity provider (``_Words``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from organizations.identity import IdentityProviderKind
from scim.calls import Operation
from scim.errors import attribute_in_detail

# A SCIM filter comparing one attribute with a GUID, as Azure's Test Connection sends it:
# `userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"` (docs/azure-scim-client.md §2.1).
_GUID_FILTER = re.compile(
    r'^\s*[\w.:\[\]" ]+?\s+eq\s+"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"\s*$'
)


# ``scim.services`` names the first unknown member ids: "no user with id <id>[, <id>...]".
_UNKNOWN_MEMBER = re.compile(r"no user with id ([^\s,]+(?:, [^\s,]+)*(?: and \d+ more)?)")


def is_test_connection(
    operation: str, filter_text: str, results: int | None, status_code: int
) -> bool:
    """Whether a request looks like Azure's Test Connection.

    Azure queries "for a user that doesn't exist, using a random GUID as the matching property"
    and expects an empty ListResponse (docs/azure-scim-client.md §2.1). So: a user or group search
    whose filter is one ``eq`` against a GUID, that matched nothing, or that failed (a Test
    Connection with a bad token or a broken endpoint is exactly what the health check must catch).
    A real user whose userName is a GUID would be found (``results`` > 0) and stays a plain search.
    """
    if operation not in {Operation.LIST_USERS, Operation.LIST_GROUPS}:
        return False
    if not _GUID_FILTER.match(filter_text or ""):
        return False
    return status_code >= 400 or not results


def _quote(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return f"“{text[:80]}…”" if len(text) > 80 else f"“{text}”"


def describe_changes(changes: Sequence[Mapping[str, object]]) -> str:
    parts = []
    for change in changes[:6]:
        parts.append(
            f"{change.get('attribute', '?')} {_quote(change.get('old'))} → "
            f"{_quote(change.get('new'))}"
        )
    if len(changes) > 6:
        parts.append(f"and {len(changes) - 6} more")
    return "; ".join(parts)


def summarize(
    operation: str,
    *,
    subject: str = "",
    changes: Sequence[Mapping[str, object]] = (),
    members_added: int = 0,
    members_removed: int = 0,
    filter_text: str = "",
    results: int | None = None,
    method: str = "",
    path: str = "",
) -> str:
    """One line saying what the request did, e.g. ``Add 3 members to group “Nurses”``."""
    who = f" {_quote(subject)}" if subject else ""
    if operation == Operation.UPDATE_MEMBERS:
        added = f"{members_added} member{'s' if members_added != 1 else ''}"
        removed = f"{members_removed} member{'s' if members_removed != 1 else ''}"
        if members_added and members_removed:
            return f"Add {added} to and remove {removed} from group{who}"
        if members_added:
            return f"Add {added} to group{who}"
        if members_removed:
            return f"Remove {removed} from group{who}"
        return f"Change members of group{who}"
    if operation == Operation.TEST_CONNECTION:
        return f"Test Connection: lookup where {filter_text}"
    if operation in {Operation.LIST_USERS, Operation.LIST_GROUPS}:
        kind = "users" if operation == Operation.LIST_USERS else "groups"
        where = f" where {filter_text}" if filter_text else ""
        found = f" ({results} found)" if results is not None else ""
        return f"Search {kind}{where}{found}"
    if operation == Operation.TOKEN_REQUEST:
        return "Access token request refused"
    if operation == Operation.OTHER:
        return f"{method} {path}"
    try:
        label = Operation(operation).label
    except ValueError:
        label = operation  # an operation name this release no longer knows
    text = f"{label}{who}"
    if changes:
        text += f": {describe_changes(changes)}"
    return text


@dataclass(frozen=True)
class _Words:
    """The customer's SCIM client in its own words: what it is called, where its screens are."""

    client: str  # "Azure", at the start of a sentence
    client_ad: str  # "Azure AD"
    in_client: str  # "in Azure"
    test: str  # after "then"
    quarantine: str  # a sentence, or ""
    credential_place: str
    mappings: str  # where to remove a mapping, after "open" / "in"
    mappings_users: str
    user_name_source: str
    source_user: str
    assign: str
    restart: str
    cycle: str  # "on its next cycle"
    url_place: str
    # Where the customer removes a duplicate source user: the portal cannot delete anything.
    unassign: str


_WORDS = {
    IdentityProviderKind.ENTRA: _Words(
        client="Azure",
        client_ad="Azure AD",
        in_client="in Azure",
        test="click Test Connection",
        quarantine=" Azure quarantines a job whose credentials keep failing.",
        credential_place="in the enterprise app under Provisioning → Admin Credentials → Secret "
        "Token",
        mappings="In the enterprise app, open Provisioning → Mappings → Provision Microsoft "
        "Entra ID Users (or Groups)",
        mappings_users="In the enterprise app, open Provisioning → Mappings → Provision "
        "Microsoft Entra ID Users,",
        user_name_source=" (usually the UPN)",
        source_user="Azure user's",
        assign="Usually that user is not assigned to the Kno2fy enterprise app or is out of "
        "the provisioning scope while the group is: assign the user (or remove them from the "
        "group) in Azure, or use Provision on demand for that user.",
        restart="restart provisioning in Azure so it forgets the old id",
        cycle="on its next cycle",
        url_place="into Azure",
        unassign="unassign the duplicate user from the Kno2fy enterprise app in Entra ID "
        "(Enterprise applications → Kno2fy → Users and groups)",
    ),
    IdentityProviderKind.OKTA: _Words(
        client="Okta",
        client_ad="Okta",
        in_client="in Okta",
        test="click Test API Credentials (Applications → Kno2fy → Provisioning → Integration)",
        quarantine="",
        credential_place="in the Okta Admin Console under Applications → Kno2fy → Provisioning "
        "→ Integration → API Token",
        mappings="In the Okta Admin Console, open Applications → Kno2fy → Provisioning → To "
        "App → Attribute Mappings (or Push Groups)",
        mappings_users="In the Okta Admin Console, open Applications → Kno2fy → Provisioning "
        "→ To App → Attribute Mappings,",
        user_name_source=" (usually the Okta username)",
        source_user="Okta user's",
        assign="Usually that user is not assigned to the Kno2fy app while a pushed group they "
        "belong to is: assign the user under Applications → Kno2fy → Assignments (or remove "
        "them from the group) in Okta.",
        restart="push the group again in Okta (Applications → Kno2fy → Push Groups)",
        cycle="on its next sync",
        url_place="into Okta's Base URL",
        unassign="unassign the duplicate user from the Kno2fy app in the Okta Admin Console "
        "(Applications → Kno2fy → Assignments)",
    ),
    IdentityProviderKind.SAML: _Words(
        client="Your SCIM client",
        client_ad="Your SCIM client",
        in_client="in your SCIM client",
        test="test the connection in your SCIM client",
        quarantine="",
        credential_place="in your SCIM client's connection settings",
        mappings="In your SCIM client's attribute mappings",
        mappings_users="In your SCIM client's user attribute mappings,",
        user_name_source="",
        source_user="source user's",
        assign="Usually that user is not assigned to the Kno2fy application while the group "
        "is: assign the user (or remove them from the group) in your SCIM client.",
        restart="resynchronise that object in your SCIM client so it forgets the old id",
        cycle="on its next sync",
        url_place="into your SCIM client",
        unassign="remove the duplicate user from the Kno2fy application in your SCIM client",
    ),
}


def _words(kind: str) -> _Words:
    return _WORDS.get(kind, _WORDS[IdentityProviderKind.SAML])


def _undeclared_attribute(attribute: str, w: _Words) -> str:
    target = attribute
    return (
        f"{w.client} sent the attribute {target}, which Kno2fy does not know. {w.mappings} and "
        f"remove the mapping whose target attribute is {target}. If Kno2fy needs that value, "
        "ask Kno2 which extension attribute (urn:ietf:params:scim:schemas:extension:kno2:2.0:"
        f"User:…) to map it to instead. {w.client} retries the object {w.cycle}."
    )


def explain_failure(
    *,
    operation: str,
    status_code: int,
    error_type: str = "",
    error_detail: str = "",
    subject: str = "",
    idp_kind: str = IdentityProviderKind.ENTRA,
) -> str:
    """What a failed request means and what the tenant admin can do about it, in the words of
    the organization's identity provider (``idp_kind``)."""
    w = _words(idp_kind)
    azure = w.client
    mid = azure[0].lower() + azure[1:] if azure.startswith("Your ") else azure
    who = f"“{subject}”" if subject else "this object"
    if operation == Operation.TOKEN_REQUEST:
        # ``oauth.server`` wrote the fix, naming the values to change.
        return (
            f"{error_detail} Then click Test Connection in the enterprise app's Provisioning "
            "page; Azure quarantines a job whose credentials keep failing."
            if idp_kind == IdentityProviderKind.ENTRA
            else f"{error_detail} Then {w.test}."
        )
    if status_code == 401:
        return (
            f"{w.client_ad}'s secret token was refused: it is wrong, expired, revoked, or "
            "provisioning is switched off for this organization. Ask Kno2 for a new token, "
            f"paste it {w.credential_place}, then {w.test}.{w.quarantine}"
        )
    if status_code == 409 or error_type == "uniqueness":
        if operation in {Operation.RENAME_GROUP, Operation.UPDATE_GROUP}:
            return (
                f"Another group here already has the name {mid} sent for {who}. Group names "
                f"must be unique: rename one of the two groups {w.in_client}, and the next "
                "cycle applies the change."
            )
        if operation == Operation.UPDATE_USER:
            return (
                f"Another user here already has the userName {mid} sent for {who}. Fix the "
                f"duplicate userName{w.user_name_source} {w.in_client}; the next cycle applies it."
            )
        if operation not in {Operation.CREATE_USER, Operation.CREATE_GROUP}:
            hint = f" ({error_detail})" if error_detail else ""
            return (
                f"The change conflicted with data already here{hint}. {azure} retries it "
                f"{w.cycle}; if it keeps failing, contact Kno2 support with the request id."
            )
        if operation == Operation.CREATE_GROUP:
            return (
                f"A group named {who} already exists here, so {mid} could not create it. {azure} "
                "retries every cycle and keeps failing until its matching attribute "
                f"(displayName) finds that group: rename one of the two groups {w.in_client}, "
                "and the next cycle matches it."
            )
        return (
            f"A user with the userName {who} already exists here, so {mid} could not create it. "
            f"{azure} retries every cycle until its matching attribute (userName) finds that user: "
            f"make the {w.source_user} userName{w.user_name_source} match the existing account, or "
            f"{w.unassign}, and the next cycle links them. The portal cannot remove either "
            "account."
        )
    if status_code == 404:
        if operation in {Operation.LIST_USERS, Operation.LIST_GROUPS, Operation.TEST_CONNECTION}:
            return (
                "The Tenant URL does not point at a provisioning endpoint. Copy the Tenant URL "
                f"from this dashboard {w.url_place} exactly"
                + (
                    "; Azure quarantines a job that gets 404 instead of an empty result."
                    if idp_kind == IdentityProviderKind.ENTRA
                    else "."
                )
            )
        return (
            f"{who[0].upper()}{who[1:]} no longer exists here (it was deleted). {azure} treats "
            f"this as resolved {w.cycle}; if it keeps happening, {w.restart}."
        )
    if status_code == 400:
        hint = f" ({error_detail})" if error_detail else ""
        unknown = _UNKNOWN_MEMBER.search(error_detail or "")
        if unknown and operation in {
            Operation.UPDATE_GROUP,
            Operation.UPDATE_MEMBERS,
            Operation.CREATE_GROUP,
        }:
            ids = unknown.group(1)
            several = "," in ids or " more" in ids
            return (
                f"{azure} asked to add {'members' if several else 'member'} {ids} to {who}, and "
                f"no user with {'those ids' if several else 'that id'} was ever provisioned "
                "here, so the whole request was refused and no member in "
                f"it was added. {azure} will retry the whole request, with every member in it, "
                f"{w.cycle}. {w.assign}"
            )
        attribute = attribute_in_detail(error_detail)
        if attribute and error_type in {"invalidSyntax", "invalidPath", "noTarget"}:
            return _undeclared_attribute(attribute, w)
        if attribute and error_type == "invalidValue" and "at most" in error_detail:
            return (
                f"{azure}'s mapping to the extension attribute {attribute} sends more than Kno2 "
                f"accepts{hint}. {w.mappings_users} and remove the mapping whose target "
                f"attribute is {attribute}, or shorten its source value. If Kno2fy needs it "
                "as it is, ask Kno2 support."
            )
        if error_type == "invalidFilter":
            return (
                f"{azure} searched with a filter this service does not support{hint}. Check the "
                f"matching attributes in {mid}'s attribute mappings: use userName for users and "
                "displayName for groups."
            )
        return (
            f"{azure} sent a value this service refused{hint}. Check the attribute mappings "
            f"{w.in_client} for the attribute named; {azure} retries the object {w.cycle} once "
            "the mapping or the source value is fixed."
        )
    if status_code == 429:
        return f"Requests were throttled. Nothing to do: {mid} retries them automatically."
    if status_code >= 500:
        return (
            "The provisioning service failed on Kno2's side; nothing is wrong with your "
            f"configuration. {azure} retries {w.cycle}"
            + (" (about 40 minutes)" if idp_kind == IdentityProviderKind.ENTRA else "")
            + ". If it keeps failing, contact Kno2 support with the request id shown here."
        )
    return f"{azure}'s request was refused. Contact Kno2 support with the request id shown here."
