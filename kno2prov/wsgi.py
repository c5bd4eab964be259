"""WSGI entry point, served by gunicorn (``gunicorn kno2prov.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kno2prov.settings")

application = get_wsgi_application()
