"""``core.reveal``: a new secret is shown once, and sealed while it waits in the session."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.backends.db import SessionStore

from core import reveal

pytestmark = pytest.mark.django_db

SECRET = "k2p_ABCDEFGHIJKL_abcdefghijklmnopqrstuvwxyz012345zzzzzz"


@pytest.fixture
def session():
    store = SessionStore()
    store.create()
    return store


def test_a_stashed_secret_is_shown_once(session):
    reveal.stash(session, "provisioning-token", 7, SECRET)

    assert reveal.pop(session, "provisioning-token", 7) == SECRET
    assert reveal.pop(session, "provisioning-token", 7) is None


def test_the_secret_is_not_in_the_stored_session(session):
    reveal.stash(session, "provisioning-token", 7, SECRET)
    session.save()

    stored = SessionStore(session_key=session.session_key)
    raw = json.dumps(stored.load())
    assert SECRET not in raw
    assert SECRET[17:] not in raw  # not even the secret part alone


def test_a_secret_longer_than_one_pad_round_trips(session):
    long_secret = "whsec_" + "x" * 500

    reveal.stash(session, "webhook-secret", 1, long_secret)

    assert reveal.pop(session, "webhook-secret", 1) == long_secret


def test_a_secret_is_only_shown_for_its_own_purpose_and_row(session):
    reveal.stash(session, "oauth-client-secret", 3, SECRET)

    assert reveal.pop(session, "provisioning-token", 3) is None
    assert reveal.pop(session, "oauth-client-secret", 4) is None
    assert reveal.pop(session, "oauth-client-secret", 3) == SECRET


def test_the_repr_of_a_shown_secret_hides_its_secret_part(session):
    reveal.stash(session, "provisioning-token", 7, SECRET)

    assert SECRET[17:] not in repr(reveal.pop(session, "provisioning-token", 7))
