"""The API's page classes, each capped at ``MAX_PAGE_SIZE`` rows (see ``traceability.paging``)."""

from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from traceability.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class CappedLimitOffset(LimitOffsetPagination):
    """``?limit=&offset=`` pages; a limit above the cap is clamped to it (DRF's ``max_limit``)."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE


class NewestFirst(CursorPagination):
    """Cursor pages, newest first; ``?page_size=`` above the cap is clamped to it."""

    ordering = "-pk"
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
