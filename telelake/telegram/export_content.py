"""The content of an exported message as Bot API fields: text, entities, media. Pure.

An exported message's text and media map to Bot API fields from that message
alone: no chat, sender or names learnt from the rest of the export are
needed. ``telegram/export.py`` builds the update around them (ids, chat,
sender, forwards, replies, service messages). File ids and local file paths
are never mapped: a bot could not use them.
"""

from __future__ import annotations

from typing import Any

# tdesktop text part type -> Bot API MessageEntity type ("plain" has none).
ENTITY_TYPES: dict[str, str] = {
    "mention": "mention",
    "hashtag": "hashtag",
    "cashtag": "cashtag",
    "bot_command": "bot_command",
    "link": "url",
    "email": "email",
    "phone": "phone_number",
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strikethrough",
    "spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "text_link": "text_link",
    "mention_name": "text_mention",
    "custom_emoji": "custom_emoji",
    "blockquote": "blockquote",
    "expandable_blockquote": "expandable_blockquote",
}

# media_type of a document -> Bot API content field
MEDIA_FIELDS: dict[str, str] = {
    "sticker": "sticker",
    "video_file": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "animation": "animation",
    "video_message": "video_note",
}


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def scalars(message: dict[str, Any], *names: str) -> dict[str, Any]:
    """The fields ``names`` of ``message`` that hold a number or a string."""
    return {name: message[name] for name in names if isinstance(message.get(name), int | str)}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def join_text(value: Any) -> tuple[str, list[dict[str, Any]]]:
    """An export's ``text`` (a string, or an array of strings and part objects) ->
    plain text and Bot API entities with UTF-16 offsets."""
    if isinstance(value, str):
        return value, []
    if not isinstance(value, list):
        return "", []
    pieces: list[str] = []
    entities: list[dict[str, Any]] = []
    offset = 0
    for part in value:
        if isinstance(part, str):
            piece, kind = part, None
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            piece, kind = part["text"], ENTITY_TYPES.get(str(part.get("type")))
        else:
            continue
        length = _utf16_len(piece)
        if kind is not None and length and isinstance(part, dict):
            entity = _entity(kind, part, piece, offset, length)
            if entity is not None:
                entities.append(entity)
        pieces.append(piece)
        offset += length
    return "".join(pieces), entities


def _entity(
    kind: str, part: dict[str, Any], piece: str, offset: int, length: int
) -> dict[str, Any] | None:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link" and isinstance(part.get("href"), str):
        entity["url"] = part["href"]
    elif kind == "text_mention":
        user_id = to_int(part.get("user_id"))
        if user_id is None:
            return None
        entity["user"] = {"id": user_id, "first_name": piece}
    elif kind == "custom_emoji" and part.get("document_id") is not None:
        entity["custom_emoji_id"] = str(part["document_id"])
    elif kind == "pre" and part.get("language"):
        entity["language"] = str(part["language"])
    return entity


def media_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The content field(s) of a message's media, without file paths or file ids."""
    if "photo" in message:
        size = scalars(message, "width", "height")
        return {"photo": [{**size, **scalars(message, "photo_file_size")}]}
    if "file" in message:
        return _file(message)
    poll = message.get("poll")
    if isinstance(poll, dict):
        return {"poll": _poll(poll)}
    contact = message.get("contact_information")
    if isinstance(contact, dict):
        return {"contact": scalars(contact, "phone_number", "first_name", "last_name")}
    location = message.get("location_information")
    if isinstance(location, dict):
        return _location(message, location)
    if "game_title" in message:
        return {"game": {"title": message["game_title"], **_game(message)}}
    if isinstance(message.get("invoice_information"), dict):
        info = message["invoice_information"]
        return {"invoice": scalars(info, "title", "description", "currency", "amount")}
    return {}


def _file(message: dict[str, Any]) -> dict[str, Any]:
    """A message with a ``file``: the Bot API field its ``media_type`` maps to."""
    size = scalars(message, "width", "height")
    field = MEDIA_FIELDS.get(str(message.get("media_type")), "document")
    media = {**size, **scalars(message, "mime_type")}
    if "duration_seconds" in message:
        media["duration"] = message["duration_seconds"]
    if field == "sticker":
        media = {**size, **scalars(message, "sticker_emoji")}
        if "emoji" not in media and "sticker_emoji" in media:
            media["emoji"] = media.pop("sticker_emoji")
    elif field == "audio":
        media.update(scalars(message, "performer", "title"))
    path = message.get("file")
    # A path in parentheses is tdesktop's note that the file was not exported.
    if field == "document" and isinstance(path, str) and not path.startswith("("):
        media["file_name"] = path.rsplit("/", 1)[-1]
    out = {field: media}
    if field == "animation":
        out["document"] = dict(media)  # as the Bot API sends animations
    return out


def _poll(poll: dict[str, Any]) -> dict[str, Any]:
    options = [
        {"text": str(a.get("text", "")), "voter_count": to_int(a.get("voters")) or 0}
        for a in poll.get("answers") or []
        if isinstance(a, dict)
    ]
    return {
        "question": str(poll.get("question", "")),
        "options": options,
        "total_voter_count": to_int(poll.get("total_voters")) or 0,
        "is_closed": poll.get("closed") is True,
        "type": "regular",
    }


def _location(message: dict[str, Any], location: dict[str, Any]) -> dict[str, Any]:
    """A location, or a venue (a location with a place name) and its location."""
    point = {
        k: location[k]
        for k in ("latitude", "longitude")
        if isinstance(location.get(k), int | float) and not isinstance(location[k], bool)
    }
    if "place_name" in message:
        venue = {"location": point, "title": message["place_name"]}
        venue["address"] = message.get("address", "")
        return {"venue": venue, "location": point}
    return {"location": point}


def _game(message: dict[str, Any]) -> dict[str, Any]:
    return {"description": str(message.get("game_description", ""))}
