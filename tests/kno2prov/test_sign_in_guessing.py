"""Password guessing on the admin and portal sign-in pages is locked out (django-axes)."""

import pytest
from django.urls import reverse

from portal import services as portal_services
from tests.factories import make_staff, sign_in

PASSWORD = "the-right-password-1"


@pytest.fixture
def staff(db):
    return make_staff(username="kim.staff", password=PASSWORD)


@pytest.fixture
def tenant_admin(organization):
    user = portal_services.create_tenant_admin(
        username="ann.admin",
        email="ann@riverside.test",
        organizations=[organization],
        actor=None,
    )
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _guess(client, path: str, username: str, times: int) -> None:
    for n in range(times):
        assert not sign_in(client, path, username, f"wrong-guess-{n}")


def test_admin_sign_in_is_locked_after_repeated_wrong_passwords(client, settings, staff):
    _guess(client, "/admin/login/", "kim.staff", settings.AXES_FAILURE_LIMIT)
    assert not sign_in(client, "/admin/login/", "kim.staff", PASSWORD)


def test_locked_sign_in_answers_with_a_clear_page(client, settings, staff):
    _guess(client, "/admin/login/", "kim.staff", settings.AXES_FAILURE_LIMIT)
    response = client.post("/admin/login/", {"username": "kim.staff", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content


def test_portal_sign_in_is_locked_after_repeated_wrong_passwords(client, settings, tenant_admin):
    login = reverse("portal:login")
    _guess(client, login, "ann.admin", settings.AXES_FAILURE_LIMIT)
    assert not sign_in(client, login, "ann.admin", PASSWORD)


def test_a_few_mistakes_do_not_lock_the_account(client, settings, staff):
    _guess(client, "/admin/login/", "kim.staff", settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "/admin/login/", "kim.staff", PASSWORD)


def test_guessing_from_one_address_does_not_lock_the_user_out_elsewhere(client, settings, staff):
    from django.test import Client

    attacker = Client(REMOTE_ADDR="203.0.113.66")
    _guess(attacker, "/admin/login/", "kim.staff", settings.AXES_FAILURE_LIMIT + 2)
    assert sign_in(Client(REMOTE_ADDR="198.51.100.10"), "/admin/login/", "kim.staff", PASSWORD)


def test_new_passwords_are_hashed_with_argon2():
    """The tests hash with MD5 for speed; what production is configured with is Argon2, and
    the library it needs is installed."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from kno2prov import settings as configured

    assert configured.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    encoded = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert encoded.startswith("argon2$") and Argon2PasswordHasher().verify(PASSWORD, encoded)
