"""Athena SQL on Apache Spark over the same lake, with Athena's answers.

Spark reads the enriched layer as it is (Hive partitions, Parquet with
millisecond timestamps), but its SQL differs from Trino's in the same kind of
places DuckDB's does (DESIGN §6), some of them differently:

- day of week: Spark's ``dayofweek`` is 1 = *Sunday* .. 7; Trino's is ISO,
  1 = Monday .. 7 = Sunday. ``EXTRACT(DAYOFWEEK_ISO ...)`` is Spark's ISO
  field (sqlglot's generic rewrite, ``(dayofweek(x) % 7) + 1``, maps Sunday
  to 2 and is not used);
- ``CAST(double AS INT)`` truncates in Spark (2.5 -> 2); Trino rounds half
  away from zero, which Spark's ``ROUND`` does, so the operand is rounded;
- ``/`` between integers is a double in Spark; ``DIV`` truncates like Trino;
- the session time zone must be UTC, as on Athena: :data:`SPARK_CONF`.

pyspark is not a dependency of telelake: this module never imports it, it
only builds SQL and takes an existing session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlglot import exp

from telelake.analytics.dialect import fix_cast_double_to_integer, fix_integer_division, translate
from telelake.analytics.trino_rewrite import OperandTypes
from telelake.lake.tables import MESSAGES, PARTITION_COLUMN, TABLES

SPARK = "spark"

SPARK_CONF: dict[str, str] = {
    # Athena's session zone: from_unixtime, date_format and hour() read it.
    "spark.sql.session.timeZone": "UTC",
    # Partition values "YYYY-MM-DD" become a DATE column, as in Athena's DDL.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "true",
}
"""Settings a Spark session needs for Athena's answers; pass them to the builder."""

ALIASES = {"chatbot": MESSAGES, "messages": MESSAGES}

# Trino EXTRACT field -> Spark EXTRACT field.
_FIELDS = {
    "DOW": "DAYOFWEEK_ISO",
    "DAY_OF_WEEK": "DAYOFWEEK_ISO",
    "DOY": "DOY",
    "DAY_OF_YEAR": "DOY",
    "DAY_OF_MONTH": "DAY",
    "YOW": "YEAROFWEEK",
    "YEAR_OF_WEEK": "YEAROFWEEK",
}


def fix_spark_fields(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Trino's ISO day of week (Monday 1 .. Sunday 7) and week-year, in Spark's names.

    Trino ``EXTRACT(dow ...)``, ``day_of_week()``, ``dow()`` -> Spark
    ``EXTRACT(DAYOFWEEK_ISO ...)`` (Spark's ``dayofweek`` is Sunday-first);
    ``year_of_week``/``yow`` -> ``YEAROFWEEK``. ``EXTRACT(WEEK ...)`` is the ISO
    week in both.
    """
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Extract(this=exp.var("DAYOFWEEK_ISO"), expression=node.this)
    if isinstance(node, exp.Extract) and isinstance(node.this, exp.Var):
        target = _FIELDS.get(node.this.name.upper())
        if target is not None:
            node.set("this", exp.var(target))
    return node


SPARK_FIXES = (fix_spark_fields, fix_cast_double_to_integer, fix_integer_division)


def to_spark(sql: str) -> str:
    """Spark SQL computing what the Athena ``sql`` computes (in a :data:`SPARK_CONF` session)."""
    return translate(sql, SPARK, SPARK_FIXES).sql


def spark_schema(table: str, spark_version: str = "3.4") -> str:
    """The current columns of ``table`` and ``context_date``, as a Spark DDL schema.

    Timestamps are ``timestamp_ntz`` (wall times without a zone, as the
    files hold them) from Spark 3.4 on, which has the type; before, ``timestamp``.
    """
    major, minor = (int(part) for part in re.findall(r"\d+", spark_version)[:2])
    wall_time = "timestamp_ntz" if (major, minor) >= (3, 4) else "timestamp"
    columns = [
        f"`{name}` {wall_time if kind == 'timestamp' else kind}"
        for name, kind in TABLES[table].columns
    ]
    return ", ".join([*columns, f"`{PARTITION_COLUMN}` date"])


def _literal_glob(path: str) -> str:
    """``path`` as a Hadoop glob matching only itself (``\\`` escapes ``[]{}*?``):
    a lake named ``lake[1]`` or ``lake*`` must never read its siblings."""
    return re.sub(r"([\\\[\]{}*?])", r"\\\1", path)


def register_lake(spark: Any, enriched: str | Path) -> list[str]:
    """Register every enriched table as a temporary view; return their names.

    Each table is read with its folder as ``basePath``, so Spark discovers
    ``context_date`` from the ``context_date=YYYY-MM-DD`` folders, as Athena's
    partition projection does, and with the table's current schema (see
    :func:`spark_schema`), so partitions an older telelake wrote, without a
    column added since, read it as NULL, as in Athena. In a local lake a
    table without files yet (a table added since the last build) is an
    empty view.
    """
    root = str(enriched).rstrip("/")
    local = "://" not in root
    found: list[str] = []
    for table in TABLES:
        base = f"{root}/{table}"
        schema = spark_schema(table, str(spark.version))
        if local and not any(Path(base).glob("context_date=*/*.parquet")):
            frame = spark.createDataFrame([], schema)
        else:
            reader = spark.read.schema(schema).option("basePath", base)
            frame = reader.parquet(f"{_literal_glob(base)}/context_date=*")
        frame.createOrReplaceTempView(table)
        found.append(table)
    for alias, table in ALIASES.items():
        if table in found:
            spark.table(table).createOrReplaceTempView(alias)
            found.append(alias)
    return found
