import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process serves requests: its database statements get DB_STATEMENT_TIMEOUT_MS.
os.environ.setdefault("LOOPTRACE_SERVES_REQUESTS", "1")
application = get_wsgi_application()
