import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from core.requestid import RequestIdFilter, current_request_id


def test_every_response_carries_a_request_id(client, django_db_blocker):
    with django_db_blocker.block():
        first = client.get("/healthz")
        second = client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_client_request_id_is_kept(client, django_db_blocker):
    with django_db_blocker.block():
        response = client.get("/healthz", HTTP_X_REQUEST_ID="azure-1234abcd")
    assert response["X-Request-ID"] == "azure-1234abcd"


@pytest.mark.parametrize(
    "incoming", ["x", "has spaces in it", "<script>alert(1)</script>", "a" * 65]
)
def test_an_odd_client_request_id_is_replaced(client, django_db_blocker, incoming):
    with django_db_blocker.block():
        response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming


def test_log_lines_written_during_a_request_carry_its_id(client, django_db_blocker, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="kno2prov.access"), django_db_blocker.block():
        response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-abcdef12")
    access = [r for r in caplog.records if r.name == "kno2prov.access"]
    assert response.status_code == 200
    assert [r.request_id for r in access] == ["trace-abcdef12"]
    assert access[0].status == 200


def test_log_lines_outside_a_request_have_a_placeholder_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    RequestIdFilter().filter(record)
    assert record.request_id == current_request_id.get() == "-"


def test_json_log_format_puts_the_request_id_in_each_line(settings):
    options = dict(settings.LOGGING["formatters"]["json"])
    options.pop("()")
    formatter = JsonFormatter(**options)
    record = logging.LogRecord("scim", logging.INFO, __file__, 1, "user created", (), None)
    record.request_id = "req-12345678"
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "req-12345678"
    assert line["message"] == "user created"
    assert line["level"] == "INFO"


@pytest.fixture
def console_log():
    """What the project's configured console handler writes, as text."""
    import io

    from core.requestid import QueryRedactionFilter

    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, QueryRedactionFilter) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_access_tokens_and_filter_values_never_reach_the_logs(client, console_log):
    response = client.get(
        "/scim/v2/not-a-tenant/Users",
        {"access_token": "k2p_leakedleaked_secret", "filter": 'userName eq "ann@clinic.test"'},
    )

    written = console_log.getvalue()
    assert response.status_code == 404
    assert "Not Found: /scim/v2/not-a-tenant/Users" in written
    assert "leaked" not in written
    assert "ann@clinic.test" not in written


@pytest.mark.django_db
def test_a_set_password_link_in_a_url_never_reaches_the_logs(client, console_log):
    secret_part = "S" * 38
    with_link = f"/portal/set-password/k2s_abcdefghijkl_{secret_part}/"

    client.get(with_link)

    written = console_log.getvalue()
    assert "/portal/set-password/k2s_abcdefghijkl_[redacted]/" in written
    assert secret_part not in written
