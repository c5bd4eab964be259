from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from demo.replay import DEMO_DOMAIN, replay_initial_cycle
from organizations import services
from organizations.models import Organization
from organizations.staffcommand import OrganizationCommand
from portal import services as portal_services
from portal.models import SyncEvent
from staffauth import mfa as staff_mfa

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Clinic"
# A made-up directory id: the demo never talks to a real Entra tenant.
DEMO_ISSUER = "https://sts.windows.net/de300000-0000-4000-8000-00000000d3e0/"
DEMO_TOKEN_LABEL = "Quick start demo"  # noqa: S105  (a label, not a secret)
ADMIN_USERNAME = "admin"
TENANT_ADMIN_USERNAME = "demo.admin"


class Command(OrganizationCommand):
    help = (
        "Set up the quick-start demo; safe to run again. Creates (or reuses) the demo "
        "organization with an SSO issuer and provisioning enabled, a staff superuser 'admin' "
        "(with a fresh authenticator (TOTP) secret and recovery code, since the admin requires "
        "a second factor) and a tenant admin 'demo.admin' with freshly generated passwords, "
        "revokes the demo "
        "tokens issued by earlier runs and issues a new one, replays an Azure AD initial "
        "provisioning cycle into the organization the first time (so the portal has history to "
        "show), then prints the URLs, logins, tenant URL and token (--json: one JSON object). "
        "For local development: refused while DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (it resets the admin password).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    @sensitive_variables("password", "tenant_password", "plaintext", "enrolment", "recovery_code")
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "bootstrap_demo resets the password of the superuser 'admin' and prints it, "
                "so it only runs with DEBUG=true (local development). Pass --force to run anyway."
            )
        password = secrets.token_urlsafe(12)
        tenant_password = secrets.token_urlsafe(12)
        with transaction.atomic():
            admin = self._ensure_admin(password)
            # The admin requires a second factor: enrol the demo admin afresh each run.
            enrolment = staff_mfa.enrol_totp(admin, replace=True)
            recovery_code = staff_mfa.new_recovery_codes(admin)[0]
            organization = self._ensure_organization()
            self._ensure_tenant_admin(organization, tenant_password)
            revoked = [
                services.revoke_token(token, actor=self.actor)
                for token in organization.tokens.active().filter(label=DEMO_TOKEN_LABEL)
            ]
            token, plaintext = services.issue_token(
                organization, actor=self.actor, label=DEMO_TOKEN_LABEL
            )
        # After the commit: the replayed requests authenticate with the new token.
        replay = None
        if not SyncEvent.objects.for_organization(organization).exists():
            # The replayed failures are the demo's point, not setup errors: their WARNING lines
            # would bury the logins printed below, so only errors are logged meanwhile.
            logging.disable(logging.WARNING)
            try:
                replay = replay_initial_cycle(organization, plaintext)
            finally:
                logging.disable(logging.NOTSET)

        base = settings.PUBLIC_BASE_URL
        result = {
            "admin_url": f"{base}{reverse('admin:index')}",
            "staff_username": ADMIN_USERNAME,
            "staff_password": password,
            "staff_totp_code": staff_mfa.current_code(enrolment.device),
            "staff_totp_secret": enrolment.secret,
            "staff_recovery_code": recovery_code,
            "portal_url": f"{base}{reverse('portal:dashboard', args=[organization.slug])}",
            "tenant_admin_username": TENANT_ADMIN_USERNAME,
            "tenant_admin_password": tenant_password,
            "organization": organization.name,
            "organization_slug": organization.slug,
            "tenant_url": organization.scim_base_url,
            "token": plaintext,
            "token_expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_tokens": [old.display_prefix for old in revoked],
            "demo_requests": replay.requests if replay else 0,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write("Kno2 provisioning portal: quick-start demo is ready.\n")
        for old in revoked:
            self.stdout.write(
                f"Revoked the previous demo token {old.display_prefix}: paste the new one "
                "wherever you used it."
            )
        self.stdout.write(f"Organization: {organization.name} (provisioning enabled)")
        self.stdout.write(f"Tenant URL:   {organization.scim_base_url}")
        self.stdout.write(f"Secret Token: {plaintext}")
        self.stdout.write(f"Expires:      {self.format_time(token.expires_at)}")
        if replay is not None:
            self.stdout.write(
                f"Demo history: an Azure AD initial cycle of {replay.requests} requests "
                f"({replay.failures} of them failing the way they often do)."
            )
        # The logins last, where the terminal leaves them, with a TOTP code read just now.
        self.stdout.write("")
        self.stdout.write(f"Admin (Kno2 staff): {result['admin_url']}")
        self.stdout.write(f"  Login:          {ADMIN_USERNAME}")
        self.stdout.write(f"  Password:       {password}")
        self.stdout.write(f"  Code:           {staff_mfa.current_code(enrolment.device)}")
        self.stdout.write(f"  Recovery code:  {recovery_code}")
        self.stdout.write(f"  TOTP secret:    {enrolment.secret}")
        self.stdout.write(
            "  The admin asks for a code after the password: type the code above within a "
            "minute, or the recovery code (it works once), or add the TOTP secret to an "
            f"authenticator app ({enrolment.uri})."
        )
        self.stdout.write(f"Portal (tenant admin): {result['portal_url']}")
        self.stdout.write(f"  Login:          {TENANT_ADMIN_USERNAME}")
        self.stdout.write(f"  Password:       {tenant_password}")

    def _ensure_admin(self, password: str) -> AbstractBaseUser:
        user, _ = get_user_model().objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@localhost"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return user

    def _ensure_tenant_admin(self, organization: Organization, password: str) -> None:
        user = get_user_model().objects.filter(username=TENANT_ADMIN_USERNAME).first()
        if user is None:
            user = portal_services.create_tenant_admin(
                username=TENANT_ADMIN_USERNAME,
                email=f"{TENANT_ADMIN_USERNAME}@{DEMO_DOMAIN}",
                organizations=[organization],
                actor=None,
            )
        else:
            portal_services.set_memberships(user, [organization], actor=None)
        user.is_active = True
        user.set_password(password)
        user.save()

    def _ensure_organization(self) -> Organization:
        organization = Organization.objects.filter(slug=DEMO_SLUG).first()
        if organization is None:
            return services.create_organization(
                name=DEMO_NAME,
                slug=DEMO_SLUG,
                issuer=DEMO_ISSUER,
                enable_provisioning=True,
                actor=self.actor,
            )
        if not organization.sso_issuer:
            services.set_sso_issuer(organization, DEMO_ISSUER, actor=self.actor)
        services.enable_provisioning_for(organization, actor=self.actor)
        return organization
