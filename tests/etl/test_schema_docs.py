"""Every column of every enriched table is documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from telelake.lake import tables

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def section(table: str) -> str:
    """The README text under the ``###`` heading that names ``table``."""
    parts = README.split("\n### ")
    return next(part for part in parts if f"`{table}`" in part.splitlines()[0])


@pytest.mark.parametrize("table", sorted(tables.TABLES))
def test_every_column_is_documented(table: str) -> None:
    text = section(table)
    missing = [c for c in tables.TABLES[table].names if f"`{c}`" not in text]
    assert not missing, f"README section of {table} does not mention {missing}"


def test_the_messages_table_starts_with_the_original_eight_columns() -> None:
    assert tables.arrow_schema(tables.MESSAGES).names[:8] == [
        "message_id", "user_id", "user_is_bot", "user_first_name",
        "chat_id", "chat_type", "text", "date",
    ]  # fmt: skip
    types = {f.name: str(f.type) for f in tables.arrow_schema(tables.MESSAGES)}
    assert [types[c] for c in ("message_id", "user_id", "chat_id", "date")] == ["int64"] * 4
    assert (types["user_is_bot"], types["text"]) == ("bool", "string")
    # Nanosecond timestamps are not portable (DESIGN §4).
    assert all("ns" not in str(f.type) for t in tables.TABLES for f in tables.arrow_schema(t))
