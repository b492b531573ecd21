"""Keyed pseudonyms in the enriched layer instead of user ids and names. Pure.

With ``pseudonymize`` on, every user id the enriched tables hold becomes
``HMAC-SHA256(key, str(id))`` truncated to a positive 64-bit integer: the
same person gets the same number in every table, partition and run (joins,
``count(DISTINCT user_id)`` and the reports keep working, columns stay
``bigint``), and nobody without the key can turn it back into a Telegram id
or match it against another dataset. Names go too: first names become
``user-<hex>`` (so a report by name still tells people apart), last names and
usernames become NULL, and ``@mentions`` that name a user not written in the
text (``text_mention``) are dropped. Positive chat ids are private chats,
whose id is the user's: they get the same pseudonym, and their title and
username (the user's own) become NULL.

What it does not protect, by design: the text people wrote (it stays as it
is, names and all), timing and reply structure (which can single out a
person in a small group), and anything once the key leaks. The raw layer
keeps the real ids: it is the source of truth the enriched layer is rebuilt
from; protect it or use ``telelake forget``.

The pass is column-name driven (``*user_id`` and ``via_bot_id`` columns are
users; ``*chat_id`` columns are users when positive), so a column added later
with such a name is covered without touching this file.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from telelake.config import Settings
from telelake.errors import ConfigError

MIN_KEY_LENGTH = 16
_MASK = (1 << 63) - 1

# name column -> the id column whose pseudonym names it
NAME_COLUMNS = {"user_first_name": "user_id", "member_first_name": "member_user_id"}
DROPPED_COLUMNS = ("user_last_name", "user_username")
PRIVATE_CHAT_COLUMNS = ("chat_title", "chat_username")
# Columns holding user ids (a bot's id is a user id too: joins need one mapping).
USER_ID_SUFFIXES = ("user_id", "via_bot_id")
_TEXT_COLUMNS = ("text", "caption")


@dataclass(frozen=True)
class Pseudonymizer:
    """HMAC-SHA256 pseudonyms under one key (picklable: ETL workers get a copy)."""

    key: bytes

    def pseudonym(self, user_id: int) -> int:
        digest = hmac.new(self.key, str(user_id).encode(), hashlib.sha256).digest()
        return (int.from_bytes(digest[:8], "big") & _MASK) or 1

    @property
    def key_id(self) -> str:
        """A fingerprint that tells keys apart without revealing them."""
        return hmac.new(self.key, b"telelake key id", hashlib.sha256).hexdigest()[:16]

    def name(self, user_id: int) -> str:
        return f"user-{self.pseudonym(user_id):016x}"[:17]

    def apply(self, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
        """Every table with ids, names and id-bearing JSON replaced."""
        return {name: self.table(table) for name, table in tables.items()}

    def table(self, table: pa.Table) -> pa.Table:
        if table.num_rows == 0:
            return table
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        for name in table.column_names:
            column = table.column(name)
            if name in NAME_COLUMNS and NAME_COLUMNS[name] in table.column_names:
                ids = table.column(NAME_COLUMNS[name]).to_pylist()
                column = pa.array(
                    [None if i is None else self.name(i) for i in ids], type=pa.string()
                )
            elif name in DROPPED_COLUMNS:
                column = pa.nulls(table.num_rows, type=column.type)
            elif name in PRIVATE_CHAT_COLUMNS and "chat_id" in table.column_names:
                # A private chat's title and username are the user's own.
                private = pc.fill_null(pc.greater(table.column("chat_id"), 0), False)
                column = pc.if_else(private, pa.scalar(None, type=column.type), column)
            elif name.endswith(USER_ID_SUFFIXES) and pa.types.is_integer(column.type):
                column = self._ids(column, positive_only=False)
            elif name.endswith("chat_id") and pa.types.is_integer(column.type):
                column = self._ids(column, positive_only=True)
            elif name == "detail" and pa.types.is_string(column.type):
                column = pa.array(
                    [None if d is None else self._detail(d) for d in column.to_pylist()],
                    type=pa.string(),
                )
            elif name == "mentions":
                column = self._mentions(table)
            columns[name] = column
        return pa.table(columns, schema=table.schema)

    def _ids(self, column: pa.ChunkedArray, positive_only: bool) -> pa.ChunkedArray:
        # One HMAC per distinct id, then a vectorised lookup.
        distinct = [v for v in pc.unique(column).to_pylist() if v is not None]
        if positive_only:
            distinct = [v for v in distinct if v > 0]
        if not distinct:
            return column
        keys = pa.array(distinct, type=column.type)
        values = pa.array([self.pseudonym(v) for v in distinct], type=column.type)
        index = pc.index_in(column, value_set=keys)
        mapped = pc.take(values, index)
        return pc.if_else(pc.is_null(index), column, mapped)

    def _mentions(self, table: pa.Table) -> pa.Array:
        # Keep an @mention only when the text or caption says it: a
        # text_mention adds the username of a user the text does not name.
        mentions = table.column("mentions").to_pylist()
        texts = [
            table.column(c).to_pylist() if c in table.column_names else [None] * table.num_rows
            for c in _TEXT_COLUMNS
        ]
        kept = []
        for row, values in enumerate(mentions):
            said = " ".join(t[row] or "" for t in texts)
            kept.append(None if values is None else [m for m in values if m and m in said])
        return pa.array(kept, type=table.schema.field("mentions").type)

    def _detail(self, text: str) -> str:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        return orjson.dumps(self._scrub(value)).decode("utf-8")

    def _scrub(self, value: Any) -> Any:
        """A service event's value with user objects and user ids pseudonymised."""
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        if not isinstance(value, dict):
            return value
        is_user = isinstance(value.get("id"), int) and ("is_bot" in value or "first_name" in value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if is_user and key == "id":
                out[key] = self.pseudonym(item)
            elif is_user and key == "first_name":
                out[key] = self.name(value["id"])
            elif is_user and key in ("last_name", "username"):
                continue
            elif key == "user_id" and isinstance(item, int) and not isinstance(item, bool):
                out[key] = self.pseudonym(item)
            elif key.endswith("chat_id") and isinstance(item, int) and item > 0:
                out[key] = self.pseudonym(item)  # a private chat: the user's own id
            else:
                out[key] = self._scrub(item)
        return out


def load_key(settings: Settings) -> bytes:
    """The pseudonym key from the settings or the key file; one clear line if missing."""
    key = settings.pseudonym_key
    if not key and settings.pseudonym_key_file:
        path = Path(settings.pseudonym_key_file)
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read pseudonym key file {path}: {exc.strerror or exc}"
            ) from None
    if not key:
        raise ConfigError(
            "pseudonymize is on but there is no key: set TELELAKE_PSEUDONYM_KEY or "
            "TELELAKE_PSEUDONYM_KEY_FILE (make one with: python -c "
            "'import secrets; print(secrets.token_hex(32))')"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the pseudonym key is {len(key)} characters; use at least {MIN_KEY_LENGTH} "
            "(a short key can be guessed, and with it every pseudonym reversed)"
        )
    return key.encode("utf-8")


def from_settings(settings: Settings) -> Pseudonymizer | None:
    """The pseudonymizer the settings ask for, or ``None`` when pseudonymize is off."""
    if not settings.pseudonymize:
        return None
    return Pseudonymizer(load_key(settings))
