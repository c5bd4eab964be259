"""Plain factory functions; ``conftest.py`` exposes them as fixtures."""

from __future__ import annotations

import base64
import itertools
import re
import time

import pyotp
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import tokens
from oauth import services as oauth
from oauth.models import OAuthClient
from organizations import services
from organizations.models import TOKEN_PREFIX, Organization, ProvisioningToken
from staffauth import mfa as staff_mfa

_sequence = itertools.count(1)

# The secret scanners' pattern for a provisioning token, as the README publishes it.
TOKEN_PATTERN = re.compile(r"\bk2p_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b")
TENANT_A = "11111111-2222-3333-4444-555555555555"
TENANT_B = "66666666-7777-8888-9999-aaaaaaaaaaaa"


def make_staff(username: str | None = None, password: str = "staff-password-1") -> AbstractUser:
    """A staff superuser enrolled with an authenticator app (TOTP), as the admin requires."""
    n = next(_sequence)
    user = get_user_model().objects.create_user(
        username=username or f"staff{n}",
        password=password,
        is_staff=True,
        is_superuser=True,
        email=f"staff{n}@kno2.example",
    )
    staff_mfa.enrol_totp(user)
    return user


def totp_code(username: str, secret: str | None = None) -> str:
    """The code the user's authenticator app shows, computed with pyotp from the enrolled secret.

    django-otp accepts each 30-second step once, within one step either side of now; a second
    sign-in in the same step uses the next step's code, as a person waiting for the next code
    would (sleeping only when even that one is used up).
    """
    device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
    if device is None:
        return ""
    secret = secret or base64.b32encode(device.bin_key).decode()
    now_step = int(time.time()) // device.step
    step = max(now_step, device.last_t + 1)
    if step > now_step + device.tolerance:
        time.sleep((step - device.tolerance) * device.step - time.time() + 0.1)
    return pyotp.TOTP(secret, interval=device.step).at(step * device.step)


def make_organization(
    *,
    name: str | None = None,
    slug: str | None = None,
    tenant_id: str | None = TENANT_A,
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
    organization: Organization,
    *,
    label: str = "Azure AD",
    expires_days: int | None = None,
) -> tuple[ProvisioningToken, str]:
    return services.issue_token(organization, actor=None, label=label, expires_days=expires_days)


def make_oauth_client(
    organization: Organization,
    *,
    label: str = "Entra",
    expires_days: int | None = None,
) -> tuple[OAuthClient, str]:
    """A client-credentials client of ``organization`` and its secret's plaintext."""
    client, _, plaintext = oauth.issue_oauth_client(
        organization, actor=None, label=label, expires_days=expires_days
    )
    return client, plaintext


def make_workload_identity(
    organization: Organization,
    issuer,
    *,
    subject: str = "5d3e0c3a-0000-4c6e-9b1a-5f1e2d3c4b5a",
    audience: str = "api://kno2-scim",
    jwks_url: str = "",
) -> OAuthClient:
    """Workload identity federation of ``organization`` with ``issuer`` (an ``EntraLikeIssuer``),
    whose base URL must be ``settings.ENTRA_AUTHORITY_HOST``."""
    return oauth.configure_workload_identity(
        organization,
        issuer=issuer.issuer(str(organization.sso_tenant_id)),
        subject=subject,
        audience=audience,
        jwks_url=jwks_url,
        actor=None,
    )


def forged_token_for(key: str) -> str:
    """A well-formed token with ``key`` and a valid checksum but a secret nobody issued."""
    return tokens.build_token(key, TOKEN_PREFIX)


def sign_in(
    client, login_path: str, username: str, password: str, otp_token: str | None = None
) -> bool:
    """Sign in through the login form, as a person (and django-axes) would. On the admin's form
    the second factor is the user's current authenticator code unless ``otp_token`` is given."""
    data = {"username": username, "password": password}
    if login_path.startswith("/admin/"):
        data["otp_token"] = totp_code(username) if otp_token is None else otp_token
    client.post(login_path, data)
    return "_auth_user_id" in client.session


def same_key_wrong_secret(plaintext: str) -> str:
    """A well-formed credential with ``plaintext``'s prefix and key and a valid checksum, but
    another secret: only the secret comparison can refuse it (``k2p_`` tokens, ``k2h_`` keys)."""
    prefix = plaintext[:4]
    parsed = tokens.parse_token(plaintext, prefix)
    assert parsed is not None, "not a well-formed credential"
    forged = tokens.build_token(parsed.key, prefix)
    assert forged != plaintext and tokens.parse_token(forged, prefix) is not None
    return forged


def staff_sign_in(client, user: AbstractUser, password: str = "staff-password-1"):
    """``client`` signed in to the admin as ``user`` with password and authenticator code."""
    assert sign_in(client, "/admin/login/", user.get_username(), password)
    return client
