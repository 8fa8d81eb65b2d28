"""The WSGI entry point gunicorn serves: ``gunicorn sor.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sor.settings")

application = get_wsgi_application()
