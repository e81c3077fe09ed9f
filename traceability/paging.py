"""How many rows one list response may carry, on every interface.

Every list (the API's pages, EPCIS ``perPage``, PACT ``limit``) answers at most
``MAX_PAGE_SIZE`` rows, whatever the caller asks for: a larger request is clamped to the
cap, not refused, and the response links to the next page as usual. Clamping is what the
standards ask of the interfaces that have one: EPCIS 2.0 says ``perPage`` "does not mandate
that the server reaches this limit" and allows a global upper limit the client cannot
override; PACT lets a host return fewer footprints than ``limit``; DRF's own page-size caps
clamp too. 1,000 rows is about 150 kB of ledger entries or EPCIS events: one request can
no longer ask for the whole ledger (6.8 MB for the demo) and make the server build it.
The web console's lists show fixed pages of their own size, below the cap.
"""

MAX_PAGE_SIZE = 1000
# Rows of a page when the caller names no size (the EPCIS default, 30, is its standard's).
DEFAULT_PAGE_SIZE = 100


def page_size(requested: int) -> int:
    """The rows a page holds for a request of ``requested`` (at least 1): clamped to the cap."""
    return min(requested, MAX_PAGE_SIZE)
