import pytest
from django.db import DatabaseError


@pytest.mark.django_db
def test_readiness_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_liveness_needs_no_database(client, django_db_blocker):
    with django_db_blocker.block():
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_answers_503_when_the_database_fails(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_health_endpoints_are_never_cached(client, django_db_blocker):
    with django_db_blocker.block():
        response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
