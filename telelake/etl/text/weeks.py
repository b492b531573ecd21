"""``telegram_topics``: each chat's weekly topics, built from the week's daily terms.

A week's topics depend on all seven of its dates, so no date's build can
write them (a date touches only its own files, DESIGN §3.5; and dates of one
week may be built at once in different processes). Instead:

1. every build of a date leaves a marker for its week (the Monday of the
   date's ``context_date``) in the enriched layer,
   ``_telelake/weeks/context_date=<Monday>/pending``, after writing its files
   and before its build record (etl/partition.py);
2. once a run has built the last of a week's dates it planned (:class:`Weeks`,
   between two dates, while other processes go on), and at the end of every
   ETL run for any week still marked (etl/runner.py), the week is built from
   the ``telegram_terms`` partitions of its dates, as they are then, and its
   marker removed. A run stopped before that (a Lambda out of time, a crash)
   leaves the marker, so the next run builds the week.

So a week is rebuilt whenever one of its dates is: a late message, an edit,
``forget`` (a forgotten person's messages leave the terms, so they leave the
topics and their examples too), a new table version. The partition of a
week is its Monday (``context_date`` of ``telegram_topics``), written
atomically like every other file; a week left without terms loses it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from telelake.etl.text.analyze import WORD_KIND
from telelake.etl.text.columns import enabled
from telelake.etl.text.topics import Message, Topic, week_topics
from telelake.lake.layout import STATE_PREFIX, date_of_key, partition_dir, table_key
from telelake.lake.storage import Store
from telelake.lake.tables import TERMS, TOPICS, arrow_schema

log = logging.getLogger("telelake.etl")

WEEKS_PREFIX = f"{STATE_PREFIX}/weeks"
_MARKER = "pending"


def monday(day: date) -> date:
    """The first day (Monday) of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def mark_week(enriched: Store, day: date) -> None:
    """Note that the week of ``day`` needs its topics built again."""
    if enabled():
        enriched.replace(f"{partition_dir(WEEKS_PREFIX, monday(day))}/{_MARKER}", b"")


def pending_weeks(enriched: Store) -> list[date]:
    """Mondays of the weeks waiting for their topics, oldest first (one listing)."""
    days = {date_of_key(key) for key in enriched.list(WEEKS_PREFIX)}
    return sorted(day for day in days if day is not None)


def _week_terms(enriched: Store, first: date) -> pa.Table | None:
    """The ``word`` rows of the week's ``telegram_terms`` partitions, or ``None``."""
    parts = []
    # The last week of year 9999 ends after date.max (DESIGN §3.11 keeps times to year 9999).
    for offset in range(min(7, (date.max - first).days + 1)):
        try:
            data = enriched.read(table_key(TERMS, first + timedelta(days=offset)))
        except FileNotFoundError:
            continue
        table = pq.read_table(
            io.BytesIO(data), columns=["chat_id", "message_id", "user_id", "kind", "term"]
        )
        parts.append(table.filter(pc.equal(table["kind"], WORD_KIND)))
    if not parts:
        return None
    return pa.concat_tables(parts)


def _messages(terms: pa.Table) -> dict[int, list[Message]]:
    """Each chat's messages with their distinct words, by message id.

    Grouped by Arrow in one thread (groups in order of first appearance,
    then sorted), so the result is the same every time.
    """
    grouped = terms.group_by(["chat_id", "message_id"], use_threads=False).aggregate(
        [("term", "distinct"), ("user_id", "min")]
    )
    keys = [("chat_id", "ascending"), ("message_id", "ascending")]
    grouped = grouped.take(pc.sort_indices(grouped, sort_keys=keys))
    chats: dict[int, list[Message]] = {}
    columns = zip(
        grouped["chat_id"].to_pylist(),
        grouped["message_id"].to_pylist(),
        grouped["user_id_min"].to_pylist(),
        grouped["term_distinct"].to_pylist(),
        strict=True,
    )
    for chat_id, message_id, user_id, words in columns:
        # Sorted: the words of a message are a set; a fixed order keeps it one value.
        chats.setdefault(chat_id, []).append(Message(message_id, user_id, tuple(sorted(words))))
    return chats


def topics_table(topics: dict[int, list[Topic]]) -> pa.Table:
    """The ``telegram_topics`` rows of one week: chats in id order, topics by number."""
    schema = arrow_schema(TOPICS)
    names = schema.names
    columns: dict[str, list[object]] = {name: [] for name in names}
    for chat_id in sorted(topics):
        for topic in topics[chat_id]:
            for member in topic.members:
                row = {
                    "chat_id": chat_id,
                    "topic": topic.number,
                    "label": topic.label,
                    "terms": list(topic.terms),
                    "topic_messages": len(topic.members),
                    "topic_people": topic.people,
                    "message_id": member.message_id,
                    "user_id": member.user_id,
                    "similarity": member.similarity,
                    "example_rank": member.example_rank,
                }
                for name in names:
                    columns[name].append(row[name])
    return pa.table(columns, schema=schema)


def build_week(enriched: Store, first: date) -> int:
    """Rebuild the topics of the week starting ``first`` (a Monday); returns its rows."""
    # Imported here: etl/partition.py imports this module (mark_week).
    from telelake.etl.partition import parquet_bytes

    key = table_key(TOPICS, first)
    terms = _week_terms(enriched, first)
    topics: dict[int, list[Topic]] = {}
    if terms is not None and terms.num_rows:
        for chat_id, messages in _messages(terms).items():
            found = week_topics(chat_id, first.toordinal(), messages)
            if found:
                topics[chat_id] = found
    table = topics_table(topics)
    if table.num_rows:
        enriched.replace(key, parquet_bytes(table))
    else:
        enriched.delete(key)
    rows: int = table.num_rows
    return rows


def build_marked(enriched: Store, first: date) -> tuple[date, int]:
    """Build the marked week starting ``first`` and clear its marker (in any process)."""
    marker = f"{partition_dir(WEEKS_PREFIX, first)}/{_MARKER}"
    # Cleared before reading: a date built meanwhile marks the week again.
    enriched.delete(marker)
    try:
        rows = build_week(enriched, first)
    except BaseException:
        enriched.replace(marker, b"")
        raise
    log.info("built the topics of the week of %s: %d rows", first, rows)
    return first, rows


class Weeks:
    """The weeks of a run's dates, each built as soon as its last date of the run is.

    Between two dates, this process builds a finished week while the workers
    go on with other dates, so the topics cost a run of many dates little
    time of its own (etl/runner.py). A week whose dates were not all built
    (a stopped run) is left to :func:`build_pending`.
    """

    def __init__(self, days: list[date]) -> None:
        self.left: dict[date, int] = {}
        for day in days:
            self.left[monday(day)] = self.left.get(monday(day), 0) + 1

    def built(self, enriched: Store, day: date, may_start: Callable[[], bool]) -> dict[date, int]:
        """``day`` is built: its week's topics (Monday -> rows) if that was its last date."""
        first = monday(day)
        self.left[first] -= 1
        if self.left[first] or not may_start():
            return {}
        if not enriched.exists(f"{partition_dir(WEEKS_PREFIX, first)}/{_MARKER}"):
            return {}  # the text stage is off
        found, rows = build_marked(enriched, first)
        return {found: rows}


def build_pending(enriched: Store, may_start: Callable[[], bool] | None = None) -> dict[date, int]:
    """Build every marked week, oldest first, while ``may_start`` allows; the weeks
    built (their Mondays) and the rows each now has.

    In this process: a week takes a few tenths of a second (a busy group's
    week of 15,000 messages: ~0.3 s), less than a worker process takes to start.
    """
    built: dict[date, int] = {}
    for first in pending_weeks(enriched):
        if may_start is not None and not may_start():
            break
        built.update([build_marked(enriched, first)])
    return built
