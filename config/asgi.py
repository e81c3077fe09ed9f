"""The ASGI entry point: HTTP to Django, WebSockets (EPCIS query subscriptions) to Channels.

Serve it with an ASGI server, for example ``uvicorn config.asgi:application`` (see README); the
WSGI entry point (config/wsgi.py, gunicorn) serves everything but the WebSockets.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# This process serves requests: its database statements get DB_STATEMENT_TIMEOUT_MS.
os.environ.setdefault("LOOPTRACE_SERVES_REQUESTS", "1")
django_application = get_asgi_application()

# Imported once Django is set up: the consumer reads models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from traceability.epcis.consumers import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({"http": django_application, "websocket": URLRouter(websocket_urlpatterns)})
