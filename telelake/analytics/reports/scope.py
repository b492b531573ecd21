"""A report for some dates and one chat (``report --since --until --chat``), still Athena SQL.

The reports read whole tables; a scope rewrites each table they read into
the same table restricted to the dates and the chat (``(SELECT * FROM
"telegram" WHERE context_date BETWEEN ... AND chat_id = ...)``, aliased as
before), so the answer is the report run on a lake holding only those
days, and the SQL stays Athena SQL that runs as it is on Athena (printed by
``report --name X --sql``). Partition pruning still applies: the filter is
on the partition column.

Some reports need the days before ``since`` to be right: who is a new
poster, how many posted in the 30 days up to a day, which week a person
first posted in, who has been silent for how long. Those read everything up
to ``until`` and keep their rows from ``since`` on (by the column named in
:data:`HISTORY`); ``period_comparison`` compares ``since..until`` with as
many days before. Parameters (``--days``, ``--gap``) replace the values of
a report's one-row ``params`` CTE.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import sqlglot
from sqlglot import exp

from telelake.analytics.reports.report import Report
from telelake.errors import UsageError
from telelake.lake.tables import PARTITION_COLUMN, TABLES

# report -> the column its rows are cut at `since` by (None: not cut).
HISTORY: dict[str, str | None] = {
    "daily_active_users": "context_date",
    "engagement": "context_date",
    "posters_vs_members": "context_date",
    "retention_cohorts": "cohort_week",
    "inactive_members": None,
    "period_comparison": None,
}
_ALIASES = {"chatbot": "telegram", "messages": "telegram"}


@dataclass(frozen=True)
class Scope:
    """Dates (inclusive) and a chat to restrict reports to, and their parameters."""

    since: date | None = None
    until: date | None = None
    chat: int | None = None
    days: int | None = None
    gap_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise UsageError(f"--since {self.since} is after --until {self.until}")
        if self.days is not None and self.days < 0:
            raise UsageError(f"--days must be 0 or more, not {self.days}")
        if self.gap_minutes is not None and self.gap_minutes < 1:
            raise UsageError(f"--gap must be at least 1 minute, not {self.gap_minutes}")

    @property
    def empty(self) -> bool:
        return self == Scope()


def _date(day: date) -> exp.Expr:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("date"))


def _restricted(table: str, since: date | None, until: date | None, chat: int | None) -> str:
    columns = {name for name, _ in TABLES[table].columns} | {PARTITION_COLUMN}
    conditions = []
    if since is not None:
        conditions.append(f"{PARTITION_COLUMN} >= DATE '{since.isoformat()}'")
    if until is not None:
        conditions.append(f"{PARTITION_COLUMN} <= DATE '{until.isoformat()}'")
    if chat is not None and "chat_id" in columns:
        conditions.append(f"chat_id = {int(chat)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f'SELECT * FROM "{table}"{where}'


def _tables_restricted(
    tree: exp.Expr, since: date | None, until: date | None, chat: int | None
) -> exp.Expr:
    if since is None and until is None and chat is None:
        return tree
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Table) or node.db or node.name in ctes:
            return node
        table = _ALIASES.get(node.name, node.name)
        if table not in TABLES:
            return node
        subquery = sqlglot.parse_one(_restricted(table, since, until, chat), read="athena")
        alias = node.alias or node.name
        return exp.Subquery(this=subquery, alias=exp.TableAlias(this=exp.to_identifier(alias)))

    return tree.transform(rewrite)


def _with_params(tree: exp.Expr, values: dict[str, exp.Expr]) -> exp.Expr:
    """``tree`` with the named values of its ``params`` CTE replaced."""
    if not values:
        return tree
    for cte in tree.find_all(exp.CTE):
        if cte.alias_or_name != "params":
            continue
        select = cte.this
        for projection in select.expressions:
            if isinstance(projection, exp.Alias) and projection.alias in values:
                projection.set("this", values[projection.alias])
    return tree


def _params(report: Report, scope: Scope) -> dict[str, exp.Expr]:
    values: dict[str, exp.Expr] = {}
    if report.name == "inactive_members" and scope.days is not None:
        values["silent_days"] = exp.Literal.number(scope.days)
    if report.name == "conversations" and scope.gap_minutes is not None:
        values["gap_seconds"] = exp.Literal.number(scope.gap_minutes * 60)
    if report.name == "period_comparison":
        if scope.since is not None:
            values["period_start"] = _date(scope.since)
        if scope.until is not None:
            values["period_end"] = _date(scope.until)
    return values


def scoped(report: Report, scope: Scope) -> Report:
    """``report`` restricted to ``scope`` (the same report when the scope is empty)."""
    params = _params(report, scope)
    if scope.since is None and scope.until is None and scope.chat is None and not params:
        return report
    tree = sqlglot.parse_one(report.sql, read="athena")
    history = report.name in HISTORY
    since = None if history else scope.since
    until = None if report.name == "period_comparison" else scope.until
    tree = _tables_restricted(tree, since, until, scope.chat)
    tree = _with_params(tree, params)
    sql = tree.sql(dialect="athena", pretty=True)
    cut = HISTORY.get(report.name)
    if history and cut is not None and scope.since is not None:
        bound = f"DATE '{scope.since.isoformat()}'"
        if cut == "cohort_week":
            bound = f"date_trunc('week', {bound})"
        sql = f'SELECT * FROM (\n{sql}\n) WHERE "{cut}" >= {bound}{_outer_order(tree)}'
    return replace(report, sql=sql)


def _outer_order(tree: exp.Expr) -> str:
    """The query's own ORDER BY, for a query around it (Trino ignores an inner one):
    its columns unqualified, so they name the inner query's output."""
    order = tree.args.get("order")
    if not isinstance(order, exp.Order):
        return ""
    outer = order.copy().transform(
        lambda node: exp.column(node.name) if isinstance(node, exp.Column) else node
    )
    return "\n" + outer.sql(dialect="athena")
