from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Stable cursor pages over the primary key; ``?page_size=`` up to 200.

    Ordering by the primary key keeps pages stable while rows are added and
    needs no extra index.
    """

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 200
