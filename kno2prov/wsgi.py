"""WSGI entry point, served by gunicorn (``gunicorn kno2prov.wsgi``).

It refuses to start with ``DEBUG`` off while ``SECRET_KEY`` or ``TOKEN_PEPPER`` still has its
development value (``manage.py check --deploy`` reports the same before a deploy).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kno2prov.settings")

application = get_wsgi_application()

from core.checks import refuse_development_secrets  # noqa: E402 (needs Django set up)

refuse_development_secrets()
