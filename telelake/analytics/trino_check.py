"""Type-check Athena SQL as Trino's analyzer does, before DuckDB gets to coerce it.

DuckDB accepts SQL that Athena rejects (``context_date = '2021-01-03'``,
``DATE '2021-01-01' + 1``, ``coalesce(user_id, 'none')``) and answers it:
a silently different result for a query that fails on Athena (DESIGN §6).
:func:`check` types every expression of a parsed, qualified query against
the lake's schema with Trino's rules (:mod:`telelake.analytics.trino_types`
for coercions, :mod:`telelake.analytics.trino_signatures` for functions)
and raises :class:`~telelake.errors.QueryError` with Trino's message where
Trino's analyzer would (``ExpressionAnalyzer``: "Cannot apply operator",
"... must evaluate to a boolean", "All COALESCE operands must be the same
type ...").

The types it finds are kept per node, so the translation's fixes know a
``decimal`` from a ``double`` and the zone of a ``timestamp with time
zone``. A type it cannot work out is ``None``, and nothing is checked
against it: the checker never refuses what it does not understand.
Functions outside the signature table are refused by :mod:`trino_calls`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_calls import call_type
from telelake.analytics.trino_operators import arithmetic, from_sqlglot, literal_type
from telelake.analytics.trino_types import TType
from telelake.analytics.trino_zoned import checked_zone, literal_zone
from telelake.errors import QueryError

Types = dict[int, TType | None]
"""id(node) -> its Trino type (None: not known)."""

_OPERATORS: dict[type[exp.Expr], str] = {
    exp.EQ: "=", exp.NEQ: "=", exp.LT: "<", exp.GT: "<", exp.LTE: "<=", exp.GTE: "<=",
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
}  # fmt: skip
_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.GT, exp.LTE, exp.GTE, exp.NullSafeEQ, exp.NullSafeNEQ)
_EXTRACT_RULES = {
    ("YEAR", "MONTH"): (tt.DATE, tt.TIMESTAMP, tt.TIMESTAMP_TZ, tt.INTERVAL_YM),
    ("DAY",): (tt.DATE, tt.TIMESTAMP, tt.TIMESTAMP_TZ, tt.INTERVAL_DS),
    ("HOUR", "MINUTE", "SECOND"): (tt.TIMESTAMP, tt.TIMESTAMP_TZ, tt.TIME, tt.INTERVAL_DS),
    ("TIMEZONE_HOUR", "TIMEZONE_MINUTE"): (tt.TIMESTAMP_TZ,),
}


class Checker:
    """Types of every expression of one statement; see the module docstring."""

    def __init__(self, schema: Mapping[str, Mapping[str, TType | None]]) -> None:
        self.schema = {name.lower(): dict(columns) for name, columns in schema.items()}
        self.types: Types = {}
        self.outputs: dict[int, list[tuple[str, TType | None]]] = {}

    # --- relations ----------------------------------------------------------

    def run(self, root: exp.Expr) -> Types:
        for scope in traverse_scope(root):
            self._scope(scope)
        return self.types

    def _scope(self, scope: Scope) -> None:
        node = scope.expression
        if isinstance(node, exp.SetOperation):
            self.outputs[id(node)] = self._set_operation(node)
            return
        if isinstance(node, exp.Unnest):
            arrays = [self.type_of(e, scope) for e in node.expressions]
            elements = [c.element if c and c.name == tt.ARRAY else None for c in arrays]
            if node.args.get("offset"):
                elements.append(tt.T_BIGINT)
            names = node.alias_column_names or [f"_col{i}" for i in range(len(elements))]
            self.outputs[id(node)] = list(zip(names, elements, strict=False))
            return
        if not isinstance(node, exp.Select):
            return
        for join in node.args.get("joins") or []:
            if join.args.get("on") is not None:
                self._condition(join.args["on"], scope, "JOIN ON clause")
        for key, what in (("where", "WHERE clause"), ("having", "HAVING clause")):
            clause = node.args.get(key)
            if clause is not None:
                self._condition(clause.this, scope, what)
        columns: list[tuple[str, TType | None]] = []
        for projection in node.expressions:
            columns.append((projection.alias_or_name, self.type_of(projection, scope)))
        self.outputs[id(node)] = columns
        for part in ("group", "order"):
            clause = node.args.get(part)
            for item in clause.expressions if clause is not None else []:
                found = self.type_of(item, scope)
                if part == "order" and found is not None and not found.orderable:
                    raise QueryError(
                        f"Type {found} is not orderable, and therefore cannot be used in ORDER BY"
                    )

    def _condition(self, node: exp.Expr, scope: Scope, what: str) -> None:
        found = self.type_of(node, scope)
        if found is not None and not tt.can_coerce(found, tt.T_BOOLEAN):
            raise QueryError(f"{what} must evaluate to a boolean: actual type {found}")

    def _set_operation(self, node: exp.SetOperation) -> list[tuple[str, TType | None]]:
        left = self._relation(node.this)
        right = self._relation(node.expression)
        if left is None or right is None:
            return left or right or []
        if len(left) != len(right):
            kind = type(node).__name__.upper()
            raise QueryError(
                f"{kind} query has different number of fields: {len(left)}, {len(right)}"
            )
        merged = []
        for index, ((name, a), (_, b)) in enumerate(zip(left, right, strict=True), 1):
            common = a if b is None else b if a is None else tt.common_super_type(a, b)
            if a is not None and b is not None and common is None:
                kind = type(node).__name__.upper()
                raise QueryError(f"column {index} in {kind} query has incompatible types: {a}, {b}")
            merged.append((name, common))
        return merged

    def _relation(self, node: exp.Expr) -> list[tuple[str, TType | None]] | None:
        while isinstance(node, exp.Subquery):
            node = node.this
        return self.outputs.get(id(node))

    def _source_columns(self, source: object) -> dict[str, TType | None] | None:
        if isinstance(source, exp.Table):
            return self.schema.get(source.name.lower())
        if isinstance(source, Scope):
            expression = source.expression
            if isinstance(expression, exp.Values):
                return self._values(expression)
            found = self._relation(expression)
            return dict(found) if found is not None else None
        return None

    def _values(self, node: exp.Values) -> dict[str, TType | None]:
        rows = [
            row.expressions if isinstance(row, exp.Tuple) else [row] for row in node.expressions
        ]
        names = node.alias_column_names or [f"_col{i}" for i in range(len(rows[0]) if rows else 0)]
        columns: dict[str, TType | None] = {}
        for index, name in enumerate(names):
            found: TType | None = tt.T_UNKNOWN
            for row in rows:
                value = self.type_of(row[index], None) if index < len(row) else None
                if found is None or value is None:
                    found = None
                    continue
                common = tt.common_super_type(found, value)
                if common is None:
                    raise QueryError(
                        f"VALUES rows have mismatched types: {found} vs {value} "
                        f"in column {index + 1}"
                    )
                found = common
            columns[name.lower()] = found
        return columns

    def _column(self, node: exp.Column, scope: Scope | None) -> TType | None:
        name = node.name.lower()
        while scope is not None:
            if node.table:
                source = scope.sources.get(node.table)
                if source is not None:
                    return (self._source_columns(source) or {}).get(name)
            elif isinstance(scope.expression, exp.Select):
                # An unqualified name in ORDER BY may be a select alias.
                for projection in scope.expression.expressions:
                    if projection.alias_or_name.lower() == name and projection is not node:
                        return self.types.get(id(projection))
            scope = scope.parent
        return None

    # --- expressions --------------------------------------------------------

    def type_of(self, node: exp.Expr, scope: Scope | None) -> TType | None:
        known = id(node)
        if known in self.types:
            return self.types[known]
        found = self._type(node, scope)
        self.types[known] = found
        return found

    def _all(self, nodes: Iterable[exp.Expr], scope: Scope | None) -> list[TType | None]:
        return [self.type_of(n, scope) for n in nodes]

    def _type(self, node: exp.Expr, scope: Scope | None) -> TType | None:
        if isinstance(node, (exp.Alias, exp.Paren, exp.Ordered, exp.Try)):
            return self.type_of(node.this, scope)
        if isinstance(node, exp.Literal):
            return literal_type(node)
        if isinstance(node, exp.Null):
            return tt.T_UNKNOWN
        if isinstance(node, exp.Boolean):
            return tt.T_BOOLEAN
        if isinstance(node, exp.Column):
            return self._column(node, scope)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return self._cast(node, scope)
        if isinstance(node, _COMPARISONS):
            return self._compare(node, scope)
        if isinstance(node, (exp.And, exp.Or)):
            for term in (node.this, node.expression):
                self._expect_boolean(term, scope, "Logical expression term")
            return tt.T_BOOLEAN
        if isinstance(node, exp.Not):
            self._expect_boolean(node.this, scope, "Value of logical NOT expression")
            return tt.T_BOOLEAN
        if isinstance(node, tuple(_OPERATORS)):
            return self._arithmetic(node, scope)
        if isinstance(node, exp.Neg):
            found = self.type_of(node.this, scope)
            if found is not None and not found.is_a(
                *tt.NUMERIC, tt.UNKNOWN, tt.INTERVAL_DS, tt.INTERVAL_YM
            ):
                raise QueryError(f"Cannot negate {found}")
            return found
        if isinstance(node, (exp.Is, exp.Exists)):
            self.type_of(node.this, scope)
            return tt.T_BOOLEAN
        if isinstance(node, (exp.Like, exp.ILike)):
            if isinstance(node, exp.ILike):
                raise QueryError(
                    "ILIKE is not Trino SQL: Athena would fail to parse it; use lower(x) LIKE"
                )
            for side, what in (
                (node.this, "Left side of LIKE expression"),
                (node.expression, "Pattern for LIKE expression"),
            ):
                self._expect(side, scope, tt.T_VARCHAR, what)
            return tt.T_BOOLEAN
        if isinstance(node, exp.In):
            return self._in(node, scope)
        if isinstance(node, exp.Between):
            types = self._all((node.this, node.args["low"], node.args["high"]), scope)
            if None not in types and _common(types) is None:
                a, b, c = types
                raise QueryError(f"Cannot check if {a} is BETWEEN {b} and {c}")
            return tt.T_BOOLEAN
        if isinstance(node, exp.Coalesce):
            return self._single(node.this, node.expressions, scope, "All COALESCE operands")
        if isinstance(node, exp.Case):
            return self._case(node, scope)
        if isinstance(node, exp.If):
            self._expect_boolean(node.this, scope, "IF condition")
            true, false = node.args.get("true"), node.args.get("false")
            a = self.type_of(true, scope) if true is not None else tt.T_UNKNOWN
            b = self.type_of(false, scope) if false is not None else tt.T_UNKNOWN
            if a is None or b is None:
                return a or b
            common = tt.common_super_type(a, b)
            if common is None:
                raise QueryError(f"Result types for IF must be the same: {a} vs {b}")
            return common
        if isinstance(node, exp.Nullif):
            a, b = self._all((node.this, node.expression), scope)
            if a is not None and b is not None and tt.common_super_type(a, b) is None:
                raise QueryError(f"Types are not comparable with NULLIF: {a} vs {b}")
            return a
        if isinstance(node, exp.Array):
            element = self._single(None, node.expressions, scope, "All ARRAY elements")
            return tt.array(element) if element is not None else None
        if isinstance(node, exp.Extract):
            return self._extract(node, scope)
        if isinstance(node, exp.Subquery):
            relation = self._relation(node.this)
            return relation[0][1] if relation else None
        if isinstance(node, exp.Window):
            for part in node.args.get("partition_by") or []:
                self.type_of(part, scope)
            order = node.args.get("order")
            for item in order.expressions if order is not None else []:
                self.type_of(item, scope)
            return self.type_of(node.this, scope)
        if isinstance(node, exp.Filter):
            where = node.expression
            self._expect_boolean(
                where.this if isinstance(where, exp.Where) else where, scope, "Filter expression"
            )
            return self.type_of(node.this, scope)
        if isinstance(node, exp.Interval):
            unit = node.unit.name.upper() if node.unit is not None else "DAY"
            return tt.T_INTERVAL_YM if unit in ("YEAR", "MONTH") else tt.T_INTERVAL_DS
        if isinstance(node, (exp.Star, exp.Var, exp.Identifier, exp.Lambda, exp.JSONPath)):
            return None
        return call_type(node, lambda child: self.type_of(child, scope))

    def _expect(self, node: exp.Expr, scope: Scope | None, target: TType, what: str) -> None:
        found = self.type_of(node, scope)
        if found is not None and not tt.can_coerce(found, target):
            raise QueryError(f"{what} must evaluate to a {target} (actual: {found})")

    def _expect_boolean(self, node: exp.Expr, scope: Scope | None, what: str) -> None:
        self._expect(node, scope, tt.T_BOOLEAN, what)

    def _single(
        self, first: exp.Expr | None, rest: Iterable[exp.Expr], scope: Scope | None, what: str
    ) -> TType | None:
        """``coerceToSingleType``: the common type of every operand, or Trino's error."""
        types = self._all([first, *rest] if first is not None else rest, scope)
        if None in types:
            return None
        found = tt.T_UNKNOWN
        distinct: list[TType] = []
        for value in types:
            assert value is not None
            if value not in distinct:
                distinct.append(value)
        for value in distinct:
            common = tt.common_super_type(found, value)
            if common is None:
                shown = ", ".join(str(t) for t in distinct)
                raise QueryError(
                    f"{what} must be the same type or coercible to a common type. Cannot find "
                    f"common type between {found} and {value}, all types (without duplicates): "
                    f"[{shown}]"
                )
            found = common
        return found

    def _compare(self, node: exp.Expr, scope: Scope | None) -> TType:
        a, b = self._all((node.this, node.expression), scope)
        if a is None or b is None:
            return tt.T_BOOLEAN
        common = tt.common_super_type(a, b)
        ordering = isinstance(node, (exp.LT, exp.GT, exp.LTE, exp.GTE))
        if common is None or (ordering and not common.orderable) or common.is_a(tt.JSON):
            if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
                raise QueryError(f"Cannot check if {a} is distinct from {b}")
            raise QueryError(f"Cannot apply operator: {a} {_OPERATORS[type(node)]} {b}")
        return tt.T_BOOLEAN

    def _arithmetic(self, node: exp.Expr, scope: Scope | None) -> TType | None:
        a, b = self._all((node.this, node.expression), scope)
        if a is None or b is None:
            return None
        found = arithmetic(type(node).__name__.lower(), a, b)
        if found is None:
            raise QueryError(f"Cannot apply operator: {a} {_OPERATORS[type(node)]} {b}")
        return found

    def _in(self, node: exp.In, scope: Scope | None) -> TType:
        query = node.args.get("query")
        if query is not None:
            value = self.type_of(node.this, scope)
            found = self._relation(query.this if isinstance(query, exp.Subquery) else query)
            other = found[0][1] if found else None
            if (
                value is not None
                and other is not None
                and tt.common_super_type(value, other) is None
            ):
                raise QueryError(
                    "Value expression and result of subquery must be of the same type: "
                    f"row({value}) vs row({other})"
                )
            return tt.T_BOOLEAN
        self._single(node.this, node.expressions, scope, "IN value and list items")
        return tt.T_BOOLEAN

    def _case(self, node: exp.Case, scope: Scope | None) -> TType | None:
        operand = node.this
        ifs = node.args.get("ifs") or []
        if operand is not None:
            base = self.type_of(operand, scope)
            for clause in ifs:
                other = self.type_of(clause.this, scope)
                if (
                    base is not None
                    and other is not None
                    and tt.common_super_type(base, other) is None
                ):
                    raise QueryError(
                        "CASE operand type does not match WHEN clause operand type: "
                        f"{base} vs {other}"
                    )
        else:
            for clause in ifs:
                self._expect_boolean(clause.this, scope, "CASE WHEN clause")
        results = [clause.args["true"] for clause in ifs]
        if node.args.get("default") is not None:
            results.append(node.args["default"])
        return self._single(None, results, scope, "All CASE results")

    def _extract(self, node: exp.Extract, scope: Scope | None) -> TType:
        found = self.type_of(node.expression, scope)
        field = node.this.name.upper()
        if found is not None and found.name != tt.UNKNOWN:
            allowed = next(
                (kinds for fields, kinds in _EXTRACT_RULES.items() if field in fields),
                (tt.DATE, tt.TIMESTAMP, tt.TIMESTAMP_TZ),
            )
            if found.name not in allowed:
                raise QueryError(f"Cannot extract {field} from {found}")
        return tt.T_BIGINT

    def _cast(self, node: exp.Cast, scope: Scope | None) -> TType | None:
        source = self.type_of(node.this, scope)
        target = from_sqlglot(node.to)
        if target is None:
            return None
        if target.name == tt.TIMESTAMP_TZ:
            literal = (
                node.this if isinstance(node.this, exp.Literal) and node.this.is_string else None
            )
            if literal is not None:
                target = tt.zoned(target.precision, checked_zone(literal_zone(str(literal.this))))
            elif source is not None and source.is_a(tt.DATE, tt.TIMESTAMP):
                target = tt.zoned(target.precision, "UTC")
        if source is not None and not tt.can_cast(source, target):
            raise QueryError(f"Cannot cast {source} to {target}")
        return target


def _common(types: list[TType | None]) -> TType | None:
    found: TType | None = tt.T_UNKNOWN
    for value in types:
        if found is None or value is None:
            return None
        found = tt.common_super_type(found, value)
    return found


def check(root: exp.Expr, schema: Mapping[str, Mapping[str, str]] | None) -> Types:
    """The Trino type of every node of ``root`` (qualified), or QueryError where Trino refuses."""
    columns = {
        table: {name.lower(): tt.from_duckdb(kind) for name, kind in cols.items()}
        for table, cols in (schema or {}).items()
    }
    return Checker(columns).run(root)
