"""``name__fragment``: the name contains a 1- or 2-character fragment.

pg_trgm cannot index a fragment that short (it makes no trigram), so on PostgreSQL
this lookup asks the name's grams instead (``Resident.name_grams``, every 1- and
2-character substring of the name, kept by ``core.text.name_search_keys``):
``string_to_array(name_grams, ' ') @> ARRAY[fragment]``, which the GIN index
``resident_name_grams`` (migration 0004) answers. For such a fragment, "one of the
name's grams" is exactly "in the name", so no LIKE recheck is needed.

Anywhere else (SQLite), and for a longer fragment, it is ``name__contains``, so the
same rows are found either way.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db.models.expressions import Col
from django.db.models.lookups import Contains

GRAMS_FIELD = "name_grams"
# The indexed expression; a query must spell it the same way to use the index.
GRAMS_ARRAY = "string_to_array({column}, ' ')"


class NameFragment(Contains):
    lookup_name = "fragment"

    def _grams_column(self):
        """The grams column of the lhs's row, or None when this lookup cannot use it."""
        if not isinstance(self.lhs, Col) or not self.rhs_is_direct_value():
            return None
        fragment = self.rhs
        if not isinstance(fragment, str) or not 1 <= len(fragment) <= 2 or " " in fragment:
            return None
        try:
            field = self.lhs.target.model._meta.get_field(GRAMS_FIELD)
        except FieldDoesNotExist:
            return None
        return Col(self.lhs.alias, field)

    def as_sql(self, compiler, connection):
        # exactly what name__contains says, on every backend
        return compiler.compile(Contains(self.lhs, self.rhs))

    def as_postgresql(self, compiler, connection):
        column = self._grams_column()
        if column is None:
            return self.as_sql(compiler, connection)
        sql, params = compiler.compile(column)
        return f"{GRAMS_ARRAY.format(column=sql)} @> ARRAY[%s]::text[]", (*params, self.rhs)
