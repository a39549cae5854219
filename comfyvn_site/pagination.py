"""The API's pagination: DRF's limit/offset, with a ceiling on the page size.

Without one, `?limit=100000000000000000000000` reached PostgreSQL as a LIMIT past bigint and answered 500; a page
of a million rows would also have been rendered in full. (An offset past the row count is an empty page: DRF does
not query for it.)
"""
from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = 1000
