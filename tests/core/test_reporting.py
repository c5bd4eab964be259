import sys

from django.test import RequestFactory
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from core import tokens

# Filled by the failing function, read only after the report is made: no frame on the traceback
# holds the secret except the one that marks it sensitive.
_issued: dict[str, str] = {}


@sensitive_variables("plaintext")
def _issue_token_then_fail() -> None:
    plaintext = tokens.build_token(tokens.generate_key(), "k2p_")
    _issued["token"] = plaintext
    raise RuntimeError("rendering the token page failed")


def _report(request) -> str:
    try:
        _issue_token_then_fail()
    except RuntimeError:
        return ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    raise AssertionError("expected the failure")


def _debug_page(settings, authorization: str = "") -> str:
    settings.DEBUG = True
    return _report(RequestFactory().get("/admin/", HTTP_AUTHORIZATION=authorization))


def test_debug_error_page_hides_sensitive_variables(settings):
    page = _debug_page(settings)
    assert "rendering the token page failed" in page
    assert _issued["token"] not in page


def test_debug_error_page_hides_the_authorization_header(settings):
    page = _debug_page(settings, authorization="Bearer k2p_presented_by_azure")
    assert "HTTP_AUTHORIZATION" in page
    assert "k2p_presented_by_azure" not in page
