"""Plain factory functions; ``conftest.py`` exposes them as fixtures."""

from __future__ import annotations

import itertools
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

from organizations import services, tokens
from organizations.models import Organization, ProvisioningToken

_sequence = itertools.count(1)

# The secret scanners' pattern for a provisioning token, as the README publishes it.
TOKEN_PATTERN = re.compile(r"\bk2p_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b")
TENANT_A = "11111111-2222-3333-4444-555555555555"
TENANT_B = "66666666-7777-8888-9999-aaaaaaaaaaaa"


def make_staff(username: str | None = None, password: str = "staff-password-1") -> AbstractUser:
    n = next(_sequence)
    return get_user_model().objects.create_user(
        username=username or f"staff{n}", password=password, is_staff=True, is_superuser=True,
        email=f"staff{n}@kno2.example",
    )


def make_organization(
    *, name: str | None = None, slug: str | None = None, tenant_id: str | None = TENANT_A,
    provisioning_enabled: bool = True,
) -> Organization:
    n = next(_sequence)
    return services.create_organization(
        name=name or f"Clinic {n}",
        slug=slug or f"clinic-{n}",
        issuer=f"https://sts.windows.net/{tenant_id}/" if tenant_id else "",
        enable_provisioning=provisioning_enabled and tenant_id is not None,
    )


def make_token(
    organization: Organization, *, label: str = "Azure AD", expires_days: int | None = None,
) -> tuple[ProvisioningToken, str]:
    return services.issue_token(
        organization, actor=None, label=label, expires_days=expires_days
    )


def forged_token_for(key: str) -> str:
    """A well-formed token with ``key`` and a valid checksum but a secret nobody issued."""
    return tokens.build_token(key)


def sign_in(client, login_path: str, username: str, password: str) -> bool:
    """Sign in through the login form, as a person (and django-axes) would."""
    client.post(login_path, {"username": username, "password": password})
    return "_auth_user_id" in client.session
