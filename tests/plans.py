"""Query-plan assertions for list pages: the page is chosen on an index with LIMIT first,
never by sorting or grouping the whole scope.

``assert_page_plan(queryset)`` explains the queryset's SQL on the test database:

* PostgreSQL (``EXPLAIN (FORMAT JSON)``): the top node is a Limit, and no Sort, Aggregate,
  hash or group node sits between it and the scan of the listed table: the rows come out
  of an index in page order and the scan stops after the page. Correlated subqueries
  (a count per row) are allowed: they run for the page's rows only.
* SQLite (``EXPLAIN QUERY PLAN``): no temporary B-tree for ORDER BY or GROUP BY, the
  SQLite signs of sorting or grouping every row before the LIMIT.

Give the page as it is run (ordered and sliced); statistics decide the plan, so the helper
runs ANALYZE on the tables first, as production's autovacuum keeps them.
"""

from __future__ import annotations

import json

from django.db import connection

# nodes that read every row below them before the first comes out
_WHOLE_SCOPE_NODES = {"Sort", "Aggregate", "Group", "WindowAgg"}


def _pg_nodes(node, *, under_subplan=False):
    """Yield (node type, whether it is inside a per-row subplan) for the plan tree."""
    yield node["Node Type"], under_subplan
    for child in node.get("Plans", ()):
        subplan = under_subplan or child.get("Parent Relationship") == "SubPlan"
        yield from _pg_nodes(child, under_subplan=subplan)


def explain(queryset) -> object:
    sql, params = queryset.query.sql_with_params()
    tables = {alias.table_name for alias in queryset.query.alias_map.values()}
    with connection.cursor() as cursor:
        for table in sorted(tables | {queryset.model._meta.db_table}):
            cursor.execute(f'ANALYZE "{table}"')  # the statistics production keeps
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
            return json.loads(plan) if isinstance(plan, str) else plan
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


def assert_page_plan(queryset) -> None:
    """Fail if the page query sorts or groups the whole scope (see the module docstring)."""
    if queryset.query.high_mark is None:
        raise AssertionError("give the page query sliced, as the list runs it")
    plan = explain(queryset)
    if connection.vendor == "postgresql":
        top = plan[0]["Plan"]
        assert top["Node Type"] == "Limit", json.dumps(plan, indent=1)
        offending = [
            kind
            for kind, in_subplan in _pg_nodes(top)
            if kind in _WHOLE_SCOPE_NODES and not in_subplan
        ]
        assert not offending, f"{offending} before the LIMIT:\n{json.dumps(plan, indent=1)}"
    else:
        steps = "\n".join(plan)
        assert "TEMP B-TREE" not in steps.upper(), steps
