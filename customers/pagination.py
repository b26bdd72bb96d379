"""Pagination of the API's lists, its envelope documented field by field in the schema.

Kept apart from customers/api.py because DRF reads DEFAULT_PAGINATION_CLASS while its own generic
views are being defined, so this module must import nothing but DRF's pagination.
"""

from rest_framework.pagination import PageNumberPagination

PAGE_FIELD_HELP = {
    "count": "How many records match, over all pages.",
    "next": "URL of the next page; null on the last.",
    "previous": "URL of the previous page; null on the first.",
    "results": "The records of this page.",
}


def document_page(schema: dict) -> dict:
    """A paginated list's envelope in the schema, with each field described."""
    for name, spec in schema.get("properties", {}).items():
        spec.setdefault("description", PAGE_FIELD_HELP.get(name, ""))
    return schema


class DocumentedPageNumberPagination(PageNumberPagination):
    """Numbered pages (the default), with page_size up to 500 and the envelope documented."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response_schema(self, schema):
        return document_page(super().get_paginated_response_schema(schema))
