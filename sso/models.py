"""SAML single sign-on to the portal: one identity provider per organization, and its log.

The service provider's own values (entity id, ACS URL, sign-on URL, metadata URL) are derived
from ``PUBLIC_BASE_URL`` and the organization's ``public_id``, never stored, so they cannot drift
from what the customer pasted into Entra and never change when the slug is renamed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from organizations.models import Organization
from scim.identity import identity_key
from scim.models import IDENTITY_KEY_MAX_BYTES


class SsoConfiguration(models.Model):
    """The identity provider an organization's portal administrators sign in through."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sso_configuration"
    )
    enabled = models.BooleanField(
        default=True, help_text="Off: the SSO links refuse to start and SSO sessions end."
    )
    allow_password_sign_in = models.BooleanField(
        "also allow password sign-in",
        default=False,
        help_text="Let this organization's portal administrators also sign in with a password.",
    )
    idp_entity_id = models.CharField("IdP entity id", max_length=500)
    idp_is_entra = models.BooleanField(
        default=True, help_text="The IdP's entity id is an Entra tenant (sts.windows.net)."
    )
    metadata_url = models.URLField("IdP metadata URL", max_length=1000, blank=True)
    metadata_xml = models.TextField("IdP metadata", help_text="The IdP metadata in force.")
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    metadata_refresh_error = models.TextField(blank=True)
    configured_at = models.DateTimeField(default=timezone.now)
    configured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "SSO configuration"

    def __str__(self) -> str:
        return f"SSO for {self.organization}"

    @property
    def group_names(self) -> list[str]:
        return [group.display_name for group in self.portal_groups.all()]


class SsoPortalGroup(models.Model):
    """A provisioned group (by displayName, as Azure provisions it) whose members may sign in.

    Matched to provisioned groups by ``display_name_key``, the SCIM identity key
    (``scim.identity.identity_key``): a portal group is exactly the group a SCIM
    ``displayName eq`` filter finds, on every database.
    """

    configuration = models.ForeignKey(
        SsoConfiguration, on_delete=models.CASCADE, related_name="portal_groups"
    )
    display_name = models.CharField(max_length=255)
    display_name_key = models.CharField(
        max_length=IDENTITY_KEY_MAX_BYTES,
        editable=False,
        help_text="identity_key(display_name): what group matching and uniqueness compare.",
    )

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["configuration", "display_name_key"],
                name="sso_portal_group_unique_key",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: object, **kwargs: object) -> None:
        """Keep ``display_name_key`` in step with ``display_name`` whoever saves the row."""
        self.display_name_key = identity_key(self.display_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "display_name_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", "accepted"
    REFUSED = "refused", "refused"


class RefusalReason(models.TextChoices):
    """Why a sign-in was refused; the label is what staff and the customer read."""

    SSO_DISABLED = "sso_disabled", "single sign-on is switched off for this organization"
    INVALID_RESPONSE = "invalid_response", "the SAML response is not valid"
    BAD_SIGNATURE = "bad_signature", "the signature is missing or not by the IdP's current key"
    WRONG_ISSUER = "wrong_issuer", "the response comes from another identity provider"
    WRONG_AUDIENCE = "wrong_audience", "the assertion is meant for another service provider"
    WRONG_RECIPIENT = "wrong_recipient", "the assertion is addressed to another URL"
    EXPIRED = "expired", "the assertion is outside its validity period"
    UNSOLICITED = (
        "unsolicited",
        "the response answers no sign-in this browser started (a sign-in started at the IdP, "
        "such as Entra's My Apps tile, needs Basic SAML Configuration → Sign on URL set to "
        "our login URL)",
    )
    REPLAYED = "replayed", "the assertion was already used"
    IDP_ERROR = "idp_error", "the identity provider refused the sign-in"
    NOT_PROVISIONED = "not_provisioned", "no provisioned user has this name"
    INACTIVE = "inactive", "the user is deactivated"
    NOT_IN_GROUP = "not_in_group", "not in"
    # What the IdP sends: algorithms and NameID formats (the protocol's side; kept together).
    WEAK_ALGORITHM = (
        "weak_algorithm",
        "the IdP signs with SHA-1; set it to sign with RSA-SHA256 (SHA-256 digests)",
    )
    NAMEID_PERSISTENT = (
        "nameid_persistent",
        "the IdP sent an opaque persistent NameID, not the user's name. In Entra: Attributes & "
        "Claims → Unique User Identifier (Name ID) = user.userprincipalname (or user.mail), "
        "format Email address. In another IdP: send the user's email as the NameID, "
        "format emailAddress",
    )
    NAMEID_TRANSIENT = (
        "nameid_transient",
        "the IdP sent a one-time transient NameID, not the user's name. In Entra: Attributes & "
        "Claims → Unique User Identifier (Name ID) = user.userprincipalname (or user.mail), "
        "format Email address. In another IdP: send the user's email as the NameID, "
        "format emailAddress",
    )
    NAMEID_FORMAT = (
        "nameid_format",
        "the IdP sent a NameID format we cannot match to a provisioned user; send the user's "
        "email as the NameID, format emailAddress (in Entra: Unique User Identifier = "
        "user.userprincipalname)",
    )
    TOO_LARGE = "too_large", "the SAML response is larger than identity providers send"


class SignInAttempt(models.Model):
    """One SSO sign-in attempt the IdP's signature vouched for, accepted or refused with its
    reason. Posts nothing vouched for are only counted (``UnverifiedSignInCount``)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sso_sign_in_attempts"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    name_id = models.CharField("NameID", max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=20, choices=RefusalReason.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="sso_attempt_org_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="accepted", reason="") | ~Q(outcome="accepted"),
                name="sso_attempt_accepted_has_no_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def summary(self) -> str:
        """``jordan@contoso.com was refused: not in Kno2 Admins``."""
        who = self.name_id or "Someone"
        if self.outcome == Outcome.ACCEPTED:
            return f"{who} signed in"
        if self.reason == RefusalReason.NOT_IN_GROUP:
            return f"{who} was refused: not in {self.detail}"
        text = f"{who} was refused: {self.get_reason_display()}"
        return f"{text} ({self.detail})" if self.detail else text


class UnverifiedSignInCount(models.Model):
    """How many ACS posts of one organization were refused, for one reason, in one hour, before
    any IdP signature vouched for them. Counted, never logged one by one: anyone can post to an
    ACS, so such a post may neither grow the database nor put its text in the customer's log."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sso_unverified_sign_in_counts"
    )
    hour = models.DateTimeField(help_text="The start of the hour counted.")
    reason = models.CharField(max_length=20, choices=RefusalReason.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "hour", "reason"], name="sso_unverified_count_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.hour:%Y-%m-%d %H}:00 {self.reason} {self.count}"


class UsedAssertion(models.Model):
    """Assertion ids already accepted: the unique index refuses a replay on every worker."""

    assertion_id = models.CharField(max_length=255, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.assertion_id
