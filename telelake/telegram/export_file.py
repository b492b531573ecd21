"""Reading a Telegram Desktop export file: its chats, and their messages, streamed.

tdesktop's writer (``export_output_json.cpp``) puts a chat's header fields
(``name``, ``type``, ``id``) before its ``messages``, in a single-chat export
(``{name, type, id, messages}``) as in a full-account one (``chats.list`` and
``left_chats.list`` of such objects). So the file can be read as a stream of
parser events with ijson's C parser, keeping one message in memory at a time
and knowing its chat: hundreds of MB need a few MB. The conversion of each
message is ``telegram/export.py``.

A file that is not such an export (cut short, not JSON, unreadable) is a
:class:`UsageError` naming the file and what is wrong, never a parser's own
exception; a message carrying an integer beyond signed 64 bits (no Telegram
id is) is skipped with its reason, like any message that cannot be converted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from telelake.errors import UsageError
from telelake.telegram.export import ExportChat, Names, bot_chat, convert_message
from telelake.telegram.export_content import to_int

# Where the chats of a full-account export live (a single-chat export is one chat).
_CHAT_LISTS = ("chats.list.item", "left_chats.list.item")


@dataclass(frozen=True)
class ChatHeader:
    """A chat found in an export file, with the number of its messages."""

    name: str | None
    type: str
    id: int
    messages: int
    index: int


_INT64 = (-(2**63), 2**63 - 1)


@contextmanager
def _reading(path: Path) -> Iterator[IO[bytes]]:
    """``path`` open for reading; what goes wrong while it is read, as one clear line."""
    import ijson  # type: ignore[import-untyped]

    try:
        with open(path, "rb") as handle:
            yield handle
    except ijson.JSONError as exc:
        said = exc.args[0] if exc.args else ""
        text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        detail = text.strip().splitlines()[0][:120] if text.strip() else type(exc).__name__
        raise UsageError(
            f"{path} is not a complete JSON export ({detail}): "
            "export the chat again from Telegram Desktop, format JSON"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _wide_integer(value: Any) -> bool:
    """Whether ``value`` holds an integer outside signed 64 bits anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif type(item) is int and not _INT64[0] <= item <= _INT64[1]:
            return True
    return False


def _events(handle: IO[bytes]) -> Iterator[tuple[str, str, Any]]:
    import ijson  # type: ignore[import-untyped]  # C parser (yajl2_c) when available

    events: Iterator[tuple[str, str, Any]] = ijson.parse(handle, use_float=True)
    return events


def _chat_root(prefix: str) -> str | None:
    """The prefix of the chat object an event belongs to ("" for a single-chat export)."""
    for root in _CHAT_LISTS:
        if prefix == root or prefix.startswith(root + "."):
            return root
    return None


class _Stream:
    """Message events of one file, with chat headers captured as they pass.

    Headers precede ``messages`` in tdesktop's writer, so when a message is
    built the header of its chat is already known; every header is kept in
    ``headers`` (by chat index), chats without messages included.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.headers: dict[int, dict[str, Any]] = {}
        self.chat_index = 0
        self.single: bool | None = None

    def events(self) -> Iterator[tuple[str, str, Any]]:
        for prefix, event, value in _events(self.handle):
            if self.single is None and prefix == "" and event == "map_key":
                self.single = value in ("name", "type", "id", "messages")
                self.chat_index = 0 if self.single else -1
            root = "" if self.single else _chat_root(prefix)
            if root is None:
                continue
            base = f"{root}." if root else ""
            if root and prefix == root and event == "start_map":
                self.chat_index += 1
            elif prefix in (f"{base}name", f"{base}type", f"{base}id"):
                self.headers.setdefault(self.chat_index, {})[prefix[len(base) :]] = value
            elif prefix == f"{base}messages.item":
                yield "item", event, value
            elif prefix.startswith(f"{base}messages.item."):
                yield prefix, event, value

    def messages(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(chat index, message object) for every message of every chat."""
        import ijson

        for item in ijson.items(self.events(), "item"):
            if isinstance(item, dict):
                yield self.chat_index, item


def _header(raw: dict[str, Any]) -> tuple[str | None, str, int] | None:
    bare = to_int(raw.get("id"))
    kind = raw.get("type")
    name = raw.get("name")
    if bare is None or not isinstance(kind, str):
        return None
    return (name if isinstance(name, str) else None), kind, bare


def scan(path: Path) -> tuple[list[ChatHeader], dict[int, Names]]:
    """Every chat of an export file in file order, and the sender names of each
    (one streamed pass over the file)."""
    counts: dict[int, int] = defaultdict(int)
    names: dict[int, Names] = defaultdict(Names)
    with _reading(path) as handle:
        stream = _Stream(handle)
        for index, message in stream.messages():
            counts[index] += 1
            names[index].learn(message)
    chats = []
    for index, raw in sorted(stream.headers.items()):
        found = _header(raw)
        if found is not None:
            name, kind, bare = found
            chats.append(ChatHeader(name, kind, bare, counts.get(index, 0), index))
    return chats, names


def list_chats(path: Path) -> list[ChatHeader]:
    """Every chat of an export file, in file order (reads the whole file once)."""
    return scan(path)[0]


def _matches(header: ChatHeader, wanted: str) -> bool:
    if header.name == wanted:
        return True
    number = to_int(wanted.strip())
    if number is None:
        return False
    try:
        chat = bot_chat(header.type, header.id, header.name)
    except UsageError:
        return number == header.id
    return number in (header.id, chat.id)


def choose_chat(
    path: Path, chats: list[ChatHeader], wanted: str | None
) -> tuple[ChatHeader, ExportChat]:
    """The chat to import: the only one, or the one named (by name, export id or Bot API id)."""
    if not chats:
        raise UsageError(f"{path}: no chat found (is this a Telegram Desktop JSON export?)")
    listing = "; ".join(f"{c.name!r} (id {c.id}, {c.type}, {c.messages} messages)" for c in chats)
    if wanted is None:
        if len(chats) > 1:
            raise UsageError(f"{path} holds {len(chats)} chats; choose one with --chat: {listing}")
        index = 0
    else:
        found = [i for i, c in enumerate(chats) if _matches(c, wanted)]
        if len(found) != 1:
            which = "no chat" if not found else f"{len(found)} chats"
            raise UsageError(f"{path}: {which} match --chat {wanted!r}; chats: {listing}")
        index = found[0]
    header = chats[index]
    return header, bot_chat(header.type, header.id, header.name)


def chat_messages(path: Path, index: int) -> Iterator[dict[str, Any]]:
    """The exported messages of the chat at ``index``, streamed."""
    with _reading(path) as handle:
        for chat_index, message in _Stream(handle).messages():
            if chat_index == index:
                yield message
            elif chat_index > index:
                return


def open_export(path: Path, wanted: str | None = None) -> tuple[ChatHeader, ExportChat, Names]:
    """The chosen chat of an export and its senders' names (one streamed pass)."""
    chats, names = scan(path)
    header, chat = choose_chat(path, chats, wanted)
    return header, chat, names.get(header.index, Names())


def converted(
    path: Path, header: ChatHeader, chat: ExportChat, names: Names
) -> Iterator[tuple[int, dict[str, Any]] | str]:
    """``(update_id, update)`` (or a skip reason) per message of the chat, streamed."""
    for message in chat_messages(path, header.index):
        result = convert_message(message, chat, names)
        if not isinstance(result, str) and _wide_integer(result[1]):
            yield f"message {message.get('id')!r}: a number beyond signed 64 bits"
            continue
        yield result


def read_export(
    path: Path, wanted: str | None = None
) -> tuple[ChatHeader, ExportChat, Iterator[tuple[int, dict[str, Any]] | str]]:
    """The chosen chat and a stream of ``(update_id, update)`` (or a skip reason) per message.

    Reads the file twice (chats and sender names, then the conversion), each
    time streamed: memory stays bounded whatever the file's size.
    """
    header, chat, names = open_export(path, wanted)
    return header, chat, converted(path, header, chat, names)
