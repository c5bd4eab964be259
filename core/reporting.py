"""Error reports that never show secrets, even with ``DEBUG`` on.

Django's default filter hides ``sensitive_variables``, ``sensitive_post_parameters`` and
secret-looking settings and headers (``Authorization`` included) only while ``DEBUG`` is off.
The quick start runs with ``DEBUG`` on, where a token being issued or a bearer token being
checked could otherwise appear on the debug page.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        return True
