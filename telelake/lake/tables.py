"""The enriched tables: names, columns, types and versions, defined once.

This is the lake's SQL contract. The ETL writes it, and the engine, the
Athena DDL, Spark and the SAM template read it; it sits in the lake layer,
below all of them, so no stage imports another to learn what a table holds.

Types are logical names that Athena, Spark, Trino and DuckDB all read
(64-bit integers, strings, booleans, lists of strings, and timestamps in
milliseconds without a zone holding UTC or local wall time), mapped to Arrow
in one place. pyarrow is imported only when an Arrow schema is asked for,
so code that needs just the names (the ingest Lambda, the date planner)
never loads it. ``context_date`` is not stored in the files; it comes from
the partition path. Every column is documented in README.md ("The tables");
a test checks that list against these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

MESSAGES = "telegram"
SERVICE = "telegram_service"
MEMBERS = "telegram_members"
REACTIONS = "telegram_reactions"
REACTION_COUNTS = "telegram_reaction_counts"
UPDATES = "telegram_updates"
REJECTS = "telegram_rejects"
CHAT_STATS = "telegram_chat_stats"
TERMS = "telegram_terms"
TOPICS = "telegram_topics"

# The partition column every table has, from the ``context_date=YYYY-MM-DD`` folder.
PARTITION_COLUMN = "context_date"
# Parquet key-value metadata naming the version of its table that wrote a file;
# a file without it was written before versions existed (version 0).
VERSION_KEY = b"telelake.table_version"


@dataclass(frozen=True)
class Table:
    """One enriched table: its name, its ``(column, logical type)`` pairs and its version.

    ``version`` changes whenever what the ETL writes into the table changes
    (a column added, a value computed differently), so a lake can tell which
    partitions an older telelake wrote, and rebuild them (version 1: the
    first to record it).
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    version: int = 1

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


_B, _S, _BOOL, _TS, _STRINGS = "bigint", "string", "boolean", "timestamp", "array<string>"
_D = "double"

_MESSAGES = Table(
    MESSAGES,
    (
        # The original design's eight columns, same names and meaning.
        ("message_id", _B), ("user_id", _B), ("user_is_bot", _BOOL), ("user_first_name", _S),
        ("chat_id", _B), ("chat_type", _S), ("text", _S), ("date", _B),
        # Added by telelake.
        ("update_id", _B), ("update_kind", _S), ("sent_at", _TS), ("sent_at_local", _TS),
        ("edit_date", _B), ("edited_at", _TS), ("user_last_name", _S), ("user_username", _S),
        ("user_language_code", _S), ("sender_chat_id", _B), ("sender_chat_title", _S),
        ("chat_title", _S), ("chat_username", _S), ("content_type", _S), ("caption", _S),
        ("text_length", _B), ("reply_to_message_id", _B), ("message_thread_id", _B),
        ("is_topic_message", _BOOL), ("forward_origin_type", _S), ("forward_from_user_id", _B),
        ("forward_from_chat_id", _B), ("forward_date", _B), ("media_group_id", _S),
        ("via_bot_id", _B), ("hashtags", _STRINGS), ("mentions", _STRINGS), ("urls", _STRINGS),
        # From the text and caption (telelake/etl/text/).
        ("language", _S), ("sentiment", _D), ("word_count", _B), ("emoji_count", _B),
        ("is_question", _BOOL), ("domains", _STRINGS),
    ),
    version=2,  # 2: language, sentiment, word_count, emoji_count, is_question, domains
)  # fmt: skip

_SERVICE = Table(
    SERVICE,
    (
        ("update_id", _B), ("message_id", _B), ("chat_id", _B), ("chat_type", _S),
        ("chat_title", _S), ("user_id", _B), ("user_first_name", _S), ("date", _B),
        ("sent_at", _TS), ("event", _S), ("member_user_id", _B), ("member_first_name", _S),
        ("member_is_bot", _BOOL), ("detail", _S),
    ),
)  # fmt: skip

_MEMBERS = Table(
    MEMBERS,
    (
        ("update_id", _B), ("update_kind", _S), ("chat_id", _B), ("chat_type", _S),
        ("chat_title", _S), ("actor_user_id", _B), ("user_id", _B), ("user_first_name", _S),
        ("user_is_bot", _BOOL), ("old_status", _S), ("new_status", _S), ("date", _B),
        ("changed_at", _TS), ("invite_link_name", _S), ("via_join_request", _BOOL),
        ("invite_link_creator_user_id", _B),
    ),
    version=2,  # 2: invite_link_creator_user_id (who made the link a member joined by)
)  # fmt: skip

_REACTIONS = Table(
    REACTIONS,
    (
        ("update_id", _B), ("chat_id", _B), ("message_id", _B), ("user_id", _B),
        ("actor_chat_id", _B), ("date", _B), ("changed_at", _TS), ("old_reactions", _STRINGS),
        ("new_reactions", _STRINGS),
    ),
)  # fmt: skip

_REACTION_COUNTS = Table(
    REACTION_COUNTS,
    (
        ("update_id", _B), ("chat_id", _B), ("message_id", _B), ("date", _B),
        ("changed_at", _TS), ("reaction", _S), ("total_count", _B),
    ),
)  # fmt: skip

_UPDATES = Table(
    UPDATES,
    (
        ("update_id", _B), ("update_kind", _S), ("chat_id", _B), ("user_id", _B), ("date", _B),
        ("raw_key", _S),
    ),
)  # fmt: skip

_REJECTS = Table(REJECTS, (("raw_key", _S), ("reason", _S), ("size_bytes", _B)))

# Daily getChatMemberCount snapshots (ingest/snapshots.py), stored in the raw
# layer as records the ETL turns into rows, so a rebuild keeps them.
_CHAT_STATS = Table(
    CHAT_STATS,
    (("update_id", _B), ("chat_id", _B), ("date", _B), ("taken_at", _TS), ("member_count", _B)),
)

# One row per (message, kind, term) of the messages' text (telelake/etl/text/).
_TERMS = Table(
    TERMS,
    (
        ("chat_id", _B), ("message_id", _B), ("user_id", _B), ("kind", _S), ("term", _S),
        ("n", _B),
    ),
)  # fmt: skip

# What each chat talked about each week (telelake/etl/text/weeks.py): one row per
# message of a topic, partitioned by the week's Monday.
_TOPICS = Table(
    TOPICS,
    (
        ("chat_id", _B), ("topic", _B), ("label", _S), ("terms", _STRINGS),
        ("topic_messages", _B), ("topic_people", _B), ("message_id", _B), ("user_id", _B),
        ("similarity", _D), ("example_rank", _B),
    ),
)  # fmt: skip

# Built per week from the daily tables (telelake/etl/text/weeks.py), in the partition
# of the week's Monday: a date's build never writes them.
WEEKLY = frozenset({TOPICS})

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        _MESSAGES, _SERVICE, _MEMBERS, _REACTIONS, _REACTION_COUNTS, _UPDATES, _REJECTS,
        _CHAT_STATS, _TERMS, _TOPICS,
    )
}  # fmt: skip
"""Every enriched table by name, in the order people meet them."""


def arrow_type(logical: str) -> pa.DataType:
    """The Arrow type a column of logical type ``logical`` is written with."""
    import pyarrow as pa

    types = {
        "bigint": pa.int64(),
        "double": pa.float64(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        # Milliseconds: every engine reads them; nanoseconds are not portable.
        "timestamp": pa.timestamp("ms"),
        "array<string>": pa.list_(pa.string()),
    }
    try:
        return types[logical]
    except KeyError:
        raise TypeError(f"no Arrow type for logical type {logical!r}") from None


@cache
def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of table ``name`` (the files' columns, without the partition),
    its version in the key-value metadata every file carries."""
    import pyarrow as pa

    table = TABLES[name]
    return pa.schema(
        [(column, arrow_type(kind)) for column, kind in table.columns],
        metadata={VERSION_KEY: str(table.version).encode()},
    )


def file_version(metadata: dict[bytes, bytes] | None) -> int:
    """The table version a Parquet file's key-value metadata records (0: none)."""
    value = (metadata or {}).get(VERSION_KEY, b"0")
    try:
        return int(value)
    except ValueError:
        return 0
