"""The enriched tables: names, columns and Arrow types (the lake's SQL contract).

Types are those Athena, Spark, Trino and DuckDB all read: 64-bit integers,
strings, booleans, lists of strings, and timestamps in milliseconds without a
time zone holding UTC (or local) wall time. ``context_date`` is not stored in
the files; it comes from the partition path. Each column is documented in
README.md ("The tables"); a test checks that list against these schemas.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("ms")
STRINGS = pa.list_(pa.string())

MESSAGES = "telegram"
SERVICE = "telegram_service"
MEMBERS = "telegram_members"
REACTIONS = "telegram_reactions"
REACTION_COUNTS = "telegram_reaction_counts"
UPDATES = "telegram_updates"
REJECTS = "telegram_rejects"

MESSAGES_SCHEMA = pa.schema(
    [
        # The original design's eight columns, same names and meaning.
        ("message_id", pa.int64()),
        ("user_id", pa.int64()),
        ("user_is_bot", pa.bool_()),
        ("user_first_name", pa.string()),
        ("chat_id", pa.int64()),
        ("chat_type", pa.string()),
        ("text", pa.string()),
        ("date", pa.int64()),
        # Added by telelake.
        ("update_id", pa.int64()),
        ("update_kind", pa.string()),
        ("sent_at", TS),
        ("sent_at_local", TS),
        ("edit_date", pa.int64()),
        ("edited_at", TS),
        ("user_last_name", pa.string()),
        ("user_username", pa.string()),
        ("user_language_code", pa.string()),
        ("sender_chat_id", pa.int64()),
        ("sender_chat_title", pa.string()),
        ("chat_title", pa.string()),
        ("chat_username", pa.string()),
        ("content_type", pa.string()),
        ("caption", pa.string()),
        ("text_length", pa.int64()),
        ("reply_to_message_id", pa.int64()),
        ("message_thread_id", pa.int64()),
        ("is_topic_message", pa.bool_()),
        ("forward_origin_type", pa.string()),
        ("forward_from_user_id", pa.int64()),
        ("forward_from_chat_id", pa.int64()),
        ("forward_date", pa.int64()),
        ("media_group_id", pa.string()),
        ("via_bot_id", pa.int64()),
        ("hashtags", STRINGS),
        ("mentions", STRINGS),
        ("urls", STRINGS),
    ]
)

SERVICE_SCHEMA = pa.schema(
    [
        ("update_id", pa.int64()),
        ("message_id", pa.int64()),
        ("chat_id", pa.int64()),
        ("chat_type", pa.string()),
        ("chat_title", pa.string()),
        ("user_id", pa.int64()),
        ("user_first_name", pa.string()),
        ("date", pa.int64()),
        ("sent_at", TS),
        ("event", pa.string()),
        ("member_user_id", pa.int64()),
        ("member_first_name", pa.string()),
        ("member_is_bot", pa.bool_()),
        ("detail", pa.string()),
    ]
)

MEMBERS_SCHEMA = pa.schema(
    [
        ("update_id", pa.int64()),
        ("update_kind", pa.string()),
        ("chat_id", pa.int64()),
        ("chat_type", pa.string()),
        ("chat_title", pa.string()),
        ("actor_user_id", pa.int64()),
        ("user_id", pa.int64()),
        ("user_first_name", pa.string()),
        ("user_is_bot", pa.bool_()),
        ("old_status", pa.string()),
        ("new_status", pa.string()),
        ("date", pa.int64()),
        ("changed_at", TS),
        ("invite_link_name", pa.string()),
        ("via_join_request", pa.bool_()),
    ]
)

REACTIONS_SCHEMA = pa.schema(
    [
        ("update_id", pa.int64()),
        ("chat_id", pa.int64()),
        ("message_id", pa.int64()),
        ("user_id", pa.int64()),
        ("actor_chat_id", pa.int64()),
        ("date", pa.int64()),
        ("changed_at", TS),
        ("old_reactions", STRINGS),
        ("new_reactions", STRINGS),
    ]
)

REACTION_COUNTS_SCHEMA = pa.schema(
    [
        ("update_id", pa.int64()),
        ("chat_id", pa.int64()),
        ("message_id", pa.int64()),
        ("date", pa.int64()),
        ("changed_at", TS),
        ("reaction", pa.string()),
        ("total_count", pa.int64()),
    ]
)

UPDATES_SCHEMA = pa.schema(
    [
        ("update_id", pa.int64()),
        ("update_kind", pa.string()),
        ("chat_id", pa.int64()),
        ("user_id", pa.int64()),
        ("date", pa.int64()),
        ("raw_key", pa.string()),
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        ("raw_key", pa.string()),
        ("reason", pa.string()),
        ("size_bytes", pa.int64()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    MESSAGES: MESSAGES_SCHEMA,
    SERVICE: SERVICE_SCHEMA,
    MEMBERS: MEMBERS_SCHEMA,
    REACTIONS: REACTIONS_SCHEMA,
    REACTION_COUNTS: REACTION_COUNTS_SCHEMA,
    UPDATES: UPDATES_SCHEMA,
    REJECTS: REJECTS_SCHEMA,
}
