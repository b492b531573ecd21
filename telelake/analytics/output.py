"""Query results as text: a table for people, CSV and JSON lines for programs.

The formats are a contract (DESIGN §7): CSV is RFC 4180 (header row, CRLF
line ends, NULL as an empty field), JSON is one object per row with dates
and timestamps as ISO 8601 strings, decimals as exact numbers and lists as
arrays. The table is for reading only; its layout may change.
"""

from __future__ import annotations

import base64
import csv
import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from telelake.analytics.engine import Result
from telelake.errors import UsageError

FORMATS = ("table", "csv", "json")

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


def write_result(
    result: Result,
    fmt: str,
    out: TextIO,
    max_rows: int | None = None,
    *,
    width: int | None = None,
) -> None:
    """Write ``result`` to ``out`` as ``fmt`` (table, csv or json), at most ``max_rows`` rows."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if max_rows is not None and max_rows < 0:
        raise UsageError(f"max_rows must be 0 or more, not {max_rows}")
    rows = result.rows if max_rows is None else result.rows[:max_rows]
    if fmt == "csv":
        _write_csv(result.columns, rows, out)
    elif fmt == "json":
        _write_json(result.columns, rows, out)
    else:
        _write_table(result.columns, rows, len(result.rows), out, width)


def format_value(value: Any) -> str:
    """One value as text for a table cell or a CSV field; NULL is the empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time, Decimal, int, float, UUID, timedelta)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple, dict)):
        return orjson.dumps(jsonable(value)).decode("utf-8")
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` made serialisable by orjson with the JSON output's conventions."""
    if value is None or isinstance(value, (bool, str, datetime, date, time, UUID)):
        return value
    if isinstance(value, int):
        # orjson refuses integers beyond 64 bits (DuckDB HUGEINT sums); write them verbatim.
        in_range = _INT64_MIN <= value <= _UINT64_MAX
        return value if in_range else orjson.Fragment(str(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else None
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {format_value(key): jsonable(item) for key, item in value.items()}
    return format_value(value)


def _unique_names(columns: Iterable[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2``) so no JSON key hides another."""
    seen: set[str] = set()
    names = []
    for column in columns:
        name, suffix = column, 2
        while name in seen:
            name = f"{column}_{suffix}"
            suffix += 1
        seen.add(name)
        names.append(name)
    return names


def _write_csv(columns: list[str], rows: list[tuple[Any, ...]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(value) for value in row])


def _write_json(columns: list[str], rows: list[tuple[Any, ...]], out: TextIO) -> None:
    keys = _unique_names(columns)
    for row in rows:
        record = {key: jsonable(value) for key, value in zip(keys, row, strict=True)}
        out.write(orjson.dumps(record).decode("utf-8"))
        out.write("\n")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _write_table(
    columns: list[str],
    rows: list[tuple[Any, ...]],
    total: int,
    out: TextIO,
    width: int | None,
) -> None:
    console = Console(file=out, width=width, highlight=False, emoji=False, soft_wrap=False)
    if columns:
        table = Table(show_edge=True, header_style="bold")
        for index, column in enumerate(columns):
            values = [row[index] for row in rows if row[index] is not None]
            numeric = bool(values) and all(_is_number(value) for value in values)
            table.add_column(Text(column), justify="right" if numeric else "left", overflow="fold")
        for row in rows:
            # Text cells: a value such as "[bold]" is data, never Rich markup.
            table.add_row(
                *(
                    Text("NULL", style="dim") if value is None else Text(format_value(value))
                    for value in row
                )
            )
        console.print(table)
    console.print(Text(_footer(len(rows), total)))


def _footer(shown: int, total: int) -> str:
    if shown < total:
        return f"showing {shown:,} of {total:,} rows"
    return "1 row" if total == 1 else f"{total:,} rows"
