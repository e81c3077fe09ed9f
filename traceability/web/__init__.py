"""The recycler console, mounted at ``/app/``: its shared layout (base template, app.css) and the
traceability pages (lots, events, operation forms). Carbon and passport add their own pages and
the lot page's panels; ``config.urls`` joins every app's pages under the one ``web`` namespace."""
