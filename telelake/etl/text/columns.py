"""The text stage inside a date's build: messages in, text columns and terms out.

:func:`annotate` fills the text columns of a ``telegram`` Arrow table (rows
in any order, any versions: each row's values depend on that row alone, so
a chunk of a date built in another process gives the same values as the
whole date built here) and adds the row's terms as hidden list columns.
They travel with their row through the merge of a chunked build
(etl/chunked.py), which keeps only the latest version of each message;
:func:`split_terms` then takes them off into ``telegram_terms``. Both run
in the same places as the rest of the build, so ``telegram_terms`` is
rebuilt, and forgotten, with the date.

``TELELAKE_TEXT=0`` turns the stage off (the columns stay NULL and no terms
are written): a switch for measuring what it costs (bench/etl.py), not for
everyday use, since build records do not tell such dates apart.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.compute as pc

from telelake.etl.text.analyze import Analysis, detect_languages, finish, prepare
from telelake.lake.tables import TERMS, arrow_schema

__all__ = ["HIDDEN", "TERMS", "TEXT_COLUMNS", "annotate", "enabled", "split_terms"]

TEXT_COLUMNS = ("language", "sentiment", "word_count", "emoji_count", "is_question", "domains")
# Hidden columns carrying each row's terms until split_terms (never written).
_KIND, _TERM, _N = "__terms_kind", "__terms_term", "__terms_n"
HIDDEN = (_KIND, _TERM, _N)


def enabled() -> bool:
    return os.environ.get("TELELAKE_TEXT", "1").strip().lower() not in ("0", "off", "false", "no")


def analyses(messages: pa.Table) -> list[Analysis]:
    """The analysis of every row of a ``telegram`` table, in row order."""
    columns = [
        messages.column(name).to_pylist()
        for name in ("text", "caption", "hashtags", "mentions", "urls")
    ]
    prepared = [prepare(*row) for row in zip(*columns, strict=True)]
    inputs = [p.language_input for p in prepared if p is not None]
    languages = iter(detect_languages(inputs))
    empty = Analysis()
    return [empty if p is None else finish(p, next(languages)) for p in prepared]


def annotate(messages: pa.Table) -> pa.Table:
    """``messages`` with the text columns filled and the hidden term columns added."""
    if not enabled() or "language" not in messages.column_names:
        return messages
    results = analyses(messages)
    schema = messages.schema
    values = {
        "language": [a.language for a in results],
        "sentiment": [a.sentiment for a in results],
        "word_count": [a.word_count for a in results],
        "emoji_count": [a.emoji_count for a in results],
        "is_question": [a.is_question for a in results],
        "domains": [a.domains for a in results],
    }
    for name, column in values.items():
        index = schema.get_field_index(name)
        messages = messages.set_column(
            index, schema.field(name), pa.array(column, type=schema.field(name).type)
        )
    offsets = [0]
    kinds: list[str] = []
    terms: list[str] = []
    counts: list[int] = []
    for analysis in results:
        for kind, term, n in analysis.terms:
            kinds.append(kind)
            terms.append(term)
            counts.append(n)
        offsets.append(len(kinds))
    offset_array = pa.array(offsets, type=pa.int32())
    for name, flat, kind in (
        (_KIND, kinds, pa.string()),
        (_TERM, terms, pa.string()),
        (_N, counts, pa.int64()),
    ):
        messages = messages.append_column(
            name, pa.ListArray.from_arrays(offset_array, pa.array(flat, type=kind))
        )
    return messages


def split_terms(messages: pa.Table) -> tuple[pa.Table, pa.Table]:
    """``messages`` without the hidden columns, and the ``telegram_terms`` rows they held.

    Terms come in the messages' order (chat, message), then kind, then first
    occurrence in the message.
    """
    schema = arrow_schema(TERMS)
    if _KIND not in messages.column_names:
        return messages, schema.empty_table()
    kind_lists = messages.column(_KIND).combine_chunks()
    parents = pc.list_parent_indices(kind_lists)
    flat = {
        "kind": pc.list_flatten(kind_lists),
        "term": pc.list_flatten(messages.column(_TERM).combine_chunks()),
        "n": pc.list_flatten(messages.column(_N).combine_chunks()),
    }
    columns = []
    for field in schema:
        if field.name in flat:
            columns.append(flat[field.name])
        else:
            columns.append(pc.take(messages.column(field.name), parents).combine_chunks())
    terms = pa.Table.from_arrays(columns, schema=schema)
    return messages.drop_columns(list(HIDDEN)), terms
