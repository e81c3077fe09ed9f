"""Passport pages: the public passport pages (no login, behind QR codes and GS1 Digital Links,
routed by ``passport.urls``) and the recycler console's passport list, audit export and the lot
page's passport panel (routed by ``passport.web.urls`` under ``/app/``)."""
